// Image-based lighting from an equirectangular HDR environment map (`--lighting hdri FILE` /
// `hdri-random DIR`), the way real-time engines and Blender EEVEE light a scene with a world
// texture: no shadows, no interreflections, the map at infinity.
//
// Map convention (Blender's Environment Texture, equirectangular; checked against Blender's
// GPU shader `node_tex_environment_equirectangular` and Cycles' `direction_to_equirectangular`):
// a world direction d (+Z up) is first turned into the map's frame, m = Rz(rotation) d (Rz turns
// counter-clockwise about +Z, as a Mapping node of type Point/Vector with rotation (0, 0, θ)
// between Texture Coordinate > Generated and the Environment Texture does), then
//   u = 0.5 - atan2(m.y, m.x) / 2π        (0 = the image's left edge; +X is the centre column,
//                                            +Y a quarter from the left, -Y three quarters)
//   v = 0.5 + atan2(m.z, hypot(m.x, m.y)) / π  (Blender's, 0 = bottom); t = 1 - v = acos(m.z) / π
//                                            is the row coordinate from the image's top.
// So with rotation θ a feature at map direction f lights the scene from Rz(-θ) f.
//
// Shading (EEVEE's Principled BSDF under a world light, split-sum as Karis 2013, "Real Shading in
// Unreal Engine 4"; the terms are spelled out at `PackedEnvironment.terms`): a metal part with
// F0 = base colour, a dielectric specular layer with F0 and F90 from the material's IOR and
// specular level (`Material.dielectricReflectance`), both with EEVEE's multiple-scattering
// compensation, and the diffuse base under the dielectric layer weighted by 1 - its reflectance.
// Diffuse light is E(n), the irradiance from 9 spherical-harmonic coefficients of the map
// (Ramamoorthi and Hanrahan 2001, "An efficient representation for irradiance environment maps"),
// clamped at 0; specular light is Lpre(R, r), R = reflect(-V, n), the map prefiltered with the GGX
// lobe of roughness r (α = r²) under Karis's n = v = R assumption, stored as a chain of
// equirectangular levels at r = 0, 0.25, ..., 1 and blended linearly between the two nearest.
// Speed: where a pixel's samples lie on one smooth surface (normals within ~2.6°) the lighting is
// evaluated once per pixel and applied to each sample's albedo (`shadeEnvironmentPixel`); the
// lookups use a branch-free polynomial atan2 (1e-5 rad) and no libm calls.

import Cameras
import Dispatch
import Foundation
import Imaging
import SeededRandom

// MARK: The map convention

public enum Equirect {
    /// (u, t) of a unit direction in the map's frame: u in [0, 1) from the left edge, t in [0, 1]
    /// from the top row (see the file's header).
    @inline(__always) public static func coordinates(_ m: Vec3) -> (u: Float, t: Float) {
        let a = fastAtan2(SIMD2(m.y, (m.x * m.x + m.y * m.y).squareRoot()), SIMD2(m.x, m.z))
        var u = 0.5 - a.x * (0.5 / .pi)
        u = u >= 1 ? u - 1 : u
        return (u, a.y * (1 / .pi))
    }

    /// The unit map-frame direction at (u, t).
    public static func direction(u: Float, t: Float) -> Vec3 {
        let phi = Float.pi - 2 * Float.pi * u, theta = Float.pi * t
        return Vec3(sin(theta) * cos(phi), sin(theta) * sin(phi), cos(theta))
    }

    /// m = Rz(θ) d: a world direction in the map's frame.
    @inline(__always) static func toMap(_ d: Vec3, cos c: Float, sin s: Float) -> Vec3 {
        Vec3(c * d.x - s * d.y, s * d.x + c * d.y, d.z)
    }
}

/// atan2 within 1e-5 rad (a minimax polynomial for atan on [0, 1] in Estrin's form), two at
/// a time and without branches or libm calls: the shading loop needs one for each of u and t.
@inline(__always) func fastAtan2(_ y: SIMD2<Float>, _ x: SIMD2<Float>) -> SIMD2<Float> {
    let ax = SIMD2(abs(x.x), abs(x.y)), ay = SIMD2(abs(y.x), abs(y.y))
    let yBig = ay .> ax
    let big = ax.replacing(with: ay, where: yBig), small = ay.replacing(with: ax, where: yBig)
    let z = (small / big).replacing(with: 0, where: big .== 0)
    let w = z * z, w2 = w * w, w4 = w2 * w2
    let p01 = 0.99997726 - 0.33262347 * w
    let p23 = 0.19354346 - 0.11643287 * w
    let p45 = 0.05265332 - 0.01172120 * w
    var a = z * (p01 + w2 * p23 + w4 * p45)
    a.replace(with: .pi / 2 - a, where: yBig)
    a.replace(with: .pi - a, where: x .< 0)
    a.replace(with: -a, where: y .< 0)
    return a
}

@inline(__always) func fastAtan2(_ y: Float, _ x: Float) -> Float { fastAtan2(SIMD2(y, y), SIMD2(x, x)).x }

// MARK: Diffuse: spherical-harmonic irradiance

/// Irradiance of an environment map from its first 9 real spherical-harmonic coefficients
/// (Ramamoorthi and Hanrahan 2001): E(n) = Σ Â_l L_lm Y_lm(n), Â = (π, 2π/3, π/4).
public struct SHIrradiance: Equatable, Sendable {
    /// L_lm (RGB) in the order (0,0), (1,-1), (1,0), (1,1), (2,-2), (2,-1), (2,0), (2,1), (2,2),
    /// Y_1,-1 ∝ y, Y_1,0 ∝ z, Y_1,1 ∝ x (map frame).
    public let coefficients: [Vec3]
    /// Â_l times the basis constants (RGB, 0), for `irradiance`.
    let c: [SIMD4<Float>]

    static let basisConstants: [Float] = [0.282095, 0.488603, 0.488603, 0.488603,
                                          1.092548, 1.092548, 0.315392, 1.092548, 0.546274]

    public init(coefficients: [Vec3]) {
        precondition(coefficients.count == 9)
        self.coefficients = coefficients
        let band: [Float] = [.pi, 2 * .pi / 3, 2 * .pi / 3, 2 * .pi / 3, .pi / 4, .pi / 4, .pi / 4, .pi / 4, .pi / 4]
        c = (0..<9).map { k in
            let v = coefficients[k] * (band[k] * Self.basisConstants[k])
            return SIMD4(v.x, v.y, v.z, 0)
        }
    }

    /// Projects an equirectangular map, each texel weighted by its exact solid angle (its centre
    /// direction standing for it).
    public static func project(_ image: HDRImage) -> SHIrradiance {
        let texels = (0..<(image.width * image.height)).map { i in
            SIMD4(image.pixels[3 * i], image.pixels[3 * i + 1], image.pixels[3 * i + 2], 0)
        }
        return project(Texture(width: image.width, height: image.height, texels: texels))
    }

    static func project(_ map: Texture) -> SHIrradiance {
        let w = map.width, h = map.height
        let texels = map.storage.buffer
        var rows = [SIMD4<Float>](repeating: .zero, count: 9 * h)
        let dPhi = 2 * Double.pi / Double(w)
        let columns = (0..<w).map { i -> SIMD2<Float> in
            let phi = Float.pi - 2 * Float.pi * (Float(i) + 0.5) / Float(w)
            return SIMD2(cos(phi), sin(phi))
        }
        rows.withUnsafeMutableBufferPointer { rows in
            DispatchQueue.concurrentPerform(iterations: h) { j in
                let omega = Float(dPhi * (cos(Double.pi * Double(j) / Double(h)) - cos(Double.pi * Double(j + 1) / Double(h))))
                let theta = Float.pi * (Float(j) + 0.5) / Float(h)
                let st = sin(theta), z = cos(theta)
                var s0 = SIMD4<Float>.zero, s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0, s8 = s0
                for i in 0..<w {
                    let x = st * columns[i].x, y = st * columns[i].y
                    let l = texels[j * w + i]
                    s0 += l
                    s1 += l * y
                    s2 += l * z
                    s3 += l * x
                    s4 += l * (x * y)
                    s5 += l * (y * z)
                    s6 += l * (3 * z * z - 1)
                    s7 += l * (x * z)
                    s8 += l * (x * x - y * y)
                }
                for (k, sum) in [s0, s1, s2, s3, s4, s5, s6, s7, s8].enumerated() {
                    rows[9 * j + k] = sum * (omega * SHIrradiance.basisConstants[k])
                }
            }
        }
        var total = [Vec3](repeating: .zero, count: 9)
        for j in 0..<h { for k in 0..<9 { let v = rows[9 * j + k]; total[k] += Vec3(v.x, v.y, v.z) } }
        return SHIrradiance(coefficients: total)
    }

    /// Y_lm(d) for the 9 coefficients, in `coefficients`' order.
    public static func basis(_ d: Vec3) -> [Float] {
        [0.282095,
         0.488603 * d.y, 0.488603 * d.z, 0.488603 * d.x,
         1.092548 * d.x * d.y, 1.092548 * d.y * d.z, 0.315392 * (3 * d.z * d.z - 1),
         1.092548 * d.x * d.z, 0.546274 * (d.x * d.x - d.y * d.y)]
    }

    /// E(n) for a unit map-frame normal, clamped at 0 (a bright sun rings negative opposite it).
    public func irradiance(_ n: Vec3) -> Vec3 {
        let e = c.withUnsafeBufferPointer { Self.irradiance(n, $0.baseAddress!) }
        return Vec3(e.x, e.y, e.z)
    }

    @inline(__always) static func irradiance(_ n: Vec3, _ c: UnsafePointer<SIMD4<Float>>) -> SIMD4<Float> {
        var e = c[0] + c[1] * n.y + c[2] * n.z + c[3] * n.x
        e += c[4] * (n.x * n.y) + c[5] * (n.y * n.z) + c[6] * (3 * n.z * n.z - 1)
        e += c[7] * (n.x * n.z) + c[8] * (n.x * n.x - n.y * n.y)
        return e.replacing(with: 0, where: e .< 0)
    }
}

// MARK: Specular: the environment BRDF table

/// Karis's environment BRDF: F_ss = F0 A + F90 B as a function of (NoV, roughness), by GGX
/// importance sampling (α = roughness², Smith's separable G with the exact GGX G1), computed
/// once per process on a 32 x 32 grid and looked up bilinearly.
public enum EnvironmentBRDF {
    static let size = 32
    public static let samples = 256

    /// (A, B) at grid points NoV = i / 31 (i >= 1; 0 is taken as 1e-3), roughness = j / 31, row j.
    static let table: [SIMD2<Float>] = {
        var out = [SIMD2<Float>](repeating: .zero, count: size * size)
        out.withUnsafeMutableBufferPointer { out in
            DispatchQueue.concurrentPerform(iterations: size) { j in
                for i in 0..<size { out[j * size + i] = integrate(noV: max(Float(i) / Float(size - 1), 1e-3),
                                                                  roughness: Float(j) / Float(size - 1)) }
            }
        }
        return out
    }()

    /// ∫ of the GGX specular lobe with F = F0 + (1 - F0)(1 - VoH)^5 split into F0's and 1's parts.
    public static func integrate(noV: Float, roughness: Float, samples n: Int = samples) -> SIMD2<Float> {
        let alpha = max(roughness * roughness, 1e-4), a2 = alpha * alpha
        let v = Vec3((1 - noV * noV).squareRoot(), 0, noV)
        func g1(_ x: Float) -> Float { 2 * x / (x + (a2 + (1 - a2) * x * x).squareRoot()) }
        var a: Float = 0, b: Float = 0
        for k in 0..<n {
            // Hammersley point k / n, radical inverse of k
            var bits = UInt32(k)
            bits = (bits << 16) | (bits >> 16)
            bits = ((bits & 0x5555_5555) << 1) | ((bits & 0xAAAA_AAAA) >> 1)
            bits = ((bits & 0x3333_3333) << 2) | ((bits & 0xCCCC_CCCC) >> 2)
            bits = ((bits & 0x0F0F_0F0F) << 4) | ((bits & 0xF0F0_F0F0) >> 4)
            bits = ((bits & 0x00FF_00FF) << 8) | ((bits & 0xFF00_FF00) >> 8)
            let x1 = (Float(k) + 0.5) / Float(n), x2 = Float(bits) / 4_294_967_296
            let phi = 2 * Float.pi * x1
            let cosT = ((1 - x2) / (1 + (a2 - 1) * x2)).squareRoot(), sinT = (1 - cosT * cosT).squareRoot()
            let hv = Vec3(sinT * cos(phi), sinT * sin(phi), cosT)
            let voH = dot(v, hv)
            let l = 2 * voH * hv - v
            guard l.z > 0, voH > 0 else { continue }
            let gVis = g1(noV) * g1(l.z) * voH / (hv.z * noV)
            let fc = pow(1 - voH, 5)
            a += (1 - fc) * gVis
            b += fc * gVis
        }
        return SIMD2(a, b) / Float(n)
    }

    /// Bilinear lookup of (A, B).
    @inline(__always) static func lookup(_ t: UnsafePointer<SIMD2<Float>>, noV: Float, roughness: Float) -> SIMD2<Float> {
        let s = Float(size - 1)
        let x = min(max(noV, 0), 1) * s, y = min(max(roughness, 0), 1) * s
        let x0 = min(Int(x), size - 2), y0 = min(Int(y), size - 2)
        let fx = x - Float(x0), fy = y - Float(y0)
        let a = t[y0 * size + x0], b = t[y0 * size + x0 + 1]
        let c = t[(y0 + 1) * size + x0], d = t[(y0 + 1) * size + x0 + 1]
        let top = a + (b - a) * fx, bottom = c + (d - c) * fx
        return top + (bottom - top) * fy
    }

    public static func lookup(noV: Float, roughness: Float) -> SIMD2<Float> {
        table.withUnsafeBufferPointer { lookup($0.baseAddress!, noV: noV, roughness: roughness) }
    }
}

// MARK: The prefiltered map

/// One environment map made ready for shading: SH irradiance and the GGX-prefiltered levels.
/// Immutable and shared by every view (and every object of a process that uses the same file).
public final class EnvironmentLighting: @unchecked Sendable {
    /// Roughness of level k is k / (levelCount - 1): 0, 0.25, 0.5, 0.75, 1 (the default roughness
    /// 0.5 is a level, so it costs one lookup).
    public static let levelCount = 5
    public let irradiance: SHIrradiance
    /// Level 0 is the map itself (mirror reflection); level k >= 1 its GGX convolution.
    public let levels: [Texture]

    /// Negative texels (real maps hold a few tiny ones from their processing) and non-finite ones
    /// are taken as black.
    public init(map original: HDRImage) {
        let pixels = original.pixels
        @inline(__always) func clean(_ v: Float) -> Float { v >= 0 && v.isFinite ? v : 0 }
        let base = Texture(width: original.width, height: original.height,
                           texels: (0..<(original.width * original.height)).map { i in
            SIMD4(clean(pixels[3 * i]), clean(pixels[3 * i + 1]), clean(pixels[3 * i + 2]), 1)
        })
        var pyramid = [base]
        while pyramid.last!.height > 4 && pyramid.last!.width > 8 { pyramid.append(pyramid.last!.halved()) }
        // SH needs only the low frequencies: a copy at most 256 texels wide (box filtering keeps
        // each block's integral, up to the solid-angle change across its two rows).
        irradiance = SHIrradiance.project(pyramid.first { $0.width <= 256 } ?? pyramid.last!)
        levels = [base] + (1..<Self.levelCount).map { k in
            let roughness = Float(k) / Float(Self.levelCount - 1)
            return Self.prefilter(pyramid, alpha: roughness * roughness)
        }
        views = levels.map(EquirectView.init)
    }

    /// Pointer views of `levels` for the shading loop, valid while this object is alive.
    let views: [EquirectView]

    /// The GGX convolution of the map for n = v = R: Lpre(R) = ∫ L(l) D(h) (R·l) dl / ∫ D(h) (R·l) dl
    /// over R·l > 0, h = (R + l) / |R + l| (what Karis's importance-sampled sum estimates), summed
    /// exactly over the texels of a box-filtered copy of the map whose texels are at most 2/5 of
    /// the lobe's scale s = 2 atan(α), within an angle of min(4 s, π/2) of R. The output has
    /// about 4π/s columns (32 to 512).
    static func prefilter(_ pyramid: [Texture], alpha: Float) -> Texture {
        let s = 2 * atan(alpha)
        var outW = min(max(Int((4 * Float.pi / s).rounded()), 32), 512)
        outW += outW % 2
        let outH = max(outW / 2, 16)
        let source = pyramid.last { Float.pi / Float($0.height) <= s / 2.5 } ?? pyramid[0]
        let sw = source.width, sh = source.height
        let window = min(4 * s, Float.pi / 2), cosWindow = cos(window)
        let a2 = alpha * alpha, k1 = (a2 - 1) / 2, k0 = 1 + k1          // t = 1 + (1 + c)/2 (α² - 1)
        // Source columns sit at angle ψ = 2π u, rows at polar angle θ; only differences in ψ matter.
        let colCos = (0..<sw).map { cos(2 * Float.pi * (Float($0) + 0.5) / Float(sw)) }
        let colSin = (0..<sw).map { sin(2 * Float.pi * (Float($0) + 0.5) / Float(sw)) }
        let rowTheta = (0..<sh).map { Float.pi * (Float($0) + 0.5) / Float(sh) }
        let rowOmega = (0..<sh).map { j in
            Float(2 * Double.pi / Double(sw) * (cos(Double.pi * Double(j) / Double(sh)) - cos(Double.pi * Double(j + 1) / Double(sh))))
        }
        var out = [SIMD4<Float>](repeating: .zero, count: outW * outH)
        let texels = source.storage.buffer
        out.withUnsafeMutableBufferPointer { out in
            DispatchQueue.concurrentPerform(iterations: outH) { jo in
                let thetaO = Float.pi * (Float(jo) + 0.5) / Float(outH)
                let cosO = cos(thetaO), sinO = sin(thetaO)
                for io in 0..<outW {
                    let psiO = 2 * Float.pi * (Float(io) + 0.5) / Float(outW)
                    let cpsi = cos(psiO), spsi = sin(psiO)
                    var sum = SIMD4<Float>.zero, weight: Float = 0
                    let jLo = max(0, Int(((thetaO - window) / .pi * Float(sh)).rounded(.down)) - 1)
                    let jHi = min(sh - 1, Int(((thetaO + window) / .pi * Float(sh)).rounded(.up)) + 1)
                    for j in jLo...jHi {
                        let a = cosO * cos(rowTheta[j]), b = sinO * sin(rowTheta[j])
                        guard a + b >= cosWindow else { continue }
                        var first = 0, count = sw
                        if a - b < cosWindow {                           // part of the row
                            let delta = acos(min(max((cosWindow - a) / b, -1), 1))
                            let centre = psiO / (2 * .pi) * Float(sw) - 0.5, half = delta / (2 * .pi) * Float(sw)
                            first = Int((centre - half).rounded(.up))
                            count = min(sw, Int((centre + half).rounded(.down)) - first + 1)
                            if count <= 0 { continue }
                        }
                        let bc = b * cpsi, bs = b * spsi
                        var rowSum = SIMD4<Float>.zero, rowWeight: Float = 0
                        var i = first % sw
                        if i < 0 { i += sw }
                        let rowBase = j * sw
                        for _ in 0..<count {
                            let c = a + bc * colCos[i] + bs * colSin[i]
                            if c > 0 {
                                let t = k0 + k1 * c
                                let w = c / (t * t)
                                rowSum += texels[rowBase + i] * w
                                rowWeight += w
                            }
                            i += 1
                            if i == sw { i = 0 }
                        }
                        sum += rowSum * rowOmega[j]
                        weight += rowWeight * rowOmega[j]
                    }
                    out[jo * outW + io] = weight > 0 ? sum / weight : .zero
                }
            }
        }
        return Texture(width: outW, height: outH, texels: out)
    }

    /// Prefiltered radiance towards map-frame direction `m` at `roughness` (no rotation, no intensity).
    public func specular(_ m: Vec3, roughness: Float) -> Vec3 {
        let (u, t) = Equirect.coordinates(m)
        let x = views.withUnsafeBufferPointer { Self.sampleLevels($0, u: u, t: t, roughness: roughness) }
        return Vec3(x.x, x.y, x.z)
    }

    @inline(__always) static func sampleLevels(_ levels: UnsafeBufferPointer<EquirectView>, u: Float, t: Float,
                                               roughness: Float) -> SIMD4<Float> {
        let f = min(max(roughness, 0), 1) * Float(levels.count - 1)
        let k0 = min(Int(f), levels.count - 2)
        let frac = f - Float(k0)
        let a = levels[k0].sample(u: u, t: t)
        if frac == 0 { return a }
        let b = levels[k0 + 1].sample(u: u, t: t)
        return a + (b - a) * frac
    }

    // MARK: Loading, once per file per process

    nonisolated(unsafe) private static var cache: [String: EnvironmentLighting] = [:]
    private static let cacheLock = NSLock()

    /// The prepared map of an OpenEXR or Radiance file; a process prepares each file once.
    public static func load(_ url: URL) throws -> EnvironmentLighting {
        let key = url.standardizedFileURL.path
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let hit = cache[key] { return hit }
        let lighting = EnvironmentLighting(map: try HDRImage.read(url))
        cache[key] = lighting
        return lighting
    }
}

// MARK: One object's environment

/// The environment light of a render: a prepared map, its rotation and a radiance scale.
public struct EnvironmentLight {
    /// What surfaces of formats without metallic/roughness get: a rough dielectric.
    public static let defaultRoughness: Float = 0.5
    public static let defaultMetallic: Float = 0

    public var lighting: EnvironmentLighting
    /// m = Rz(rotation) d (see the file's header).
    public var rotationDegrees: Double
    public var intensity: Float

    public init(lighting: EnvironmentLighting, rotationDegrees: Double = 0, intensity: Float = 1) {
        self.lighting = lighting
        self.rotationDegrees = rotationDegrees
        self.intensity = intensity
    }

    /// The shading of one surface point (world-space unit normal `n` and unit direction to the
    /// eye `v`), linear RGB, for a material with these inputs (default: a rough dielectric).
    public func shade(albedo: Vec3, n: Vec3, v: Vec3, metallic: Float = defaultMetallic,
                      roughness: Float = defaultRoughness, ior: Float = 1.5, specularLevel: Float = 0.5) -> Vec3 {
        var material = Material(baseColor: SIMD4(albedo.x, albedo.y, albedo.z, 1))
        (material.ior, material.specularLevel) = (ior, specularLevel)
        let (f0, f90) = material.dielectricReflectance
        let point = SurfacePoint(albedo: SIMD4(albedo.x, albedo.y, albedo.z, 0), n: n, p: .zero, metallic: metallic,
                                 roughness: roughness, f0: f0, f90: f90, occlusion: 1, emission: .zero)
        let rgb = lighting.irradiance.c.withUnsafeBufferPointer { sh in
            EnvironmentBRDF.table.withUnsafeBufferPointer { brdf in
                lighting.views.withUnsafeBufferPointer { views in
                    packed(levels: views, sh: sh.baseAddress!, brdf: brdf.baseAddress!).shade(point, v: v)
                }
            }
        }
        return Vec3(rgb.x, rgb.y, rgb.z)
    }

    func packed(levels: UnsafeBufferPointer<EquirectView>, sh: UnsafePointer<SIMD4<Float>>,
                brdf: UnsafePointer<SIMD2<Float>>) -> PackedEnvironment {
        let theta = rotationDegrees * .pi / 180
        return PackedEnvironment(levels: levels, sh: sh, brdf: brdf, cosR: Float(cos(theta)), sinR: Float(sin(theta)),
                                 intensity: intensity)
    }
}

/// An equirectangular level for the shading loop: a borrowed texel pointer and its size.
struct EquirectView {
    let texels: UnsafePointer<SIMD4<Float>>
    let width: Int
    let height: Int
    let fw: Float
    let fh: Float

    init(_ texture: Texture) {
        texels = UnsafePointer(texture.storage.base)
        width = texture.width
        height = texture.height
        fw = Float(width)
        fh = Float(height)
    }

    /// Bilinear at (u in [0, 1], t in [0, 1]), wrapping across the left/right edges, clamped at
    /// the poles.
    @inline(__always) func sample(u: Float, t: Float) -> SIMD4<Float> {
        let x = u * fw + (fw - 0.5)                   // + width: positive (>= width - 0.5), so Int() floors
        let y = min(max(t * fh - 0.5, 0), fh - 1)
        let xi = Int(x), y0 = Int(y)                  // xi in [width - 1, 2 width - 1]
        let fx = x - Float(xi), fy = y - Float(y0)
        let x0 = xi >= width ? xi - width : xi
        let x1 = x0 + 1 == width ? 0 : x0 + 1
        let y1 = y0 + 1 < height ? y0 + 1 : y0
        let r0 = texels + y0 * width, r1 = texels + y1 * width
        let a = r0[x0], b = r0[x1], c = r1[x0], d = r1[x1]
        let top = a + (b - a) * fx, bottom = c + (d - c) * fx
        return top + (bottom - top) * fy
    }
}

/// Raw views of an `EnvironmentLight` for the shading loop.
struct PackedEnvironment {
    let levels: UnsafeBufferPointer<EquirectView>
    let sh: UnsafePointer<SIMD4<Float>>
    let brdf: UnsafePointer<SIMD2<Float>>
    let cosR: Float
    let sinR: Float
    let intensity: Float

    /// Linear RGB (w unused) of a surface point seen from unit direction `v` (towards the eye).
    @inline(__always) func shade(_ point: SurfacePoint, v: Vec3) -> SIMD4<Float> {
        let (kd, ks) = terms(albedo: point.albedo, n: point.n, v: v, metallic: point.metallic,
                             roughness: point.roughness, f0: point.f0, f90: point.f90, occlusion: point.occlusion)
        return point.albedo * kd + ks
    }

    /// The shading as colour = albedo * kd + ks, EEVEE's Principled BSDF under a world light
    /// (gpu_shader_material_principled.glsl, eevee_bxdf_lib): with split-sum (A, B) at (NoV, r)
    /// and R(F0, F90) = F0 A + F90 B plus the multiple-scattering term of `multiScatter`,
    ///   metal      = m R(albedo, 1) Lpre
    ///   dielectric = (1 - m) R(f0, f90) Lpre
    ///   diffuse    = (1 - m) (1 - R(f0, f90)) albedo E / π
    /// all times `intensity` and `occlusion`. kd holds the diffuse factor; ks the specular terms,
    /// the metal part evaluated at `albedo` (its only non-linear dependence on the albedo).
    @inline(__always) func terms(albedo: SIMD4<Float>, n: Vec3, v: Vec3, metallic m: Float, roughness: Float,
                                 f0: Float, f90: Float, occlusion: Float) -> (kd: SIMD4<Float>, ks: SIMD4<Float>) {
        let nv = n.x * v.x + n.y * v.y + n.z * v.z
        let r = 2 * nv * n - v
        let ab = EnvironmentBRDF.lookup(brdf, noV: max(nv, 1e-4), roughness: roughness)
        let dielectric = f0 > 0 || f90 > 0
            ? EnvironmentBRDF.multiScatter(f0: SIMD4(repeating: f0), f90: f90, ab).x : 0
        let irradiance = SHIrradiance.irradiance(Equirect.toMap(n, cos: cosR, sin: sinR), sh)
        let (u, t) = Equirect.coordinates(Equirect.toMap(r, cos: cosR, sin: sinR))
        let pre = EnvironmentLighting.sampleLevels(levels, u: u, t: t, roughness: roughness)
        let scale = intensity * occlusion
        let diffuseWeight = (1 - m) * max(1 - dielectric, 0) * (1 / .pi) * scale
        var specular = SIMD4(repeating: (1 - m) * dielectric)
        if m > 0 { specular += EnvironmentBRDF.multiScatter(f0: albedo, f90: 1, ab) * m }
        return (irradiance * diffuseWeight, pre * specular * scale)
    }
}

extension EnvironmentBRDF {
    /// Split-sum reflectance with the multiple-scattering compensation EEVEE applies for the
    /// Principled BSDF's default multiscatter GGX (eevee_bxdf_lib `F_brdf_multi_scatter`, after
    /// Fdez-Agüera 2019): FssEss = F0 A + F90 B, Ess = A + B, Favg = F0 + (1 - F0) / 21,
    /// result = FssEss + FssEss Favg / (1 - (1 - Ess) Favg) (1 - Ess).
    @inline(__always) static func multiScatter(f0: SIMD4<Float>, f90: Float, _ ab: SIMD2<Float>) -> SIMD4<Float> {
        let fssEss = f0 * ab.x + SIMD4(repeating: f90 * ab.y)
        let ess = ab.x + ab.y
        let ems = 1 - ess
        let favg = f0 + (SIMD4(repeating: 1) - f0) * (1 / 21)
        let fms = fssEss * favg / (SIMD4(repeating: 1) - favg * ems)
        return fssEss + fms * ems
    }
}

extension ShadingContext {
    /// One pixel under the environment map, adding to the pixel sums as the studio loop does.
    /// When the covered samples lie on one smooth surface of one material (normals within ~2.6°:
    /// cos > 0.999, as inside most triangles and across the small ones of a fine mesh), the
    /// lighting (kd, ks) is evaluated once, at the samples' mean normal, position and material
    /// inputs, and applied to the sum of their own albedos (Σ albedo_i kd + count ks: textures
    /// stay supersampled); otherwise, or when that comes out non-finite, every sample is lit on
    /// its own.
    @inline(__always) func shadeEnvironmentPixel(x: Int, y: Int, s: Int, bufferWidth: Int, triangles: UnsafeBufferPointer<Int32>,
                                                 barys: UnsafeBufferPointer<SIMD2<Float>>, depths: UnsafeBufferPointer<Float>,
                                                 eye: Vec3, sum: inout Vec3, nSum: inout Vec3, zSum: inout Float,
                                                 covered: inout Int, nonFinite: inout Int) {
        guard let environment else { return }
        var count = 0
        var albedoSum = SIMD4<Float>.zero, normalSum = Vec3.zero, positionSum = Vec3.zero, first = Vec3.zero
        var emissionSum = Vec3.zero
        var materialSum = SIMD4<Float>.zero             // metallic, roughness, occlusion
        var f0 = Float.zero, f90 = Float.zero
        var depthSum: Float = 0
        var coherent = true
        var firstMaterial = -1
        for sy in 0..<s {
            let rowBase = (y * s + sy) * bufferWidth + x * s
            for sx in 0..<s {
                let i = rowBase + sx
                let tri = Int(triangles[i])
                guard tri >= 0 else { continue }
                let point = surface(triangle: tri, bary: barys[i], eye: eye)
                let material = Int(triangleMaterials[tri])
                if count == 0 {
                    first = point.n
                    firstMaterial = material
                    (f0, f90) = (point.f0, point.f90)
                } else if dot(point.n, first) < 0.999 || material != firstMaterial {
                    coherent = false
                }
                albedoSum += point.albedo
                normalSum += point.n
                positionSum += point.p
                emissionSum += point.emission
                materialSum += SIMD4(point.metallic, point.roughness, point.occlusion, 0)
                depthSum += depths[i]
                count += 1
            }
        }
        guard count > 0 else { return }
        covered += count
        zSum += depthSum
        if coherent {
            let k = 1 / Float(count)
            let n = normalSum / dot(normalSum, normalSum).squareRoot()
            let toEye = eye - positionSum * k
            let v = toEye / dot(toEye, toEye).squareRoot()
            let mean = materialSum * k
            let (kd, ks) = environment.terms(albedo: albedoSum * k, n: n, v: v, metallic: mean.x, roughness: mean.y,
                                             f0: f0, f90: f90, occlusion: mean.z)
            let rgb = albedoSum * kd + ks * Float(count)
            if rgb.x.isFinite && rgb.y.isFinite && rgb.z.isFinite && normalSum.x.isFinite {
                sum += Vec3(rgb.x, rgb.y, rgb.z) + emissionSum
                nSum += normalSum
                return
            }
        }
        for sy in 0..<s {
            let rowBase = (y * s + sy) * bufferWidth + x * s
            for sx in 0..<s {
                let i = rowBase + sx
                let tri = Int(triangles[i])
                guard tri >= 0 else { continue }
                let (rgb, n, _) = shadeSample(triangle: tri, bary: barys[i], eye: eye)
                if rgb.x.isFinite && rgb.y.isFinite && rgb.z.isFinite && n.x.isFinite {
                    sum += rgb
                    nSum += n
                } else {
                    nonFinite += 1
                    nSum += Vec3(0, 0, 1)
                }
            }
        }
    }
}

// MARK: Choosing an object's environment

/// `--lighting`: the studio lights, one map, or a seeded map per object from a folder.
public struct LightingOptions: Equatable, Sendable {
    public enum Source: Equatable, Sendable {
        case studio
        case file(String)
        case folder(String)
    }

    public var source = Source.studio
    /// Map rotation in degrees; nil draws it per object, uniform in [0, 360), seeded.
    public var rotationDegrees: Double?
    /// Scale on the map's radiance (Blender's Background strength).
    public var intensity = 1.0

    public init(source: Source = .studio, rotationDegrees: Double? = nil, intensity: Double = 1) {
        self.source = source
        self.rotationDegrees = rotationDegrees
        self.intensity = intensity
    }

    /// What one object is lit by.
    public struct Choice: Equatable, Sendable {
        public var file: String
        public var rotationDegrees: Double
        public var intensity: Double
        /// The folder it was drawn from (`hdri-random`).
        public var folder: String?
    }

    /// The maps of a folder (OpenEXR / Radiance by extension, not recursive), sorted by name.
    public static func maps(in folder: String) throws -> [String] {
        let url = URL(fileURLWithPath: folder)
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: url.path) } catch {
            throw RenderError(path: folder, reason: "cannot list HDRI folder")
        }
        let maps = names.filter { HDRImage.fileExtensions.contains(URL(fileURLWithPath: $0).pathExtension.lowercased()) }
            .sorted().map { url.appendingPathComponent($0).path }
        guard !maps.isEmpty else { throw RenderError(path: folder, reason: "no .exr or .hdr files in the HDRI folder") }
        return maps
    }

    /// The object's map and rotation: a generator seeded with seed ^ fnv1a("environment:" + id)
    /// (a stream apart from the elevation's) draws the map index (uniform over the sorted folder)
    /// and then the rotation, uniform in [0, 360). nil for the studio lights.
    public func choice(seed: UInt64, objectID: String) throws -> Choice? {
        var rng = SplitMix64(seed: seed ^ fnv1a("environment:" + objectID))
        let file: String, folder: String?
        switch source {
        case .studio: return nil
        case .file(let path):
            file = path
            folder = nil
            _ = rng.next()
        case .folder(let path):
            let maps = try Self.maps(in: path)
            file = maps[Int(rng.next() % UInt64(maps.count))]
            folder = path
        }
        let rotation = rotationDegrees ?? rng.uniform(0, 360)
        return Choice(file: file, rotationDegrees: rotation, intensity: intensity, folder: folder)
    }
}

extension EnvironmentLight {
    /// The object's chosen map, prepared (once per file per process).
    public init(_ choice: LightingOptions.Choice) throws {
        self.init(lighting: try EnvironmentLighting.load(URL(fileURLWithPath: choice.file)),
                  rotationDegrees: choice.rotationDegrees, intensity: Float(choice.intensity))
    }

    /// The image-based shading in words, as cameras.json records it under "lighting".
    public static let description =
        "image-based: equirectangular HDR environment map, diffuse from 9 spherical-harmonic irradiance coefficients, "
        + "GGX split-sum specular (prefiltered levels at roughness 0, 0.25, ..., 1 and an environment-BRDF table); "
        + "materials as Blender's Principled BSDF (metallic, roughness, IOR, specular level; multiscatter GGX); no shadows (see Sources/Render/EnvironmentLighting.swift)"

    /// The map convention in words, as cameras.json records it under "environment".
    public static let mapping =
        "Blender's equirectangular Environment Texture: world direction d (+Z up), m = Rz(rotation_deg) d, "
        + "u = 0.5 - atan2(m.y, m.x) / 2pi from the image's left edge, v = 0.5 + asin(m.z) / pi from its bottom edge"
}

extension LightingOptions.Choice {
    /// Records the map, its rotation and intensity in `cameras.json`.
    public func record(in cameras: inout OrbitCameras) {
        cameras.lighting = EnvironmentLight.description
        cameras.environment = OrbitCameras.Environment(file: file, rotationDeg: rotationDegrees, intensity: intensity,
                                                       folder: folder, mapping: EnvironmentLight.mapping)
    }
}

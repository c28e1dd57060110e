// Fixed studio lighting and sRGB transfer functions. Shading happens in linear light:
// textures, base colours and 8-bit vertex colours are decoded from sRGB on load, shaded, averaged
// over the supersamples, and only the final pixel is encoded back to sRGB.
//
// Lights (world space, Z up; directions point *towards* the light; no shadows, Lambertian):
//   ambient 0.30 (uniform)
//   key     0.60 from (+1, +0.5, +1.2)  front-right-above of the azimuth-0 camera
//   fill    0.30 from (-0.6, -1, +0.6)  the opposite side, lower
//   back    0.25 from (-1, +0.4, +0.3)  behind the object for the azimuth-0 camera
//   bottom  0.10 from (0, 0, -1)        keeps undersides from going black
// A surface facing the key light gets ~1.0; one facing away from every light gets the ambient.

import Foundation

public struct Lighting {
    public var ambient: Float
    public var lights: [(direction: Vec3, intensity: Float)]

    public static let studio = Lighting(ambient: 0.30, lights: [
        (direction: Vec3(1, 0.5, 1.2), intensity: 0.60),
        (direction: Vec3(-0.6, -1, 0.6), intensity: 0.30),
        (direction: Vec3(-1, 0.4, 0.3), intensity: 0.25),
        (direction: Vec3(0, 0, -1), intensity: 0.10),
    ].map { (direction: $0.direction / dot($0.direction, $0.direction).squareRoot(),
             intensity: $0.intensity) })

    /// The studio lights in words, as cameras.json records them.
    public static let description =
        "ambient 0.30 + directional key 0.60, fill 0.30, back 0.25, bottom 0.10 (see Sources/Render/Lighting.swift)"

    /// Irradiance factor for a unit normal.
    public func irradiance(_ n: Vec3) -> Float {
        var e = ambient
        for light in lights { e += light.intensity * max(0, dot(n, light.direction)) }
        return e
    }

    /// The same lights as four-wide SIMD columns for the shading loop (at most 4 lights).
    var packed: PackedLights {
        precondition(lights.count <= 4, "the shading loop takes at most 4 directional lights")
        var p = PackedLights(ambient: ambient)
        for (k, light) in lights.enumerated() {
            p.x[k] = light.direction.x
            p.y[k] = light.direction.y
            p.z[k] = light.direction.z
            p.intensity[k] = light.intensity
        }
        return p
    }
}

struct PackedLights {
    var ambient: Float
    var x = SIMD4<Float>.zero, y = SIMD4<Float>.zero, z = SIMD4<Float>.zero
    var intensity = SIMD4<Float>.zero

    @inline(__always) func irradiance(_ n: Vec3) -> Float {
        let cosines = x * n.x + y * n.y + z * n.z
        return ambient + (intensity * cosines.replacing(with: 0, where: cosines .< 0)).sum()
    }
}

public enum SRGB {
    /// sRGB-encoded 8-bit value to linear light.
    public static let decodeTable: [Float] = (0..<256).map { toLinear(Float($0) / 255) }

    @inline(__always) public static func toLinear(_ c: Float) -> Float {
        c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4)
    }

    @inline(__always) public static func fromLinear(_ c: Float) -> Float {
        c <= 0.0031308 ? c * 12.92 : 1.055 * pow(c, 1 / 2.4) - 0.055
    }

    /// Linear [0, 1] to an 8-bit sRGB value through a 16385-entry table (within 1 LSB of exact).
    public static let encodeTable: [UInt8] = (0...16384).map {
        UInt8((fromLinear(Float($0) / 16384) * 255).rounded())
    }

    @inline(__always) public static func encode(_ c: Float) -> UInt8 {
        let x = c.isNaN ? 0 : min(max(c, 0), 1)
        return encodeTable[Int(x * 16384 + 0.5)]                  // x >= 0: truncation rounds
    }
}

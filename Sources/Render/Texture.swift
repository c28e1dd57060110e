// Textures for the shading loop: linear-light RGBA texels in memory the loop reads through a
// borrowed pointer, the bilinear sample it calls per pixel, and a mip chain for trilinear
// filtering of textures seen from afar (OpenGL 4.6 core profile, section 8.14: level of detail).

import Foundation

/// A texture in linear light, RGBA floats, row 0 = top row of the image.
public struct Texture {
    public let width: Int
    public let height: Int
    let storage: TexelStorage
    /// Levels 1 and up, made on first use (`view`): environment maps and the intermediate
    /// halvings of large textures are never sampled with a level of detail.
    let mips: MipChainCache

    public init(width: Int, height: Int, texels: [SIMD4<Float>]) {
        precondition(width > 0 && height > 0 && texels.count == width * height)
        self.width = width
        self.height = height
        storage = TexelStorage(texels)
        mips = MipChainCache()
    }

    public var texels: [SIMD4<Float>] { Array(storage.buffer) }

    /// Half the size in each dimension (odd sizes round up), each texel the mean of up to 2 x 2.
    public func halved() -> Texture {
        let w = (width + 1) / 2, h = (height + 1) / 2
        let source = storage.buffer
        return Texture(width: w, height: h, texels: (0..<(w * h)).map { i in
            let x = 2 * (i % w), y = 2 * (i / w)
            var sum = SIMD4<Float>.zero, n: Float = 0
            for dy in 0..<2 where y + dy < height {
                for dx in 0..<2 where x + dx < width {
                    sum += source[(y + dy) * width + x + dx]
                    n += 1
                }
            }
            return sum / n
        })
    }

    /// Bilinear sample with repeat wrapping at assimp texture coordinates (v = 0 is the bottom).
    public func sample(_ uv: SIMD2<Float>) -> SIMD4<Float> { level0.sample(uv) }

    /// Trilinear sample at level of detail `lod` (see `TextureView.sample(_:lod:)`).
    public func sample(_ uv: SIMD2<Float>, lod: Float) -> SIMD4<Float> { view.sample(uv, lod: lod) }

    /// The number of mip levels: 1 + floor(log2(max(width, height))).
    public var levelCount: Int { MipChain.levelCount(width: width, height: height) }

    /// Mip level `k` (0 is this texture) as its own texture.
    public func level(_ k: Int) -> Texture {
        let v = view
        precondition(k >= 0 && k < v.levelCount, "mip level \(k) of \(v.levelCount)")
        let l = v.levels[k]
        return Texture(width: l.width, height: l.height,
                       texels: Array(UnsafeBufferPointer(start: l.texels, count: l.width * l.height)))
    }

    /// The isotropic level of detail λ of the OpenGL specification (4.6 core, section 8.14.1,
    /// "Scale Factor and Level of Detail", with ρ the larger of the two lengths): how many texels
    /// one pixel step spans, as a power of two.
    ///
    /// `duvdx` and `duvdy` are the changes of the texture coordinate (u, v) from one pixel to the
    /// next in x and in y; scaled by the texture's size they become steps in texels, and
    /// λ = log2(max(|duvdx * (w, h)|, |duvdy * (w, h)|)). λ <= 0 (magnification: a texel covers at
    /// least a pixel) selects level 0; λ = 1 means a pixel spans two texels, so level 1, whose
    /// texels are means of 2 x 2 of level 0, is what one pixel sees. Zero derivatives give
    /// -infinity (level 0), infinite ones +infinity (the last level), NaN ones NaN, which
    /// `TextureView.sample(_:lod:)` takes as level 0.
    public static func lod(duvdx: SIMD2<Float>, duvdy: SIMD2<Float>, width: Int, height: Int) -> Float {
        let size = SIMD2(Float(width), Float(height))
        let dx = duvdx * size, dy = duvdy * size
        let x2 = (dx * dx).sum(), y2 = (dy * dy).sum()
        guard !x2.isNaN && !y2.isNaN else { return .nan }
        return 0.5 * log2(max(x2, y2))           // log2 of the longer length, without the square root
    }

    /// A pointer view for the shading loop, with all mip levels; valid while this texture is alive.
    /// The first call builds the mip chain (once; later calls and other threads reuse it).
    var view: TextureView {
        let chain = mips.chain(base: level0)
        return TextureView(width: width, height: height, texels: UnsafePointer(storage.base),
                           levels: UnsafePointer(chain.levels), levelCount: chain.count)
    }

    /// Level 0 alone, without building the chain.
    var level0: TextureLevel {
        TextureLevel(width: width, height: height, texels: UnsafePointer(storage.base))
    }
}

/// Texels in memory we own, so the shading loop can read them through a plain pointer.
final class TexelStorage: @unchecked Sendable {
    let base: UnsafeMutablePointer<SIMD4<Float>>
    let count: Int
    init(_ texels: [SIMD4<Float>]) {
        count = texels.count
        base = .allocate(capacity: count)
        base.initialize(from: texels, count: count)
    }
    /// Storage for `count` texels the caller writes before anything reads them (a trivial type:
    /// no initialisation needed, and skipping it spares a pass over the memory).
    init(uninitializedCount count: Int) {
        self.count = count
        base = .allocate(capacity: count)
    }
    var buffer: UnsafeBufferPointer<SIMD4<Float>> { UnsafeBufferPointer(start: base, count: count) }
    deinit { base.deallocate() }
}

/// Width, height and a borrowed texel pointer of one mip level.
struct TextureLevel {
    let width: Int
    let height: Int
    let texels: UnsafePointer<SIMD4<Float>>

    /// Bilinear sample with repeat wrapping (texel centres at (i + 0.5) / width).
    @inline(__always) func sample(_ uv: SIMD2<Float>) -> SIMD4<Float> {
        guard uv.x.isFinite, uv.y.isFinite else { return texels[0] }
        let x = (uv.x - floorFast(uv.x)) * Float(width) - 0.5
        let vy = 1 - uv.y
        let y = (vy - floorFast(vy)) * Float(height) - 0.5
        let x0f = floorFast(x), y0f = floorFast(y)
        let fx = x - x0f, fy = y - y0f
        var x0 = Int(x0f), y0 = Int(y0f)
        if x0 < 0 { x0 += width }
        if y0 < 0 { y0 += height }
        var x1 = x0 + 1, y1 = y0 + 1
        if x1 >= width { x1 -= width }
        if y1 >= height { y1 -= height }
        x0 = min(x0, width - 1)
        y0 = min(y0, height - 1)
        let a = texels[y0 * width + x0], b = texels[y0 * width + x1]
        let c = texels[y1 * width + x0], d = texels[y1 * width + x1]
        let top = a + (b - a) * fx, bottom = c + (d - c) * fx
        return top + (bottom - top) * fy
    }
}

/// Width, height and borrowed pointers to the texels and to every mip level (level 0 first):
/// no reference counting per sample.
struct TextureView {
    let width: Int
    let height: Int
    let texels: UnsafePointer<SIMD4<Float>>
    let levels: UnsafePointer<TextureLevel>
    let levelCount: Int

    /// Bilinear sample of level 0 with repeat wrapping at assimp texture coordinates.
    @inline(__always) func sample(_ uv: SIMD2<Float>) -> SIMD4<Float> {
        TextureLevel(width: width, height: height, texels: texels).sample(uv)
    }

    /// Trilinear sample (GL_LINEAR_MIPMAP_LINEAR): bilinear in levels floor(λ) and floor(λ) + 1,
    /// mixed by the fraction of λ, with λ = `lod` clamped to [0, levelCount - 1]. λ <= 0 or NaN is
    /// exactly `sample(uv)`, so magnified textures look as they did without mipmaps.
    @inline(__always) func sample(_ uv: SIMD2<Float>, lod: Float) -> SIMD4<Float> {
        guard lod > 0 else { return sample(uv) }
        let lambda = min(lod, Float(levelCount - 1))
        let k = Int(lambda)
        let f = lambda - Float(k)
        let a = levels[k].sample(uv)
        guard f > 0 else { return a }
        let b = levels[k + 1].sample(uv)
        return a + (b - a) * f
    }
}

/// The mip levels of one texture: level k + 1 is level k box-filtered to max(1, size / 2) in each
/// dimension (sizes round down, as OpenGL's). An odd size n becomes (n - 1) / 2 texels, each the
/// exact area mean of the n / ((n - 1) / 2) source texels it covers (partial texels weighted by
/// the part covered), so every level keeps the mean of level 0 and no texel is shifted. Levels 1
/// and up add at most 1/3 of level 0's memory.
final class MipChain: @unchecked Sendable {
    /// `count` levels, level 0 borrowed from the texture.
    let levels: UnsafeMutablePointer<TextureLevel>
    let count: Int
    private let storages: [TexelStorage]

    static func levelCount(width: Int, height: Int) -> Int {
        var n = 1, w = width, h = height
        while w > 1 || h > 1 { w = max(1, w / 2); h = max(1, h / 2); n += 1 }
        return n
    }

    init(base: TextureLevel) {
        count = Self.levelCount(width: base.width, height: base.height)
        levels = .allocate(capacity: count)
        levels.initialize(to: base)
        var storages: [TexelStorage] = []
        var previous = base
        for k in 1..<count {
            let w = max(1, previous.width / 2), h = max(1, previous.height / 2)
            let storage = Self.reduced(previous, width: w, height: h)
            storages.append(storage)
            previous = TextureLevel(width: w, height: h, texels: UnsafePointer(storage.base))
            (levels + k).initialize(to: previous)
        }
        self.storages = storages
    }

    deinit {
        levels.deinitialize(count: count)
        levels.deallocate()
    }

    /// Output texel i of `outCount` over `inCount` input texels covers the input interval
    /// [i s, (i + 1) s), s = in / out <= 3: up to 4 input texels from `first`, weighted by the part
    /// of each that is covered (the weights sum to 1).
    struct BoxTap {
        let first: Int
        let count: Int
        let weights: SIMD4<Float>
    }

    static func boxTaps(inCount: Int, outCount: Int) -> [BoxTap] {
        (0..<outCount).map { i in
            let lo = Double(i * inCount) / Double(outCount)
            let hi = Double((i + 1) * inCount) / Double(outCount)
            let first = Int(lo.rounded(.down))
            let last = min(inCount - 1, Int(hi.rounded(.up)) - 1)
            var weights = SIMD4<Float>.zero
            for j in first...last {
                weights[j - first] = Float((min(hi, Double(j + 1)) - max(lo, Double(j))) / (hi - lo))
            }
            return BoxTap(first: first, count: last - first + 1, weights: weights)
        }
    }

    /// `source` box-filtered to `width` x `height`: rows first, then columns.
    static func reduced(_ source: TextureLevel, width: Int, height: Int) -> TexelStorage {
        if source.width == 2 * width && source.height == 2 * height { return halvedEvenly(source) }
        let columns = boxTaps(inCount: source.width, outCount: width)
        let rows = boxTaps(inCount: source.height, outCount: height)
        let across = TexelStorage(uninitializedCount: width * source.height)
        let out = TexelStorage(uninitializedCount: width * height)
        columns.withUnsafeBufferPointer { columns in
            for y in 0..<source.height {
                let row = source.texels + y * source.width, dst = across.base + y * width
                for x in 0..<width {
                    let tap = columns[x]
                    var sum = SIMD4<Float>.zero
                    for j in 0..<tap.count { sum += row[tap.first + j] * tap.weights[j] }
                    dst[x] = sum
                }
            }
        }
        for (y, tap) in rows.enumerated() {
            let dst = out.base + y * width
            for x in 0..<width {
                var sum = SIMD4<Float>.zero
                for j in 0..<tap.count { sum += across.base[(tap.first + j) * width + x] * tap.weights[j] }
                dst[x] = sum
            }
        }
        return out
    }
}

extension MipChain {
    /// The common case of `reduced` (even sizes, every texel the mean of 2 x 2) in one pass.
    static func halvedEvenly(_ source: TextureLevel) -> TexelStorage {
        let width = source.width / 2, height = source.height / 2
        let out = TexelStorage(uninitializedCount: width * height)
        for y in 0..<height {
            let top = source.texels + 2 * y * source.width, bottom = top + source.width
            let dst = out.base + y * width
            for x in 0..<width {
                dst[x] = (top[2 * x] + top[2 * x + 1] + bottom[2 * x] + bottom[2 * x + 1]) * 0.25
            }
        }
        return out
    }
}

/// Builds a texture's mip chain once, on first request, safely from several threads.
final class MipChainCache: @unchecked Sendable {
    private let lock = NSLock()
    private var built: MipChain?

    func chain(base: TextureLevel) -> MipChain {
        lock.lock()
        defer { lock.unlock() }
        if let built { return built }
        let chain = MipChain(base: base)
        built = chain
        return chain
    }
}

/// floor() without a libm call for the common range; exact for every finite Float.
@inline(__always) func floorFast(_ x: Float) -> Float {
    guard abs(x) < 8_388_608 else { return x.rounded(.down) }   // 2^23: already an integer
    let t = Float(Int32(x))                                      // truncates towards zero
    return t > x ? t - 1 : t
}

@inline(__always) func ceilFast(_ x: Float) -> Float { -floorFast(-x) }

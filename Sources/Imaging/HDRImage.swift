// High-dynamic-range images in linear light: the environment maps of image-based lighting.
// Two file formats, told apart by their first bytes:
//   OpenEXR (magic 76 2f 31 01) through libOpenEXR (the CEXR shim): R, G, B of any scanline or
//     tiled file, any compression, half or float; luminance/chroma files via OpenEXR's RGBA
//     conversion. The data window is the image.
//   Radiance RGBE (`#?RADIANCE` / `#?RGBE`), read and written here: 32-bit_rle_rgbe, flat or with
//     new-style (per-component) or old-style run-length scanlines, resolution line `-Y H +X W`
//     (top row first, the common one) or `+Y H +X W` (bottom row first). A texel (r, g, b, e) is
//     (c + 0.5) * 2^(e - 136) per channel and 0 for e = 0, as Radiance's own colr_color; the
//     EXPOSURE header line is ignored, as Blender and stb_image do.

import CEXR
import Foundation

/// A linear RGB float image, row 0 = the top row, channels interleaved.
public struct HDRImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// width * height * 3 floats.
    public var pixels: [Float]

    public init(width: Int, height: Int, pixels: [Float]) {
        precondition(width > 0 && height > 0 && pixels.count == width * height * 3, "HDRImage: pixel count mismatch")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    public init(width: Int, height: Int, fill: SIMD3<Float> = .zero) {
        var pixels = [Float](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            pixels[3 * i] = fill.x
            pixels[3 * i + 1] = fill.y
            pixels[3 * i + 2] = fill.z
        }
        self.init(width: width, height: height, pixels: pixels)
    }

    public subscript(x: Int, y: Int) -> SIMD3<Float> {
        get {
            let o = 3 * (y * width + x)
            return SIMD3(pixels[o], pixels[o + 1], pixels[o + 2])
        }
        set {
            let o = 3 * (y * width + x)
            pixels[o] = newValue.x
            pixels[o + 1] = newValue.y
            pixels[o + 2] = newValue.z
        }
    }

    /// The file extensions `read` takes.
    public static let fileExtensions: Set<String> = ["exr", "hdr", "rgbe", "pic"]

    /// Reads an OpenEXR or Radiance file (by its magic bytes, not its name).
    public static func read(_ url: URL) throws -> HDRImage {
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw ImageError.unreadable(path: url.path, reason: "cannot open file")
        }
        let magic = (try? handle.read(upToCount: 4)) ?? Data()
        try? handle.close()
        if magic.elementsEqual([0x76, 0x2f, 0x31, 0x01]) { return try readEXR(url) }
        if magic.starts(with: Array("#?".utf8)) {
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw ImageError.unreadable(path: url.path, reason: "cannot read file")
            }
            return try decodeRadiance(data, path: url.path)
        }
        throw ImageError.unsupported(path: url.path, reason: "neither OpenEXR nor Radiance RGBE (first bytes \(magic.map { String(format: "%02x", $0) }.joined(separator: " ")))")
    }

    // MARK: OpenEXR

    public static func readEXR(_ url: URL) throws -> HDRImage {
        var width: Int32 = 0, height: Int32 = 0
        var rgba: UnsafeMutablePointer<Float>?
        var error = [CChar](repeating: 0, count: 512)
        guard cexr_read_rgba(url.path, &width, &height, &rgba, &error, Int32(error.count)) == 0, let rgba else {
            throw ImageError.unreadable(path: url.path, reason: "OpenEXR: " + String(cString: error))
        }
        defer { cexr_free(rgba) }
        let count = Int(width) * Int(height)
        var pixels = [Float](repeating: 0, count: count * 3)
        for i in 0..<count {
            pixels[3 * i] = rgba[4 * i]
            pixels[3 * i + 1] = rgba[4 * i + 1]
            pixels[3 * i + 2] = rgba[4 * i + 2]
        }
        return HDRImage(width: Int(width), height: Int(height), pixels: pixels)
    }

    /// Writes an OpenEXR file (ZIP, alpha 1), with 32-bit float channels or half floats.
    public func writeEXR(to url: URL, fullFloat: Bool = true) throws {
        var rgba = [Float](repeating: 1, count: width * height * 4)
        for i in 0..<(width * height) {
            rgba[4 * i] = pixels[3 * i]
            rgba[4 * i + 1] = pixels[3 * i + 1]
            rgba[4 * i + 2] = pixels[3 * i + 2]
        }
        var error = [CChar](repeating: 0, count: 512)
        guard cexr_write_rgba(url.path, Int32(width), Int32(height), rgba, fullFloat ? 1 : 0, &error, Int32(error.count)) == 0 else {
            throw ImageError.unwritable(path: url.path, reason: "OpenEXR: " + String(cString: error))
        }
    }

    // MARK: Radiance RGBE

    public static func decodeRadiance(_ data: Data, path: String) throws -> HDRImage {
        let bytes = [UInt8](data)
        func fail(_ reason: String) -> ImageError { .unreadable(path: path, reason: "Radiance HDR: " + reason) }
        var p = 0
        func line() -> String? {
            guard p < bytes.count else { return nil }
            let start = p
            while p < bytes.count && bytes[p] != 0x0a { p += 1 }
            let text = String(decoding: bytes[start..<p], as: UTF8.self)
            p += 1                                                   // the newline
            return text
        }
        guard let first = line(), first.hasPrefix("#?") else { throw fail("no #? signature") }
        while true {                                                 // header lines up to an empty one
            guard let header = line() else { throw fail("header without an end") }
            if header.isEmpty { break }
            if header.hasPrefix("FORMAT="), header != "FORMAT=32-bit_rle_rgbe" {
                throw fail("unsupported \(header) (only 32-bit_rle_rgbe)")
            }
        }
        guard let resolution = line() else { throw fail("no resolution line") }
        let fields = resolution.split(separator: " ")
        guard fields.count == 4, fields[2] == "+X", let h = Int(fields[1]), let w = Int(fields[3]),
              fields[0] == "-Y" || fields[0] == "+Y", w > 0, h > 0, w <= 1 << 16, h <= 1 << 16 else {
            throw fail("unsupported resolution line '\(resolution)' (expected -Y H +X W or +Y H +X W)")
        }
        let bottomUp = fields[0] == "+Y"
        var rgbe = [UInt8](repeating: 0, count: w * h * 4)
        var scan = [UInt8](repeating: 0, count: w * 4)
        for row in 0..<h {
            if w >= 8, w < 0x8000, p + 4 <= bytes.count, bytes[p] == 2, bytes[p + 1] == 2,
               Int(bytes[p + 2]) << 8 | Int(bytes[p + 3]) == w, bytes[p + 2] & 0x80 == 0 {
                p += 4                                               // new RLE: each component in turn
                for c in 0..<4 {
                    var x = 0
                    while x < w {
                        guard p < bytes.count else { throw fail("truncated scanline \(row)") }
                        var count = Int(bytes[p]); p += 1
                        if count > 128 {
                            count -= 128
                            guard count <= w - x, p < bytes.count else { throw fail("bad run in scanline \(row)") }
                            let value = bytes[p]; p += 1
                            for _ in 0..<count { scan[4 * x + c] = value; x += 1 }
                        } else {
                            guard count > 0, count <= w - x, p + count <= bytes.count else {
                                throw fail("bad literal in scanline \(row)")
                            }
                            for k in 0..<count { scan[4 * (x + k) + c] = bytes[p + k] }
                            p += count
                            x += count
                        }
                    }
                }
            } else {                                                 // flat, maybe old-style runs
                var x = 0, shift = 0
                while x < w {
                    guard p + 4 <= bytes.count else { throw fail("truncated scanline \(row)") }
                    let r = bytes[p], g = bytes[p + 1], b = bytes[p + 2], e = bytes[p + 3]
                    p += 4
                    if r == 1 && g == 1 && b == 1 {                  // repeat the previous texel
                        guard x > 0 else { throw fail("run before any texel in scanline \(row)") }
                        let count = Int(e) << shift
                        guard count <= w - x else { throw fail("run past the end of scanline \(row)") }
                        for _ in 0..<count {
                            for c in 0..<4 { scan[4 * x + c] = scan[4 * (x - 1) + c] }
                            x += 1
                        }
                        shift += 8
                    } else {
                        scan[4 * x] = r; scan[4 * x + 1] = g; scan[4 * x + 2] = b; scan[4 * x + 3] = e
                        x += 1
                        shift = 0
                    }
                }
            }
            let y = bottomUp ? h - 1 - row : row
            for i in 0..<(4 * w) { rgbe[y * w * 4 + i] = scan[i] }
        }
        var pixels = [Float](repeating: 0, count: w * h * 3)
        for i in 0..<(w * h) {
            let e = rgbe[4 * i + 3]
            guard e != 0 else { continue }
            let f = Float(sign: .plus, exponent: Int(e) - 136, significand: 1)
            for c in 0..<3 { pixels[3 * i + c] = (Float(rgbe[4 * i + c]) + 0.5) * f }
        }
        return HDRImage(width: w, height: h, pixels: pixels)
    }

    /// A Radiance file (`-Y H +X W`), scanlines new-style run-length encoded when `runLength` and
    /// the width allows it (8...32767), else flat. Negative and NaN values are written as 0.
    public func encodeRadiance(runLength: Bool = true) -> Data {
        var out = Data("#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y \(height) +X \(width)\n".utf8)
        var scan = [UInt8](repeating: 0, count: width * 4)
        for y in 0..<height {
            for x in 0..<width {
                let c = self[x, y]
                let v = max(c.x.isNaN ? 0 : c.x, c.y.isNaN ? 0 : c.y, c.z.isNaN ? 0 : c.z)
                if v < 1e-32 {
                    scan[4 * x] = 0; scan[4 * x + 1] = 0; scan[4 * x + 2] = 0; scan[4 * x + 3] = 0
                    continue
                }
                let exponent = Int(v.exponent) + 1                      // v = m * 2^exponent, m in [0.5, 1)
                let scale = Float(sign: .plus, exponent: 8 - exponent, significand: 1)   // 256 / 2^exponent
                for k in 0..<3 {
                    let value = c[k].isNaN ? 0 : max(c[k], 0)
                    scan[4 * x + k] = UInt8(min(255, value * scale))
                }
                scan[4 * x + 3] = UInt8(clamping: exponent + 128)
            }
            guard runLength, width >= 8, width < 0x8000 else {
                out.append(contentsOf: scan)
                continue
            }
            out.append(contentsOf: [2, 2, UInt8(width >> 8), UInt8(width & 0xff)])
            for c in 0..<4 {
                var x = 0
                while x < width {
                    // a run of at least 4 equal bytes starting at x?
                    var run = 1
                    while x + run < width, run < 127, scan[4 * (x + run) + c] == scan[4 * x + c] { run += 1 }
                    if run >= 4 {
                        out.append(contentsOf: [UInt8(128 + run), scan[4 * x + c]])
                        x += run
                        continue
                    }
                    // literals up to the next run of 4 (or 128 bytes)
                    var end = x
                    while end < width, end - x < 128 {
                        var ahead = 1
                        while end + ahead < width, ahead < 4, scan[4 * (end + ahead) + c] == scan[4 * end + c] { ahead += 1 }
                        if ahead >= 4 { break }
                        end += 1
                    }
                    out.append(UInt8(end - x))
                    for k in x..<end { out.append(scan[4 * k + c]) }
                    x = end
                }
            }
        }
        return out
    }
}

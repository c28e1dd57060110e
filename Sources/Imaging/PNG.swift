// PNG through libpng's simplified API. 8-bit files are read and written as sRGB samples without
// any conversion; 16-bit files (depth and normal maps) as linear samples, also unconverted.

import CPNG
import FileSupport
import Foundation

public enum PNG {
    /// Decodes an 8-bit view of a PNG file (palette and lower bit depths are expanded; 16-bit files
    /// are reduced by libpng). Channels follow the file: gray, gray+alpha, RGB or RGBA.
    ///
    /// A 16-bit file without colour information (no gAMA, sRGB or iCCP chunk: most tools' 16-bit
    /// output) is read as sRGB-encoded, like an 8-bit one, so reducing it to 8 bits divides by
    /// 257. libpng's simplified reader would otherwise take such samples as linear light and
    /// gamma-encode them, which lifts light tones toward white (a 0.92 grey becomes 0.96) until a
    /// light object is within the background-removal tolerance of a white background. 16-bit files
    /// that say they are linear (gAMA 1.0, as `encode(_: Image16)` writes) are still converted.
    public static func read(_ url: URL) throws -> Image8 {
        let data = try readData(url)
        return try decode(data, path: url.path)
    }

    public static func decode(_ data: Data, path: String = "<memory>") throws -> Image8 {
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        let ok = data.withUnsafeBytes { raw -> Int32 in
            png_image_begin_read_from_memory(&image, raw.baseAddress, raw.count)
        }
        guard ok != 0 else { throw ImageError.unreadable(path: path, reason: message(&image)) }
        let hasColor = image.format & PNG_FORMAT_FLAG_COLOR != 0
        let hasAlpha = image.format & PNG_FORMAT_FLAG_ALPHA != 0
        image.format = (hasColor ? PNG_FORMAT_FLAG_COLOR : 0) | (hasAlpha ? PNG_FORMAT_FLAG_ALPHA : 0)
        image.flags |= png_uint_32(PNG_IMAGE_FLAG_16BIT_sRGB)
        let channels = (hasColor ? 3 : 1) + (hasAlpha ? 1 : 0)
        let width = Int(image.width), height = Int(image.height)
        guard width > 0, height > 0, width * height <= 1 << 28 else {
            png_image_free(&image)
            throw ImageError.unsupported(path: path, reason: "size \(width)x\(height)")
        }
        var pixels = [UInt8](repeating: 0, count: width * height * channels)
        let done = data.withUnsafeBytes { _ in
            pixels.withUnsafeMutableBytes { out in
                png_image_finish_read(&image, nil, out.baseAddress, Int32(width * channels), nil)
            }
        }
        guard done != 0 else { throw ImageError.unreadable(path: path, reason: message(&image)) }
        return Image8(width: width, height: height, channels: channels, pixels: pixels)
    }

    /// Encodes an 8-bit image (sRGB samples as given); `fast` trades size for libpng's fastest
    /// compression (orbit frames).
    public static func encode(_ image: Image8, fast: Bool = false) throws -> Data {
        try encodeSamples(image, fast: fast)
    }

    /// Encodes a 16-bit image (depth, normals): samples stored as given, big-endian in the file.
    public static func encode(_ image: Image16, fast: Bool = false) throws -> Data {
        precondition(!image.hasAlpha, "16-bit PNGs with alpha would be premultiplied by libpng")
        return try encodeSamples(image, fast: fast)
    }

    public static func write(_ image: Image8, to url: URL) throws {
        try writeAtomically(try encode(image), to: url)
    }

    public static func write(_ image: Image16, to url: URL) throws {
        try writeAtomically(try encode(image), to: url)
    }

    /// Reads a 16-bit gray PNG (as written by `write(_: Image16, to:)`) without conversion.
    public static func read16(_ url: URL) throws -> Image16 {
        let data = try readData(url)
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        let ok = data.withUnsafeBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        guard ok != 0 else { throw ImageError.unreadable(path: url.path, reason: message(&image)) }
        let hasColor = image.format & PNG_FORMAT_FLAG_COLOR != 0
        image.format = PNG_FORMAT_FLAG_LINEAR | (hasColor ? PNG_FORMAT_FLAG_COLOR : 0)
        let channels = hasColor ? 3 : 1
        let width = Int(image.width), height = Int(image.height)
        var pixels = [UInt16](repeating: 0, count: width * height * channels)
        let done = pixels.withUnsafeMutableBytes {
            png_image_finish_read(&image, nil, $0.baseAddress, Int32(width * channels), nil)
        }
        guard done != 0 else { throw ImageError.unreadable(path: url.path, reason: message(&image)) }
        return Image16(width: width, height: height, channels: channels, pixels: pixels)
    }

    /// One compression pass into a buffer sized up front (deflate's worst case is about the raw
    /// size plus 0.1 %); if libpng still needs more it says how much and we retry once.
    private static func encodeSamples<Sample>(_ image: Raster<Sample>, fast: Bool) throws -> Data {
        var png = png_image()
        png.version = png_uint_32(PNG_IMAGE_VERSION)
        png.width = png_uint_32(image.width)
        png.height = png_uint_32(image.height)
        var format: UInt32 = 0
        if image.channels >= 3 { format |= PNG_FORMAT_FLAG_COLOR }
        if image.hasAlpha { format |= PNG_FORMAT_FLAG_ALPHA }
        if Sample.bitWidth == 16 { format |= PNG_FORMAT_FLAG_LINEAR }
        png.format = format
        if fast { png.flags |= png_uint_32(PNG_IMAGE_FLAG_FAST) }
        let rowStride = Int32(image.width * image.channels)
        let raw = image.width * image.height * image.channels * MemoryLayout<Sample>.size
        var capacity = raw + raw / 8 + image.height * 8 + 4096
        for _ in 0..<2 {
            var out = Data(count: capacity)
            var size = png_alloc_size_t(capacity)
            let ok = out.withUnsafeMutableBytes { buffer in
                image.pixels.withUnsafeBytes { pixels in
                    png_image_write_to_memory(&png, buffer.baseAddress, &size, 0, pixels.baseAddress, rowStride, nil)
                }
            }
            if ok != 0 { return out.prefix(Int(size)) }
            guard Int(size) > capacity else { break }
            png_image_free(&png)
            capacity = Int(size)
        }
        throw ImageError.unwritable(path: "<png>", reason: message(&png))
    }

    private static func message(_ image: inout png_image) -> String {
        let text = withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        png_image_free(&image)
        return text.isEmpty ? "libpng error" : text
    }
}

func readData(_ url: URL) throws -> Data {
    do {
        return try Data(contentsOf: url, options: .mappedIfSafe)
    } catch {
        throw ImageError.unreadable(path: url.path, reason: "no such file or not readable")
    }
}

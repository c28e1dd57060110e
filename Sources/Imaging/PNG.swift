// PNG through libpng's simplified API. 8-bit files are read and written as sRGB samples without
// any conversion; 16-bit files (depth and normal maps) as linear samples, also unconverted.

import CPNG
import FileSupport
import Foundation

public enum PNG {
    /// Decodes an 8-bit view of a PNG file (palette and lower bit depths are expanded; 16-bit files
    /// are reduced by libpng). Channels follow the file: gray, gray+alpha, RGB or RGBA.
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

    /// Encodes an 8-bit image (sRGB samples as given).
    public static func encode(_ image: Image8) throws -> Data {
        try image.pixels.withUnsafeBytes { try encode(bytes: $0, width: image.width,
                                                       height: image.height,
                                                       channels: image.channels, linear: false) }
    }

    /// Encodes a 16-bit image (depth, normals): samples are stored as given, big-endian in the file.
    public static func encode(_ image: Image16) throws -> Data {
        precondition(!image.hasAlpha, "16-bit PNGs with alpha would be premultiplied by libpng")
        return try image.pixels.withUnsafeBytes {
            try encode(bytes: $0, width: image.width, height: image.height,
                       channels: image.channels, linear: true)
        }
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

    private static func encode(bytes: UnsafeRawBufferPointer, width: Int, height: Int,
                               channels: Int, linear: Bool) throws -> Data {
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        image.width = png_uint_32(width)
        image.height = png_uint_32(height)
        var format: UInt32 = 0
        if channels >= 3 { format |= PNG_FORMAT_FLAG_COLOR }
        if channels == 2 || channels == 4 { format |= PNG_FORMAT_FLAG_ALPHA }
        if linear { format |= PNG_FORMAT_FLAG_LINEAR }
        image.format = format
        var size: png_alloc_size_t = 0
        // First call sizes the buffer, second writes into it.
        guard png_image_write_to_memory(&image, nil, &size, 0, bytes.baseAddress,
                                        Int32(width * channels), nil) != 0 else {
            throw ImageError.unwritable(path: "<png>", reason: message(&image))
        }
        var out = Data(count: Int(size))
        let ok = out.withUnsafeMutableBytes {
            png_image_write_to_memory(&image, $0.baseAddress, &size, 0, bytes.baseAddress,
                                      Int32(width * channels), nil)
        }
        guard ok != 0 else { throw ImageError.unwritable(path: "<png>", reason: message(&image)) }
        return out.prefix(Int(size))
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

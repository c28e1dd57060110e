// PNG encoding for orbit frames: one compression pass into a buffer sized up front, optionally
// with libpng's fastest settings. (Imaging.PNG.encode compresses twice, once to size its buffer;
// this writer exists because frame encoding is a large share of an orbit's time. It could move
// into Imaging.)

import CPNG
import Foundation
import Imaging

enum FramePNG {
    /// Encodes 8-bit (sRGB) or 16-bit (linear, no alpha) samples.
    static func encode<Sample: FixedWidthInteger & UnsignedInteger>(_ image: Raster<Sample>, fast: Bool) throws -> Data {
        var png = png_image()
        png.version = png_uint_32(PNG_IMAGE_VERSION)
        png.width = png_uint_32(image.width)
        png.height = png_uint_32(image.height)
        var format: UInt32 = 0
        if image.channels >= 3 { format |= PNG_FORMAT_FLAG_COLOR }
        if image.hasAlpha { format |= PNG_FORMAT_FLAG_ALPHA }
        if Sample.bitWidth == 16 {
            precondition(!image.hasAlpha, "16-bit PNGs with alpha would be premultiplied by libpng")
            format |= PNG_FORMAT_FLAG_LINEAR
        }
        png.format = format
        if fast { png.flags |= png_uint_32(PNG_IMAGE_FLAG_FAST) }
        let rowStride = Int32(image.width * image.channels)
        let raw = image.width * image.height * image.channels * MemoryLayout<Sample>.size
        var capacity = raw + raw / 8 + image.height * 8 + 4096     // deflate's worst case is ~raw + 0.1 %
        for _ in 0..<2 {
            var out = Data(count: capacity)
            var size = png_alloc_size_t(capacity)
            let ok = out.withUnsafeMutableBytes { buffer in
                image.pixels.withUnsafeBytes { pixels in
                    png_image_write_to_memory(&png, buffer.baseAddress, &size, 0, pixels.baseAddress, rowStride, nil)
                }
            }
            if ok != 0 { return out.prefix(Int(size)) }
            guard Int(size) > capacity else { break }               // too small: libpng said how much
            png_image_free(&png)
            capacity = Int(size)
        }
        let message = withUnsafeBytes(of: &png.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        png_image_free(&png)
        throw ImageError.unwritable(path: "<png>", reason: message.isEmpty ? "libpng error" : message)
    }
}

// Windows and OS/2 bitmaps (Microsoft's BITMAPINFOHEADER family: core, 40-byte info, V2/V3
// bit-field headers, V4 and V5): 1/4/8-bit palettes (8- and 4-bit run-length encoded too),
// 16-bit 5-5-5 or bit fields, 24-bit BGR, 32-bit BGRA or bit fields; bottom-up or top-down.

import Foundation

public enum BMP {
    /// Decodes a BMP file. Palette images become RGB; 32-bit BI_RGB pixels are read as BGRA with
    /// the fourth byte as alpha unless it is 0 everywhere (then opaque: most writers leave it 0);
    /// bit-field images have alpha when their alpha mask is set. Run-length images refuse more
    /// than 128 pixels per byte of data (a guard against tiny files that claim huge sizes).
    public static func decode(_ data: Data, path: String = "<memory>") throws -> Image8 {
        try ByteReader.with(data, path: path, format: "BMP", decode)
    }

    static func decode(_ r: ByteReader) throws -> Image8 {
        try r.require(0, 18, "header")
        guard r.bytes[0] == 0x42, r.bytes[1] == 0x4D else { throw r.bad("no BM signature") }
        let dataOffset = Int(try r.u32le(10, "header"))
        let infoSize = Int(try r.u32le(14, "header"))
        let width: Int, signedHeight: Int, bits: Int, compression: Int, colorsUsed: Int
        var masks: [UInt32] = []
        let paletteEntryBytes: Int
        if infoSize == 12 {                                              // OS/2 BITMAPCOREHEADER
            width = try r.u16le(18, "header")
            signedHeight = try r.u16le(20, "header")
            bits = try r.u16le(24, "header")
            compression = 0
            colorsUsed = 0
            paletteEntryBytes = 3
        } else if [40, 52, 56, 64, 108, 124].contains(infoSize) {
            width = try r.i32le(18, "header")
            signedHeight = try r.i32le(22, "header")
            bits = try r.u16le(28, "header")
            compression = Int(try r.u32le(30, "header"))
            colorsUsed = Int(try r.u32le(46, "header"))
            paletteEntryBytes = 4
            if infoSize == 64, compression == 3 || compression == 4 {
                throw r.unsupported("OS/2 Huffman or RLE24 compression")
            }
            if compression == 3 || compression == 6 {
                // Masks sit in the header from V2 (52 bytes) on, else right after the 40 bytes.
                let count = compression == 6 || infoSize >= 56 ? 4 : 3
                masks = try (0..<count).map { try r.u32le(54 + 4 * $0, "bit masks") }
                if count == 3 { masks.append(0) }
            }
        } else {
            throw r.unsupported("header of \(infoSize) bytes")
        }
        let height = abs(signedHeight), topDown = signedHeight < 0
        try ImageFile.checkSize(width, height, path: r.path, format: "BMP")
        let rowBytes = (width * bits + 7) / 8, stride = (width * bits + 31) / 32 * 4
        let n = width * height

        // Palette: after the header and, for a 40-byte header with bit fields, the masks.
        var palette: [SIMD4<UInt8>] = []
        if bits <= 8 {
            let maskBytes = infoSize == 40 && (compression == 3 || compression == 6) ? 4 * (compression == 6 ? 4 : 3) : 0
            let start = 14 + infoSize + maskBytes
            let count = min(colorsUsed == 0 ? 1 << bits : colorsUsed, 1 << bits)
            // Some writers declare more entries than fit before the pixels: read those that do.
            let available = max(0, min(count, (min(dataOffset, r.count) - start) / paletteEntryBytes))
            guard available > 0 else { throw r.truncated("palette") }
            palette = (0..<available).map { i in
                let o = start + i * paletteEntryBytes
                return SIMD4(r.bytes[o + 2], r.bytes[o + 1], r.bytes[o], 255)
            }
        }

        switch (bits, compression) {
        case (1, 0), (4, 0), (8, 0):
            try r.require(dataOffset, (height - 1) * stride + rowBytes, "pixels")
            var pixels = [UInt8](repeating: 0, count: n * 3)
            let perByte = 8 / bits, mask = (1 << bits) - 1
            for row in 0..<height {
                let src = dataOffset + row * stride, y = topDown ? row : height - 1 - row
                for x in 0..<width {
                    let byte = Int(r.bytes[src + x / perByte])
                    let index = byte >> ((perByte - 1 - x % perByte) * bits) & mask
                    guard index < palette.count else { throw r.bad("palette index \(index) of \(palette.count)") }
                    let v = palette[index], o = (y * width + x) * 3
                    pixels[o] = v[0]; pixels[o + 1] = v[1]; pixels[o + 2] = v[2]
                }
            }
            return Image8(width: width, height: height, channels: 3, pixels: pixels)
        case (8, 1), (4, 2):
            let indices = try runLengthIndices(r, from: dataOffset, width: width, height: height, bits: bits)
            var pixels = [UInt8](repeating: 0, count: n * 3)
            for row in 0..<height {
                let y = topDown ? row : height - 1 - row
                for x in 0..<width {
                    let index = Int(indices[row * width + x])
                    guard index < palette.count else { throw r.bad("palette index \(index) of \(palette.count)") }
                    let v = palette[index], o = (y * width + x) * 3
                    pixels[o] = v[0]; pixels[o + 1] = v[1]; pixels[o + 2] = v[2]
                }
            }
            return Image8(width: width, height: height, channels: 3, pixels: pixels)
        case (24, 0):
            try r.require(dataOffset, (height - 1) * stride + rowBytes, "pixels")
            var pixels = [UInt8](repeating: 0, count: n * 3)
            for row in 0..<height {
                let src = dataOffset + row * stride, y = topDown ? row : height - 1 - row
                for x in 0..<width {
                    let o = (y * width + x) * 3, s = src + 3 * x
                    pixels[o] = r.bytes[s + 2]; pixels[o + 1] = r.bytes[s + 1]; pixels[o + 2] = r.bytes[s]
                }
            }
            return Image8(width: width, height: height, channels: 3, pixels: pixels)
        case (16, 0), (32, 0), (16, 3), (32, 3), (16, 6), (32, 6):
            try r.require(dataOffset, (height - 1) * stride + rowBytes, "pixels")
            let fields = masks.isEmpty
                ? (bits == 16 ? [0x7C00, 0x03E0, 0x001F, 0] : [0xFF_0000, 0xFF00, 0xFF, 0xFF00_0000])
                : masks
            let channels = fields[3] != 0 ? 4 : 3
            let extract = try fields.map { try BitField($0, r) }
            var pixels = [UInt8](repeating: 0, count: n * channels)
            for row in 0..<height {
                let src = dataOffset + row * stride, y = topDown ? row : height - 1 - row
                for x in 0..<width {
                    let s = src + x * bits / 8
                    var v = UInt32(r.bytes[s]) | UInt32(r.bytes[s + 1]) << 8
                    if bits == 32 { v |= UInt32(r.bytes[s + 2]) << 16 | UInt32(r.bytes[s + 3]) << 24 }
                    let o = (y * width + x) * channels
                    for c in 0..<channels { pixels[o + c] = extract[c].value(v) }
                }
            }
            if channels == 4 && masks.isEmpty { makeOpaqueIfAlphaIsZero(&pixels, channels: 4) }
            return Image8(width: width, height: height, channels: channels, pixels: pixels)
        default:
            throw r.unsupported("\(bits)-bit pixels with compression \(compression)")
        }
    }

    /// The palette indices of an RLE8 or RLE4 image in file row order (bottom row first), 0 where
    /// the runs skip pixels (delta escapes, early ends of line).
    static func runLengthIndices(_ r: ByteReader, from start: Int, width: Int, height: Int, bits: Int) throws -> [UInt8] {
        guard (r.count - min(start, r.count)) * 128 >= width * height else { throw r.truncated("run-length pixels") }
        var indices = [UInt8](repeating: 0, count: width * height)
        var o = start, x = 0, y = 0
        func put(_ index: UInt8) {
            if x < width && y < height { indices[y * width + x] = index }
            x += 1
        }
        while true {
            let count = Int(try r.u8(o, "run-length pixels")), code = try r.u8(o + 1, "run-length pixels")
            o += 2
            if count > 0 {                                             // a run of `count` pixels
                for k in 0..<count { put(bits == 8 ? code : (k % 2 == 0 ? code >> 4 : code & 15)) }
                continue
            }
            switch code {
            case 0: x = 0; y += 1                                      // end of line
            case 1: return indices                                     // end of bitmap
            case 2:                                                    // delta
                x += Int(try r.u8(o, "run-length delta"))
                y += Int(try r.u8(o + 1, "run-length delta"))
                o += 2
            default:                                                   // `code` literal pixels
                let literal = Int(code), byteCount = bits == 8 ? literal : (literal + 1) / 2
                try r.require(o, byteCount, "run-length pixels")
                for k in 0..<literal {
                    let byte = r.bytes[o + (bits == 8 ? k : k / 2)]
                    put(bits == 8 ? byte : (k % 2 == 0 ? byte >> 4 : byte & 15))
                }
                o += byteCount + byteCount % 2                         // padded to 16 bits
            }
            if y >= height { return indices }
        }
    }

    /// One channel of a bit-field pixel: its mask's bits shifted down and widened to 8 bits.
    struct BitField {
        let mask: UInt32
        let shift: UInt32
        let maximum: UInt32

        init(_ mask: UInt32, _ r: ByteReader) throws {
            self.mask = mask
            shift = mask == 0 ? 0 : UInt32(mask.trailingZeroBitCount)
            let width = mask == 0 ? 0 : 32 - mask.leadingZeroBitCount - Int(shift)
            guard mask == 0 || mask.nonzeroBitCount == width else { throw r.bad("bit mask \(String(mask, radix: 16)) is not contiguous") }
            maximum = width == 0 ? 0 : UInt32((UInt64(1) << width) - 1)
        }

        /// The field of `pixel` scaled to 0...255, rounded; 255 where there is no field (alpha).
        @inline(__always) func value(_ pixel: UInt32) -> UInt8 {
            guard maximum > 0 else { return 255 }
            let v = (pixel & mask) >> shift
            return UInt8((UInt64(v) * 255 + UInt64(maximum / 2)) / UInt64(maximum))
        }
    }
}

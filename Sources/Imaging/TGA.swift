// Truevision TGA (TGA 2.0 specification, Truevision 1991): colour-mapped, true-colour and gray
// images, uncompressed or run-length encoded, any of the four origins.

import Foundation

public enum TGA {
    /// Decodes a TGA file: types 1/9 (colour-mapped, 8- or 16-bit indices into a 15-, 16-, 24- or
    /// 32-bit map), 2/10 (15/16-bit 5-5-5, 24-bit BGR, 32-bit BGRA) and 3/11 (8-bit gray, 16-bit
    /// gray + alpha), run-length packets allowed to cross rows, rows bottom-up or top-down and
    /// right-to-left. 5-bit samples are widened by rounding, v * 255 / 31; the attribute bit of
    /// 16-bit pixels is ignored (most writers leave it 0). Alpha follows the TGA 2.0 extension
    /// area when there is one (no alpha or undefined data: opaque; premultiplied: divided out);
    /// otherwise an alpha channel that is 0 everywhere is taken as opaque (writers that mean "no
    /// alpha" leave it so).
    public static func decode(_ data: Data, path: String = "<memory>") throws -> Image8 {
        try ByteReader.with(data, path: path, format: "TGA", decode)
    }

    static func decode(_ r: ByteReader) throws -> Image8 {
        try r.require(0, 18, "header")
        let idLength = Int(r.bytes[0]), mapType = Int(r.bytes[1]), type = Int(r.bytes[2])
        let mapFirst = try r.u16le(3, "header"), mapLength = try r.u16le(5, "header")
        let mapBits = Int(r.bytes[7])
        let width = try r.u16le(12, "header"), height = try r.u16le(14, "header")
        let depth = Int(r.bytes[16]), descriptor = Int(r.bytes[17])
        guard [1, 2, 3, 9, 10, 11].contains(type) else { throw r.unsupported("image type \(type)") }
        guard mapType == 0 || mapType == 1 else { throw r.bad("colour map type \(mapType)") }
        try ImageFile.checkSize(width, height, path: r.path, format: "TGA")
        let kind = type & 7, rle = type >= 9

        // The colour map follows the image ID; a true-colour file may carry one too (skipped).
        var offset = 18 + idLength
        var palette: [SIMD4<UInt8>] = []
        if mapType == 1 {
            let entryBytes = (mapBits + 7) / 8
            try r.require(offset, mapLength * entryBytes, "colour map")
            if kind == 1 {
                guard [15, 16, 24, 32].contains(mapBits) else { throw r.unsupported("\(mapBits)-bit colour map") }
                palette = (0..<mapLength).map { color(r, offset + $0 * entryBytes, bits: mapBits) }
            }
            offset += mapLength * entryBytes
        }
        let channels: Int
        switch kind {
        case 1:
            guard mapType == 1 else { throw r.bad("colour-mapped image without a colour map") }
            guard depth == 8 || depth == 16 else { throw r.unsupported("\(depth)-bit colour indices") }
            channels = mapBits == 32 ? 4 : 3
        case 2:
            guard [15, 16, 24, 32].contains(depth) else { throw r.unsupported("\(depth)-bit true-colour pixels") }
            channels = depth == 32 ? 4 : 3
        default:
            guard depth == 8 || depth == 16 else { throw r.unsupported("\(depth)-bit gray pixels") }
            channels = depth / 8
        }
        let bpp = (depth + 7) / 8, n = width * height
        if rle {
            // A packet of at most 128 pixels takes at least 2 bytes: refuse before allocating.
            guard (r.count - min(offset, r.count)) * 64 >= n else { throw r.truncated("run-length pixels") }
        } else {
            try r.require(offset, n * bpp, "pixels")
        }

        /// The pixel whose bytes start at `o` (already bounds-checked), in output channel order.
        func pixel(_ o: Int) throws -> SIMD4<UInt8> {
            switch kind {
            case 1:
                let index = (depth == 8 ? Int(r.bytes[o]) : Int(r.bytes[o]) | Int(r.bytes[o + 1]) << 8) - mapFirst
                guard index >= 0, index < palette.count else { throw r.bad("colour index \(index + mapFirst) outside the map") }
                return palette[index]
            case 2: return color(r, o, bits: depth)
            default: return SIMD4(r.bytes[o], depth == 16 ? r.bytes[o + 1] : 255, 0, 0)
            }
        }

        var pixels = [UInt8](repeating: 0, count: n * channels)
        let topDown = descriptor & 0x20 != 0, rightToLeft = descriptor & 0x10 != 0
        try pixels.withUnsafeMutableBufferPointer { out in
            /// Stores pixel `i` of the file's order (row after row from its origin).
            func store(_ i: Int, _ v: SIMD4<UInt8>) {
                let row = i / width, column = i % width
                let y = topDown ? row : height - 1 - row, x = rightToLeft ? width - 1 - column : column
                let base = (y * width + x) * channels
                for c in 0..<channels { out[base + c] = v[c] }
            }
            if !rle {
                for i in 0..<n { store(i, try pixel(offset + i * bpp)) }
                return
            }
            var i = 0, o = offset
            while i < n {
                let header = Int(try r.u8(o, "run-length packet"))
                o += 1
                let count = min((header & 0x7F) + 1, n - i)      // a last packet may overshoot
                if header & 0x80 != 0 {
                    try r.require(o, bpp, "run-length pixels")
                    let v = try pixel(o)
                    for k in 0..<count { store(i + k, v) }
                    o += bpp
                } else {
                    try r.require(o, count * bpp, "run-length pixels")
                    for k in 0..<count { store(i + k, try pixel(o + k * bpp)) }
                    o += ((header & 0x7F) + 1) * bpp
                }
                i += count
            }
        }
        if channels == 2 || channels == 4 {
            switch alphaAttributes(r) {
            case 0, 1, 2: makeOpaque(&pixels, channels: channels)           // no alpha, or undefined data
            case 4: unpremultiply(&pixels, channels: channels)
            case 3: break
            default: makeOpaqueIfAlphaIsZero(&pixels, channels: channels)
            }
        }
        return Image8(width: width, height: height, channels: channels, pixels: pixels)
    }

    /// Whether `data` starts with a consistent TGA header: a known image type with a pixel depth
    /// it allows, a colour map where the type needs one, a size, and enough bytes for
    /// uncompressed pixels.
    static func plausibleHeader(_ data: Data) -> Bool {
        guard data.count >= 18 else { return false }
        let h = [UInt8](data.prefix(18))
        let mapType = Int(h[1]), type = Int(h[2]), mapBits = Int(h[7]), depth = Int(h[16])
        let width = Int(h[12]) | Int(h[13]) << 8, height = Int(h[14]) | Int(h[15]) << 8
        let mapLength = Int(h[5]) | Int(h[6]) << 8
        guard width > 0, height > 0, h[17] & 0xC0 == 0 else { return false }
        switch type & 7 {
        case 1 where mapType == 1 && [15, 16, 24, 32].contains(mapBits) && mapLength > 0: guard depth == 8 || depth == 16 else { return false }
        case 2 where mapType <= 1: guard [15, 16, 24, 32].contains(depth) else { return false }   // a map may ride along
        case 3 where mapType <= 1: guard depth == 8 || depth == 16 else { return false }
        default: return false
        }
        guard [1, 2, 3, 9, 10, 11].contains(type) else { return false }
        if type < 9 {
            let pixels = 18 + Int(h[0]) + mapLength * ((mapBits + 7) / 8) * mapType + width * height * ((depth + 7) / 8)
            return data.count >= pixels
        }
        return true
    }

    /// The "attributes type" of a TGA 2.0 file's extension area (0: no alpha, 1 and 2: undefined
    /// data in the alpha bits, 3: alpha, 4: premultiplied alpha), nil without a footer or an
    /// extension area.
    static func alphaAttributes(_ r: ByteReader) -> Int? {
        guard r.count >= 18 + 26,
              (r.count - 18..<r.count).map({ r.bytes[$0] }) == Array("TRUEVISION-XFILE.\0".utf8),
              let offset = try? Int(r.u32le(r.count - 26, "footer")), offset >= 18,
              let type = try? r.u8(offset + 494, "extension area") else { return nil }
        return Int(type)
    }

    /// A true-colour value of `bits` bits at `o` (bounds-checked by the caller): 5-5-5 little-endian
    /// with blue lowest, BGR or BGRA; returned as RGBA.
    static func color(_ r: ByteReader, _ o: Int, bits: Int) -> SIMD4<UInt8> {
        let b = r.bytes
        switch bits {
        case 15, 16:
            let v = Int(b[o]) | Int(b[o + 1]) << 8
            return SIMD4(widen5(v >> 10 & 31), widen5(v >> 5 & 31), widen5(v & 31), 255)
        case 24: return SIMD4(b[o + 2], b[o + 1], b[o], 255)
        default: return SIMD4(b[o + 2], b[o + 1], b[o], b[o + 3])
        }
    }
}

/// Sets the last channel to 255.
func makeOpaque(_ pixels: inout [UInt8], channels: Int) {
    for i in stride(from: channels - 1, to: pixels.count, by: channels) { pixels[i] = 255 }
}

/// Divides the colour channels by alpha (rounded; 0 where alpha is 0).
func unpremultiply(_ pixels: inout [UInt8], channels: Int) {
    for p in stride(from: 0, to: pixels.count, by: channels) {
        let alpha = Int(pixels[p + channels - 1])
        for c in 0..<(channels - 1) {
            pixels[p + c] = alpha == 0 ? 0 : UInt8(min(255, (Int(pixels[p + c]) * 255 + alpha / 2) / alpha))
        }
    }
}

/// Sets the last channel to 255 when it is 0 in every pixel: such files mean "no alpha".
func makeOpaqueIfAlphaIsZero(_ pixels: inout [UInt8], channels: Int) {
    let alpha = stride(from: channels - 1, to: pixels.count, by: channels)
    guard alpha.allSatisfy({ pixels[$0] == 0 }) else { return }
    for i in alpha { pixels[i] = 255 }
}

// Animated PNG (APNG) writer for orbit animations: full-colour frames, looping, readable by
// browsers and image viewers (and shown as its first frame by plain PNG readers). Each frame is
// a complete image (no frame diffing); scanlines use the Paeth filter and zlib compression.

import CPNG
import FileSupport
import Foundation

public enum APNG {
    /// Encodes RGB or RGBA frames of one size, each shown `delay` seconds, looping forever.
    public static func encode(_ frames: [Image8], delay: Double = 0.1) throws -> Data {
        guard let first = frames.first else { throw ImageError.unwritable(path: "<apng>", reason: "no frames") }
        guard frames.allSatisfy({ $0.width == first.width && $0.height == first.height && $0.channels == first.channels }),
              first.channels == 3 || first.channels == 4 else {
            throw ImageError.unwritable(path: "<apng>", reason: "frames must share one size and be RGB or RGBA")
        }
        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var ihdr = Data()
        ihdr.appendBigEndian(UInt32(first.width)); ihdr.appendBigEndian(UInt32(first.height))
        ihdr.append(contentsOf: [8, first.channels == 4 ? 6 : 2, 0, 0, 0])
        png.appendChunk("IHDR", ihdr)
        var actl = Data()
        actl.appendBigEndian(UInt32(frames.count)); actl.appendBigEndian(UInt32(0))
        png.appendChunk("acTL", actl)
        var sequence: UInt32 = 0
        let delayMilliseconds = UInt16(max(1, min(65535, (delay * 1000).rounded())))
        for (index, frame) in frames.enumerated() {
            var fctl = Data()
            fctl.appendBigEndian(sequence); sequence += 1
            fctl.appendBigEndian(UInt32(frame.width)); fctl.appendBigEndian(UInt32(frame.height))
            fctl.appendBigEndian(UInt32(0)); fctl.appendBigEndian(UInt32(0))
            fctl.appendBigEndian(delayMilliseconds); fctl.appendBigEndian(UInt16(1000))
            fctl.append(contentsOf: [0, 0])  // dispose none, blend source
            png.appendChunk("fcTL", fctl)
            let compressed = try deflate(filtered(frame))
            if index == 0 {
                png.appendChunk("IDAT", compressed)
            } else {
                var fdat = Data()
                fdat.appendBigEndian(sequence); sequence += 1
                fdat.append(compressed)
                png.appendChunk("fdAT", fdat)
            }
        }
        png.appendChunk("IEND", Data())
        return png
    }

    public static func write(_ frames: [Image8], delay: Double = 0.1, to url: URL) throws {
        try writeAtomically(try encode(frames, delay: delay), to: url)
    }

    /// Scanlines each prefixed with filter type 4 (Paeth).
    static func filtered(_ image: Image8) -> Data {
        let bpp = image.channels, stride = image.width * bpp
        var out = Data(capacity: (stride + 1) * image.height)
        image.pixels.withUnsafeBufferPointer { p in
            for y in 0..<image.height {
                out.append(4)
                for i in 0..<stride {
                    let x = Int(p[y * stride + i])
                    let a = i >= bpp ? Int(p[y * stride + i - bpp]) : 0
                    let b = y > 0 ? Int(p[(y - 1) * stride + i]) : 0
                    let c = (i >= bpp && y > 0) ? Int(p[(y - 1) * stride + i - bpp]) : 0
                    let pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c)
                    let predictor = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c)
                    out.append(UInt8(truncatingIfNeeded: x - predictor))
                }
            }
        }
        return out
    }

    static func deflate(_ data: Data) throws -> Data {
        var size = compressBound(uLong(data.count))
        var out = Data(count: Int(size))
        let status = out.withUnsafeMutableBytes { dst in
            data.withUnsafeBytes { src in
                compress2(dst.bindMemory(to: Bytef.self).baseAddress, &size,
                          src.bindMemory(to: Bytef.self).baseAddress, uLong(data.count), 6)
            }
        }
        guard status == Z_OK else { throw ImageError.unwritable(path: "<apng>", reason: "zlib error \(status)") }
        return out.prefix(Int(size))
    }
}

extension Data {
    mutating func appendBigEndian<T: FixedWidthInteger>(_ v: T) {
        Swift.withUnsafeBytes(of: v.bigEndian) { append(contentsOf: $0) }
    }

    mutating func appendChunk(_ type: String, _ body: Data) {
        appendBigEndian(UInt32(body.count))
        var typed = Data(type.utf8)
        typed.append(body)
        append(typed)
        let crc = typed.withUnsafeBytes { crc32(0, $0.bindMemory(to: Bytef.self).baseAddress, uInt(typed.count)) }
        appendBigEndian(UInt32(crc))
    }
}

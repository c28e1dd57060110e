// SGI / IRIS images (.rgb, .rgba, .bw, .sgi, .int, .inta; Paul Haeberli's "The SGI Image File
// Format", version 1.00, Silicon Graphics 1993): the texture format of FlightGear's and other
// AC3D models.

import Foundation

public enum SGI {
    /// Decodes an SGI file: verbatim or run-length encoded, 1 to 4 channels (gray, gray + alpha,
    /// RGB, RGBA; further channels are ignored), 1 or 2 bytes per sample (16-bit samples keep their
    /// high byte). Rows are stored bottom-up and channel after channel. Only the "normal" colour map
    /// type is accepted (the dithered, screen and colour-map types of old IRIS hardware are not).
    /// Run-length images refuse more than 128 samples per byte of data (a guard against tiny files
    /// that claim huge sizes).
    public static func decode(_ data: Data, path: String = "<memory>") throws -> Image8 {
        try ByteReader.with(data, path: path, format: "SGI", decode)
    }

    static let headerSize = 512

    static func decode(_ r: ByteReader) throws -> Image8 {
        try r.require(0, 108, "header")
        guard try r.u16be(0, "header") == 474 else { throw r.bad("no SGI magic number") }
        let storage = Int(r.bytes[2]), bpc = Int(r.bytes[3])
        let dimension = try r.u16be(4, "header")
        let width = try r.u16be(6, "header")
        let height = dimension == 1 ? 1 : try r.u16be(8, "header")
        let depth = dimension < 3 ? 1 : try r.u16be(10, "header")
        let colormap = try r.u32be(104, "header")
        guard storage == 0 || storage == 1 else { throw r.unsupported("storage \(storage)") }
        guard bpc == 1 || bpc == 2 else { throw r.unsupported("\(bpc) bytes per sample") }
        guard (1...3).contains(dimension) else { throw r.unsupported("dimension \(dimension)") }
        guard colormap == 0 else { throw r.unsupported("colour map type \(colormap)") }
        guard depth >= 1 else { throw r.bad("no channels") }
        try ImageFile.checkSize(width, height, path: r.path, format: "SGI")
        let channels = min(depth, 4), n = width * height

        let rowCount = depth * height
        if storage == 0 {
            try r.require(headerSize, rowCount * width * bpc, "pixels")
        } else {
            try r.require(headerSize, 8 * rowCount, "run-length row tables")
            guard r.count * 128 >= n * channels * bpc else { throw r.truncated("run-length pixels") }
        }

        var pixels = [UInt8](repeating: 0, count: n * channels)
        /// Stores one decoded row of channel `c`, file row `row` (0 is the bottom row).
        func store(_ row: Int, _ c: Int, _ samples: UnsafeBufferPointer<UInt8>) {
            let base = (height - 1 - row) * width * channels + c
            for x in 0..<width { pixels[base + x * channels] = samples[x] }
        }
        var rowSamples = [UInt8](repeating: 0, count: width)
        if storage == 0 {
            let rowBytes = width * bpc
            for c in 0..<channels {
                for row in 0..<height {
                    let src = headerSize + (c * height + row) * rowBytes
                    for x in 0..<width { rowSamples[x] = r.bytes[src + x * bpc] }   // high byte first
                    rowSamples.withUnsafeBufferPointer { store(row, c, $0) }
                }
            }
        } else {
            for c in 0..<channels {
                for row in 0..<height {
                    let k = c * height + row
                    let start = try r.u32be(headerSize + 4 * k, "row table")
                    let length = try r.u32be(headerSize + 4 * (rowCount + k), "row table")
                    try r.require(start, length, "run-length row \(row) of channel \(c)")
                    try decodeRow(r, from: start, end: start + length, bpc: bpc, into: &rowSamples)
                    rowSamples.withUnsafeBufferPointer { store(row, c, $0) }
                }
            }
        }
        return Image8(width: width, height: height, channels: channels, pixels: pixels)
    }

    /// One run-length row in bytes [start, end): a count byte c (0 ends the row) then, if c has its
    /// high bit, c & 127 literal samples, else one sample repeated c times. Samples are `bpc` bytes
    /// (big-endian; the high byte is kept). A row that fills less than the width throws.
    static func decodeRow(_ r: ByteReader, from start: Int, end: Int, bpc: Int, into row: inout [UInt8]) throws {
        let width = row.count
        var o = start, x = 0
        func sample(_ at: Int) throws -> UInt8 {
            guard at + bpc <= end else { throw r.truncated("run-length row") }
            return r.bytes[at]
        }
        while o + bpc <= end {
            let header = Int(bpc == 1 ? r.bytes[o] : r.bytes[o + 1])      // 16-bit: the count is the low byte
            o += bpc
            let count = header & 0x7F
            if count == 0 { break }
            guard x + count <= width else { throw r.bad("run-length row longer than the width") }
            if header & 0x80 != 0 {
                for k in 0..<count { row[x + k] = try sample(o + k * bpc) }
                o += count * bpc
            } else {
                let v = try sample(o)
                for k in 0..<count { row[x + k] = v }
                o += bpc
            }
            x += count
        }
        guard x == width else { throw r.truncated("run-length row of \(x) of \(width) samples") }
    }
}

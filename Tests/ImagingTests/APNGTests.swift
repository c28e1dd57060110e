// APNG output: chunk structure, sequence numbers and CRCs as the APNG spec requires, every
// frame decompressing and unfiltering back to its pixels, and the first frame readable by libpng.

import CPNG
import Foundation
import Imaging
import XCTest

final class APNGTests: XCTestCase {
    func frames(_ count: Int, channels: Int) -> [Image8] {
        (0..<count).map { f in
            var img = Image8(width: 7, height: 5, channels: channels)
            for i in img.pixels.indices { img.pixels[i] = UInt8((i * 13 + f * 40) % 256) }
            return img
        }
    }

    /// Chunks as (type, body), checking every CRC.
    func chunks(_ data: Data) -> [(String, Data)] {
        var out: [(String, Data)] = []
        var offset = 8
        let bytes = [UInt8](data)
        func u32(_ at: Int) -> Int { bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
        while offset + 12 <= bytes.count {
            let length = u32(offset)
            let typeAndBody = Data(bytes[(offset + 4)..<(offset + 8 + length)])
            let crc = typeAndBody.withUnsafeBytes { crc32(0, $0.bindMemory(to: Bytef.self).baseAddress, uInt(typeAndBody.count)) }
            XCTAssertEqual(Int(crc), u32(offset + 8 + length), "CRC")
            out.append((String(decoding: typeAndBody.prefix(4), as: UTF8.self), typeAndBody.dropFirst(4)))
            offset += 12 + length
        }
        return out
    }

    func unfilter(_ raw: Data, width: Int, height: Int, bpp: Int) -> [UInt8] {
        let b = [UInt8](raw), stride = width * bpp
        var out = [UInt8](repeating: 0, count: stride * height)
        for y in 0..<height {
            XCTAssertEqual(b[y * (stride + 1)], 4, "Paeth filter")
            for i in 0..<stride {
                let a = i >= bpp ? Int(out[y * stride + i - bpp]) : 0
                let up = y > 0 ? Int(out[(y - 1) * stride + i]) : 0
                let c = (i >= bpp && y > 0) ? Int(out[(y - 1) * stride + i - bpp]) : 0
                let pa = abs(up - c), pb = abs(a - c), pc = abs(a + up - 2 * c)
                let pred = (pa <= pb && pa <= pc) ? a : (pb <= pc ? up : c)
                out[y * stride + i] = UInt8(truncatingIfNeeded: Int(b[y * (stride + 1) + 1 + i]) + pred)
            }
        }
        return out
    }

    func inflate(_ data: Data, size: Int) -> Data {
        var out = Data(count: size)
        var length = uLongf(size)
        let status = out.withUnsafeMutableBytes { dst in
            data.withUnsafeBytes { uncompress(dst.bindMemory(to: Bytef.self).baseAddress, &length,
                                              $0.bindMemory(to: Bytef.self).baseAddress, uLong(data.count)) }
        }
        XCTAssertEqual(status, Z_OK)
        return out.prefix(Int(length))
    }

    func testEveryFrameRoundTripsAndTheFirstIsAPlainPNG() throws {
        for channels in [3, 4] {
            let input = frames(4, channels: channels)
            let data = try APNG.encode(input, delay: 0.125)
            XCTAssertEqual(try PNG.decode(data), input[0], "first frame as plain PNG")
            let list = chunks(data)
            XCTAssertEqual(list.map(\.0), ["IHDR", "acTL", "fcTL", "IDAT", "fcTL", "fdAT", "fcTL", "fdAT", "fcTL", "fdAT", "IEND"])
            var sequence: [Int] = []
            var decoded: [[UInt8]] = []
            let rawSize = (7 * channels + 1) * 5
            for (type, body) in list {
                let b = [UInt8](body)
                if type == "fcTL" || type == "fdAT" { sequence.append(b[0..<4].reduce(0) { $0 << 8 | Int($1) }) }
                if type == "fcTL" { XCTAssertEqual(Array(b[20..<24]), [0, 125, 3, 232], "125/1000 s") }
                if type == "IDAT" { decoded.append(unfilter(inflate(body, size: rawSize), width: 7, height: 5, bpp: channels)) }
                if type == "fdAT" { decoded.append(unfilter(inflate(body.dropFirst(4), size: rawSize), width: 7, height: 5, bpp: channels)) }
            }
            XCTAssertEqual(sequence, Array(0..<7))
            XCTAssertEqual(decoded, input.map(\.pixels))
        }
    }

    func testContactSheetPlacesCellsInRows() {
        let red = Image8(width: 2, height: 2, channels: 3, pixels: [UInt8](repeating: 0, count: 12).enumerated().map { $0.offset % 3 == 0 ? 255 : 0 })
        let sheet = ContactSheet.make(rows: [[red, red], [red]], cellWidth: 2, cellHeight: 2, spacing: 1)
        XCTAssertEqual([sheet.width, sheet.height], [7, 7])
        XCTAssertEqual([sheet[1, 1, 0], sheet[1, 1, 1]], [255, 0])
        XCTAssertEqual([sheet[4, 4, 0], sheet[4, 4, 1]], [255, 255], "missing cell stays background")
    }
}

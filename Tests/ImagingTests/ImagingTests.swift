import Foundation
import Imaging
import XCTest

final class ImagingTests: XCTestCase {
    func testPNGRoundTripKeepsEveryChannelLayout() throws {
        for channels in 1...4 {
            let img = Image8(width: 5, height: 3, channels: channels,
                             pixels: (0..<(15 * channels)).map { UInt8(($0 * 37) % 256) })
            let back = try PNG.decode(try PNG.encode(img))
            XCTAssertEqual(back, img, "channels \(channels)")
        }
    }

    func testPNG16RoundTrip() throws {
        let img = Image16(width: 4, height: 2, channels: 1, pixels: [0, 1, 255, 256, 1000, 40000, 65535, 7])
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-16-\(UUID()).png")
        try PNG.write(img, to: url)
        XCTAssertEqual(try PNG.read16(url), img)
    }

    /// A 16-bit grey PNG from another tool (no gAMA/sRGB chunk) holds sRGB-encoded samples like an
    /// 8-bit one: it reads as the same picture, and a light object on white survives the
    /// background cut (libpng's default, linear light, lifted it into the white and left nothing).
    func testSixteenBitGrayWithoutColourChunksReadsLikeEightBit() throws {
        var wide = Image16(width: 40, height: 30, channels: 1, fill: 65535)
        var narrow = Image8(width: 40, height: 30, channels: 1, fill: 255)
        for y in 8..<22 { for x in 10..<30 { narrow[x, y, 0] = UInt8(234 + x % 6); wide[x, y, 0] = UInt16(narrow[x, y, 0]) * 257 } }
        let external = try withoutChunks(["gAMA", "cHRM", "sRGB", "iCCP"], try PNG.encode(wide))
        let read = try PNG.decode(external)
        XCTAssertEqual(read, narrow)
        XCTAssertEqual(try ConditioningImage.sv3d(read, size: 32), try ConditioningImage.sv3d(narrow, size: 32))
        // Our own 16-bit files say they are linear (gAMA 1.0) and are still gamma-encoded.
        let linear = try PNG.decode(try PNG.encode(Image16(width: 1, height: 1, channels: 1, pixels: [13107])))
        XCTAssertEqual(linear.pixels, [123], "0.2 linear is sRGB 0.485 (libpng rounds to 123)")
    }

    /// The PNG without the named ancillary chunks (each chunk carries its own CRC).
    func withoutChunks(_ names: Set<String>, _ png: Data) throws -> Data {
        let bytes = [UInt8](png)
        var out = Array(bytes[0..<8]), at = 8
        while at + 12 <= bytes.count {
            let length = bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) }
            let type = String(decoding: bytes[(at + 4)..<(at + 8)], as: UTF8.self)
            if !names.contains(type) { out += bytes[at..<(at + 12 + length)] }
            at += 12 + length
        }
        XCTAssertEqual(at, bytes.count)
        return Data(out)
    }

    func testJPEGRoundTripIsClose() throws {
        var img = Image8(width: 32, height: 16, channels: 3)
        for y in 0..<16 { for x in 0..<32 { img[x, y, 0] = UInt8(x * 8); img[x, y, 1] = UInt8(y * 16); img[x, y, 2] = 128 } }
        let back = try JPEG.decode(try JPEG.encode(img, quality: 98))
        XCTAssertEqual(back.width, 32)
        let maxDiff = zip(back.pixels, img.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
        XCTAssertLessThan(maxDiff, 12)
    }

    func testExifOrientationsMapCorners() {
        // 3x2 image whose pixel values are their own indices.
        let img = Image8(width: 3, height: 2, channels: 1, pixels: [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(img.oriented(6).pixels, [3, 0, 4, 1, 5, 2])  // 90 degrees clockwise
        XCTAssertEqual(img.oriented(8).pixels, [2, 5, 1, 4, 0, 3])  // 90 degrees counter-clockwise
        XCTAssertEqual(img.oriented(3).pixels, [5, 4, 3, 2, 1, 0])
    }

    func testGarbageIsAnErrorNamingTheFile() {
        XCTAssertThrowsError(try PNG.decode(Data([1, 2, 3]), path: "bad.png")) { error in
            XCTAssertTrue("\(error)".contains("bad.png"))
        }
        XCTAssertThrowsError(try JPEG.decode(Data([0xFF, 0xD8, 0, 0]), path: "bad.jpg")) { error in
            XCTAssertTrue("\(error)".contains("bad.jpg"))
        }
    }
}

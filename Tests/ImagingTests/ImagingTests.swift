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

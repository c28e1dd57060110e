// Pillow parity (Scripts/fixtures/make_imaging_fixtures.py): resizes and SV3D's conditioning-image
// preparation must equal Pillow's output exactly (8-bit integer pipelines, so no tolerance).

import Foundation
import Imaging
import XCTest

final class ResampleTests: XCTestCase {
    func fixture(_ name: String) throws -> Image8 {
        try PNG.read(Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name))
    }

    func assertSame(_ a: Image8, _ b: Image8, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual([a.width, a.height, a.channels], [b.width, b.height, b.channels], label, file: file, line: line)
        guard a.pixels.count == b.pixels.count else { return }
        let diffs = zip(a.pixels, b.pixels).enumerated().filter { $0.element.0 != $0.element.1 }
        if let first = diffs.first {
            XCTFail("\(label): \(diffs.count) of \(a.pixels.count) samples differ; first at \(first.offset): "
                    + "\(first.element.0) vs Pillow \(first.element.1)", file: file, line: line)
        }
    }

    func testResizeMatchesPillowForEveryFilter() throws {
        let rgb = try fixture("source_rgb.png"), rgba = try fixture("source_rgba.png")
        for filter in ResampleFilter.allCases {
            assertSame(rgb.resized(width: 37, height: 29, filter: filter), try fixture("rgb_down_\(filter).png"), "down \(filter)")
            assertSame(rgb.resized(width: 120, height: 90, filter: filter), try fixture("rgb_up_\(filter).png"), "up \(filter)")
            assertSame(rgba.resized(width: 33, height: 41, filter: filter), try fixture("rgba_down_\(filter).png"), "rgba \(filter)")
        }
    }

    func testSV3DConditioningImageMatchesTheSamplingScript() throws {
        let rgba = try fixture("source_rgba.png")
        assertSame(try ConditioningImage.sv3d(rgba, size: 96), try fixture("sv3d_prepared_default.png"), "default frame")
        assertSame(try ConditioningImage.sv3d(rgba, size: 64, frameRatio: 0.75), try fixture("sv3d_prepared_ratio.png"), "ratio 0.75")
    }

    func testKeepingFramingUsesTheImageAsGiven() throws {
        // A square RGB image of the model's size is returned pixel for pixel: no re-centring.
        var render = Image8(width: 16, height: 16, channels: 3, fill: 255)
        for y in 2..<7 { for x in 9..<14 { render[x, y, 0] = 40; render[x, y, 1] = 160; render[x, y, 2] = 90 } }
        XCTAssertEqual(ConditioningImage.keepingFraming(render, size: 16).pixels, render.pixels)
        XCTAssertNotEqual(try ConditioningImage.sv3d(render, size: 16).pixels, render.pixels, "sv3d re-centres the same image")
        // Another size is the Lanczos resize; RGBA is composited on white first.
        XCTAssertEqual(ConditioningImage.keepingFraming(render, size: 8).pixels,
                       render.resized(width: 8, height: 8, filter: .lanczos).pixels)
        let rgba = try fixture("source_rgba.png")
        XCTAssertEqual(ConditioningImage.keepingFraming(rgba, size: 24).pixels,
                       ConditioningImage.keepingFraming(rgba.rgb(), size: 24).pixels)
        // A wide image is padded with white above and below, its content unmoved within the square.
        let wide = Image8(width: 8, height: 4, channels: 3, fill: 10)
        let padded = ConditioningImage.keepingFraming(wide, size: 8)
        XCTAssertEqual([padded.width, padded.height], [8, 8])
        XCTAssertEqual(padded[3, 0, 0], 255)
        XCTAssertEqual(padded[3, 1, 0], 255)
        XCTAssertEqual(padded[3, 2, 0], 10)
        XCTAssertEqual(padded[3, 5, 0], 10)
        XCTAssertEqual(padded[3, 6, 0], 255)
    }

    func testPlainBackgroundBecomesTransparentAndEmptyImagesAreErrors() throws {
        var photo = Image8(width: 20, height: 16, channels: 3, fill: 250)
        for y in 5..<11 { for x in 6..<14 { photo[x, y, 0] = 200; photo[x, y, 1] = 30; photo[x, y, 2] = 30 } }
        let cut = ConditioningImage.removingPlainBackground(photo, tolerance: 12)
        XCTAssertEqual(cut[0, 0, 3], 0)
        XCTAssertEqual(cut[8, 8, 3], 255)
        let prepared = try ConditioningImage.sv3d(photo, size: 32)
        XCTAssertEqual(prepared[0, 0, 0], 255, "background turns white")
        XCTAssertEqual(prepared[16, 16, 0], 200, "object kept and centred")
        XCTAssertThrowsError(try ConditioningImage.sv3d(Image8(width: 4, height: 4, channels: 4), size: 8)) { error in
            guard case .empty(let why)? = error as? ConditioningImageError else { return XCTFail("\(error)") }
            XCTAssertTrue(why.contains("transparent"), why)
        }
    }
}

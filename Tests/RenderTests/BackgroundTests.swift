// `--background random-color` (SV3D's training renders): each view over a colour drawn per object
// from the seed and, as a twin, over white; the colour is recorded in cameras.json, and the twin
// matches a render made over white directly.

import Cameras
import Foundation
import Imaging
@testable import Render
import XCTest

final class BackgroundTests: XCTestCase {
    func render(_ background: Background, objectID: String = "sphere", seed: UInt64 = 3) throws -> (URL, [String]) {
        var options = RenderOptions()
        options.views = 3
        options.size = 40
        options.samples = 4
        options.distance = 2.5
        options.seed = seed
        options.background = background
        let folder = temporaryFolder("background-\(background.rawValue)-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        try RenderJob(input: URL(fileURLWithPath: "/dev/null"), objectID: objectID, outputFolder: folder, options: options)
            .render(Scenes.sphere(radius: 0.5, rings: 24, segments: 48))
        return (folder, try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted())
    }

    func testRandomColorWritesViewsOnTheColourAndOnWhite() throws {
        let (folder, names) = try render(.randomColor)
        XCTAssertEqual(names, ["000-white.png", "000.png", "001-white.png", "001.png", "002-white.png", "002.png", "cameras.json"])
        let color = RenderJob.backgroundColor(seed: 3, objectID: "sphere")
        let cameras = try OrbitCameras.read(folder.appendingPathComponent(OrbitCameras.fileName))
        XCTAssertEqual(cameras.background, "random-color")
        XCTAssertEqual(cameras.backgroundColor, [Int(color.0), Int(color.1), Int(color.2)])
        XCTAssertEqual(cameras.onWhite?.file, "NNN-white.png")
        XCTAssertEqual(cameras.views.map(\.file), ["000.png", "001.png", "002.png"])
        XCTAssertEqual(try cameras.encoded(), try Data(contentsOf: folder.appendingPathComponent(OrbitCameras.fileName)))

        let (transparentFolder, _) = try render(.transparent)
        let (whiteFolder, _) = try render(.white)
        for k in 0..<3 {
            let onColor = try PNG.read(folder.appendingPathComponent("00\(k).png"))
            let onWhite = try PNG.read(folder.appendingPathComponent("00\(k)-white.png"))
            let rgba = try PNG.read(transparentFolder.appendingPathComponent("00\(k).png"))
            let direct = try PNG.read(whiteFolder.appendingPathComponent("00\(k).png"))
            XCTAssertEqual([onColor.channels, onWhite.channels], [3, 3])
            XCTAssertEqual(onColor, RenderJob.composite(rgba, over: color), "view \(k) over its colour")
            XCTAssertEqual([onColor[0, 0, 0], onColor[0, 0, 1], onColor[0, 0, 2]], [color.0, color.1, color.2])
            // Over white: as a render made over white, up to one level at the edges.
            var edges = 0
            for i in 0..<direct.pixels.count {
                let d = abs(Int(onWhite.pixels[i]) - Int(direct.pixels[i]))
                XCTAssertLessThanOrEqual(d, 1, "view \(k) sample \(i)")
                let alpha = rgba.pixels[i / 3 * 4 + 3]
                if alpha == 0 || alpha == 255 { XCTAssertEqual(d, 0, "view \(k) sample \(i), alpha \(alpha)") } else { edges += 1 }
            }
            XCTAssertGreaterThan(edges, 0, "the sphere has partly covered edge pixels")
        }
    }

    /// One colour per object: stable for a seed and an id, different for other seeds and ids.
    func testColourIsDrawnPerObjectFromTheSeed() {
        let a = RenderJob.backgroundColor(seed: 3, objectID: "sphere")
        XCTAssertTrue(a == RenderJob.backgroundColor(seed: 3, objectID: "sphere"))
        XCTAssertFalse(a == RenderJob.backgroundColor(seed: 4, objectID: "sphere"))
        XCTAssertFalse(a == RenderJob.backgroundColor(seed: 3, objectID: "cube"))
        // Channels spread over 0...255.
        let reds = (0..<200).map { Int(RenderJob.backgroundColor(seed: UInt64($0), objectID: "x").0) }
        XCTAssertLessThan(reds.min()!, 20)
        XCTAssertGreaterThan(reds.max()!, 235)
    }

    /// Compositing: covered pixels keep their colour, empty ones take the background's, a half
    /// covered one mixes in linear light.
    func testCompositeInLinearLight() {
        let rgba = Image8(width: 3, height: 1, channels: 4, pixels: [10, 20, 30, 255, 10, 20, 30, 0, 0, 0, 0, 128])
        let out = RenderJob.composite(rgba, over: (255, 255, 255))
        XCTAssertEqual(Array(out.pixels[0..<6]), [10, 20, 30, 255, 255, 255])
        XCTAssertEqual(out.pixels[6], SRGB.encode(1 - 128.0 / 255))          // black at 50 % over white: 188
    }
}

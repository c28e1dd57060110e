// HDR environment-map files: Radiance RGBE (run-length and flat scanlines, both orientations, a
// hand-assembled file checking the texel formula) and OpenEXR through the CEXR shim (float and
// half channels, written here), and Blender's bundled HDRIs when blender-data is installed.

import Foundation
import Imaging
import XCTest

final class HDRImageTests: XCTestCase {
    func temporaryFile(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-hdr-\(UUID())-\(name)")
    }

    /// A 37 x 5 image with runs (constant spans, for the run-length coder), zeros and values from
    /// 1e-3 to 3e4.
    func sample() -> HDRImage {
        var image = HDRImage(width: 37, height: 5)
        for y in 0..<5 {
            for x in 0..<37 {
                if x < 12 { image[x, y] = SIMD3(0.25, 0.5, 1) * Float(y + 1); continue }   // a run
                if x == 12 { continue }                                                   // black
                let k = Float(x * 7 + y * 13)
                image[x, y] = SIMD3(pow(10, (k.truncatingRemainder(dividingBy: 7.3)) - 3),
                                    0.3 + k.truncatingRemainder(dividingBy: 1.7), 1e-3 * k)
            }
        }
        return image
    }

    /// RGBE keeps 8 bits of mantissa relative to the texel's largest channel.
    func assertRGBEClose(_ a: HDRImage, _ b: HDRImage, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.width, b.width, file: file, line: line)
        XCTAssertEqual(a.height, b.height, file: file, line: line)
        guard a.width == b.width, a.height == b.height else { return }
        for y in 0..<a.height {
            for x in 0..<a.width {
                let p = a[x, y], q = b[x, y]
                let scale = max(p.max(), 1e-30)
                let d = p - q
                XCTAssertLessThanOrEqual(max(abs(d.x), abs(d.y), abs(d.z)), scale / 128, "texel (\(x), \(y)): \(p) vs \(q)", file: file, line: line)
            }
        }
    }

    func testRadianceRoundTripRunLengthAndFlat() throws {
        let image = sample()
        let rle = image.encodeRadiance(runLength: true), flat = image.encodeRadiance(runLength: false)
        let header = "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 5 +X 37\n".utf8.count
        XCTAssertEqual(flat.count, header + 37 * 5 * 4)
        XCTAssertLessThan(rle.count, flat.count, "the runs compress")
        XCTAssertEqual([UInt8](rle[header..<(header + 4)]), [2, 2, 0, 37], "new-style run-length scanline marker")
        assertRGBEClose(try HDRImage.decodeRadiance(rle, path: "rle.hdr"), image)
        assertRGBEClose(try HDRImage.decodeRadiance(flat, path: "flat.hdr"), image)
        // through a file and `read` (format by magic, not by name)
        let url = temporaryFile("map.bin")
        defer { try? FileManager.default.removeItem(at: url) }
        try rle.write(to: url)
        assertRGBEClose(try HDRImage.read(url), image)
    }

    /// Bytes assembled by hand: (c + 0.5) 2^(e - 136), e = 0 is black, an old-style run (1, 1, 1, n)
    /// repeats the previous texel n times, and +Y files list the bottom row first.
    func testRadianceTexelFormulaOldRunsAndOrientation() throws {
        func file(_ resolution: String, _ texels: [UInt8]) -> Data {
            Data("#?RGBE\nEXPOSURE=2.0\nFORMAT=32-bit_rle_rgbe\n\n\(resolution)\n".utf8) + Data(texels)
        }
        let flat = try HDRImage.decodeRadiance(file("-Y 2 +X 3", [128, 64, 0, 129, 1, 1, 1, 2,
                                                                  10, 20, 30, 0, 255, 0, 0, 136, 0, 0, 255, 120]),
                                               path: "t.hdr")
        XCTAssertEqual(flat.width, 3)
        XCTAssertEqual(flat.height, 2)
        XCTAssertEqual(flat[0, 0], SIMD3(128.5, 64.5, 0.5) / 128)
        XCTAssertEqual(flat[1, 0], flat[0, 0])
        XCTAssertEqual(flat[2, 0], flat[0, 0])
        XCTAssertEqual(flat[0, 1], .zero)
        XCTAssertEqual(flat[1, 1], SIMD3(255.5, 0.5, 0.5))
        XCTAssertEqual(flat[2, 1], SIMD3(0.5, 0.5, 255.5) / 65536)
        let bottomUp = try HDRImage.decodeRadiance(file("+Y 2 +X 1", [128, 0, 0, 129, 0, 128, 0, 129]), path: "b.hdr")
        XCTAssertEqual(bottomUp[0, 0], SIMD3(0.5, 128.5, 0.5) / 128, "the file's second scanline is the top row")
        XCTAssertEqual(bottomUp[0, 1], SIMD3(128.5, 0.5, 0.5) / 128)
        XCTAssertThrowsError(try HDRImage.decodeRadiance(file("-Y 2 +X 3", [1, 2, 3]), path: "short.hdr")) { error in
            XCTAssertTrue("\(error)".contains("short.hdr"), "\(error)")
        }
        XCTAssertThrowsError(try HDRImage.decodeRadiance(file("+X 3 -Y 2", []), path: "x.hdr"))
    }

    func testEXRRoundTripFloatAndHalf() throws {
        let image = sample()
        for fullFloat in [true, false] {
            let url = temporaryFile(fullFloat ? "float.exr" : "half.exr")
            defer { try? FileManager.default.removeItem(at: url) }
            try image.writeEXR(to: url, fullFloat: fullFloat)
            let back = try HDRImage.read(url)
            XCTAssertEqual(back.width, 37)
            XCTAssertEqual(back.height, 5)
            if fullFloat {
                XCTAssertEqual(back, image)
            } else {
                for (a, b) in zip(back.pixels, image.pixels) {
                    XCTAssertEqual(a, b, accuracy: max(abs(b) / 1000, 6e-8), "half keeps 11 bits")
                }
            }
        }
        let missing = temporaryFile("missing.exr")
        XCTAssertThrowsError(try HDRImage.readEXR(missing)) { error in
            XCTAssertTrue("\(error)".contains(missing.path), "\(error)")
        }
        let text = temporaryFile("text.exr")
        defer { try? FileManager.default.removeItem(at: text) }
        try Data("not an image".utf8).write(to: text)
        XCTAssertThrowsError(try HDRImage.read(text)) { error in
            XCTAssertTrue("\(error)".contains("neither OpenEXR nor Radiance"), "\(error)")
        }
    }

    /// Debian's blender-data (Scripts/setup installs it) ships eight CC0 1024 x 512 world HDRIs as
    /// OpenEXR; its absence is a broken machine, not a skip.
    func testBlenderWorldHDRIsRead() throws {
        let folder = "/usr/share/blender/datafiles/studiolights/world"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".exr") }
        guard names.count == 8 else {
            return XCTFail("expected blender-data's 8 world HDRIs in \(folder), found \(names.count): apt-get install blender-data")
        }
        for name in names.sorted() {
            let image = try HDRImage.read(URL(fileURLWithPath: folder).appendingPathComponent(name))
            XCTAssertEqual(image.width, 2 * image.height, name)
            XCTAssertTrue(image.pixels.allSatisfy { $0.isFinite && $0 > -0.01 }, "\(name): finite, a few tiny negatives at most")
            XCTAssertGreaterThan(image.pixels.max() ?? 0, 10, "\(name) holds bright light sources")
        }
    }
}

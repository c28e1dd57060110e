// Texture formats of real assets (Scripts/fixtures/make_image_format_fixtures.py): TGA, BMP and SGI
// files written by Pillow and by hand decode pixel for pixel as the same picture saved as PNG;
// truncated, corrupted and oversized files throw an error naming the file and never crash.

import Foundation
import Imaging
import XCTest

final class ImageFormatTests: XCTestCase {
    static let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("formats")

    /// Each file, the reference PNG it must equal, and the channels it decodes to.
    static let cases: [(file: String, reference: String, channels: Int)] = [
        ("rgb.tga", "rgb", 3), ("rgb_top.tga", "rgb", 3), ("rgb_rle.tga", "rgb", 3),
        ("rgba.tga", "rgba", 4), ("rgba_rle_top.tga", "rgba", 4),
        ("gray.tga", "gray", 1), ("gray_rle.tga", "gray", 1), ("gray_alpha.tga", "gray_alpha", 2),
        ("palette.tga", "palette", 3), ("palette_rle.tga", "palette", 3),
        ("rgb555_rle_topright.tga", "rgb555", 3),
        ("rgb.bmp", "rgb", 3), ("rgb_topdown.bmp", "rgb", 3), ("rgba.bmp", "rgba", 4),
        ("gray.bmp", "gray", 3), ("palette.bmp", "palette", 3), ("palette4.bmp", "palette", 3),
        ("palette_rle8.bmp", "palette", 3), ("bw.bmp", "bw", 3), ("rgb565.bmp", "rgb565", 3),
        ("gray.bw", "gray", 1), ("gray_rle.bw", "gray", 1), ("rgb.rgb", "rgb", 3), ("rgb_rle.rgb", "rgb", 3),
        ("rgba.rgba", "rgba", 4), ("rgba_rle.sgi", "rgba", 4), ("gray_alpha.inta", "gray_alpha", 2),
        ("gray_alpha_rle.inta", "gray_alpha", 2), ("rgb16.sgi", "rgb", 3), ("rgb16_rle.sgi", "rgb", 3),
    ]

    func data(_ name: String) throws -> Data { try Data(contentsOf: Self.folder.appendingPathComponent(name)) }

    /// Every fixture decodes to its reference, compared as RGBA (gray replicated, alpha 255 where
    /// the file has none), with the channel count checked separately.
    func testFixturesMatchTheirPNGs() throws {
        for (file, reference, channels) in Self.cases {
            let decoded = try ImageFile.decode(try data(file), name: file)
            let expected = try PNG.decode(try data("ref_\(reference).png"))
            XCTAssertEqual(decoded.channels, channels, file)
            XCTAssertEqual([decoded.width, decoded.height], [expected.width, expected.height], file)
            XCTAssertEqual(Self.rgba(decoded), Self.rgba(expected), file)
        }
    }

    /// Magic bytes decide before the name; TGA (no magic) goes by its extension or its TGA 2.0 footer.
    func testFormatComesFromMagicBytesThenName() throws {
        let png = try data("ref_rgb.png"), tga = try data("rgb.tga").dropLast(26)   // without Pillow's TGA 2.0 footer
        XCTAssertEqual(ImageFile.format(of: png, name: "texture.tga"), .png)
        XCTAssertEqual(ImageFile.format(of: try data("rgb.bmp"), name: "texture.png"), .bmp)
        XCTAssertEqual(ImageFile.format(of: try data("rgb.rgb"), name: "texture"), .sgi)
        XCTAssertEqual(ImageFile.format(of: tga, name: "a/b/TEXTURE.TGA"), .tga)
        XCTAssertEqual(ImageFile.format(of: try data("rgb555_rle_topright.tga"), name: "texture.bin"), .tga)
        XCTAssertNil(ImageFile.format(of: tga, name: "texture.bin"))
        // Embedded textures (assimp's "*0") have no extension: a consistent TGA header decides.
        for (file, _, _) in Self.cases where file.hasSuffix(".tga") {
            XCTAssertEqual(ImageFile.format(of: try data(file).dropLast(26), name: "*0"), .tga, file)
        }
        XCTAssertNil(ImageFile.format(of: Data("not an image at all, though long enough".utf8), name: "*1"))
        XCTAssertNil(ImageFile.format(of: tga.prefix(100), name: "*2"), "too short for its uncompressed pixels")
        XCTAssertEqual(try ImageFile.decode(png, name: "misnamed.tga"), try PNG.decode(png))
        XCTAssertThrowsError(try ImageFile.decode(tga, name: "texture.bin")) { error in
            XCTAssertTrue("\(error)".contains("texture.bin: not a PNG, JPEG, BMP, SGI or TGA file"), "\(error)")
        }
    }

    /// Every prefix of every fixture throws an `ImageError` naming the file, except prefixes that
    /// lose only what follows the pixels (a BMP's last row padding, a TGA 2.0 footer), which
    /// decode to the full image.
    func testTruncatedFilesThrowNamingTheFile() throws {
        for (file, _, _) in Self.cases {
            let whole = try data(file)
            let full = try ImageFile.decode(whole, name: file)
            for length in 0..<whole.count {
                do {
                    let image = try ImageFile.decode(whole.prefix(length), name: file)
                    XCTAssertGreaterThanOrEqual(length, whole.count - 26, "\(file) decoded from \(length) of \(whole.count) bytes")
                    XCTAssertEqual(image, full, "\(file) from \(length) bytes")
                } catch let error as ImageError {
                    XCTAssertTrue(error.description.contains(file), "\(file): \(error)")
                }
            }
        }
    }

    /// Random bytes changed in every fixture, 300 times each: decoding throws or returns an image,
    /// never traps or reads out of bounds (bounds are checked by Swift in this debug build).
    func testCorruptedFilesNeverCrash() throws {
        var state: UInt64 = 25
        func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        for (file, _, _) in Self.cases {
            let whole = [UInt8](try data(file))
            for _ in 0..<300 {
                var bytes = whole
                for _ in 0..<(1 + next(4)) {
                    // Mostly the header, where sizes, types and offsets live.
                    let at = next(4) == 0 ? next(bytes.count) : next(min(bytes.count, 64))
                    bytes[at] = next(3) == 0 ? UInt8(next(256)) : bytes[at] ^ UInt8(1 << next(8))
                }
                do {
                    let image = try ImageFile.decode(Data(bytes), name: file)
                    XCTAssertEqual(image.pixels.count, image.width * image.height * image.channels)
                } catch let error as ImageError {
                    XCTAssertTrue(error.description.contains(file), "\(file): \(error)")
                }
            }
        }
        for magic in [[0x42, 0x4D], [0x01, 0xDA], []] as [[UInt8]] {
            for length in [0, 1, 2, 17, 18, 54, 511, 512, 600] {
                let bytes = magic + (0..<max(0, length - magic.count)).map { _ in UInt8(next(256)) }
                _ = try? ImageFile.decode(Data(bytes), name: "garbage.tga")
            }
        }
    }

    /// A TGA 2.0 extension area decides what the alpha bits mean (Pillow honours "no alpha" too):
    /// 0 (none) and 1, 2 (undefined data) give opaque pixels, 3 keeps alpha, 4 (premultiplied)
    /// is divided out; without one, alpha is kept unless it is 0 everywhere.
    func testTGAExtensionAreaDecidesAlpha() throws {
        func tga(alpha: [UInt8], attributes: UInt8?) -> Data {
            var bytes: [UInt8] = [0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0, 32, 0x28]   // 2 x 1, top-left
            bytes += [40, 80, 120, alpha[0], 40, 80, 120, alpha[1]]                          // BGRA
            if let attributes {
                let offset = UInt32(bytes.count)
                var extensionArea = [UInt8](repeating: 0, count: 495)
                extensionArea[0] = 0xEF; extensionArea[1] = 0x01                               // its size, 495
                extensionArea[494] = attributes
                bytes += extensionArea
                bytes += withUnsafeBytes(of: offset.littleEndian, Array.init) + [0, 0, 0, 0] + Array("TRUEVISION-XFILE.\0".utf8)
            }
            return Data(bytes)
        }
        func decoded(_ data: Data) throws -> [UInt8] { try TGA.decode(data, path: "a.tga").pixels }
        XCTAssertEqual(try decoded(tga(alpha: [128, 7], attributes: nil)), [120, 80, 40, 128, 120, 80, 40, 7])
        XCTAssertEqual(try decoded(tga(alpha: [0, 0], attributes: nil)), [120, 80, 40, 255, 120, 80, 40, 255])
        for attributes: UInt8 in [0, 1, 2] {
            XCTAssertEqual(try decoded(tga(alpha: [128, 7], attributes: attributes)), [120, 80, 40, 255, 120, 80, 40, 255])
        }
        XCTAssertEqual(try decoded(tga(alpha: [128, 0], attributes: 3)), [120, 80, 40, 128, 120, 80, 40, 0])
        XCTAssertEqual(try decoded(tga(alpha: [128, 255], attributes: 4)), [239, 159, 80, 128, 120, 80, 40, 255])
    }

    /// Headers that claim huge images over a few bytes of data are refused before any allocation.
    func testHugeClaimedSizesAreRefused() {
        var tga = [UInt8](repeating: 0, count: 18) + [UInt8](repeating: 0xFF, count: 64)
        tga[2] = 10; tga[13] = 0x40; tga[15] = 0x40; tga[16] = 24                       // 16384 x 16384, RLE
        var bmp = [UInt8](repeating: 0, count: 54 + 64)
        bmp[0] = 0x42; bmp[1] = 0x4D; bmp[10] = 54; bmp[14] = 40
        bmp[18] = 0x00; bmp[19] = 0x40; bmp[22] = 0x00; bmp[23] = 0x40; bmp[28] = 24   // 16384 x 16384
        var sgi = [UInt8](repeating: 0, count: 512 + 64)
        sgi[0] = 0x01; sgi[1] = 0xDA; sgi[2] = 1; sgi[3] = 1; sgi[5] = 3
        sgi[6] = 0x40; sgi[8] = 0x40; sgi[11] = 3                                         // 16384 x 16384 x 3
        var tooLarge = bmp
        tooLarge[20] = 1                                                                    // 16384 + 2^16 wide
        for (name, bytes, reason) in [("huge.tga", tga, "truncated"), ("huge.bmp", bmp, "truncated"),
                                      ("huge.sgi", sgi, "truncated"), ("wide.bmp", tooLarge, "size")] {
            XCTAssertThrowsError(try ImageFile.decode(Data(bytes), name: name), name) { error in
                XCTAssertTrue("\(error)".contains(name) && "\(error)".contains(reason), "\(error)")
            }
        }
    }

    /// Samples as RGBA: gray replicated, a missing alpha 255.
    static func rgba(_ image: Image8) -> [UInt8] {
        (0..<(image.width * image.height)).flatMap { i -> [UInt8] in
            let p = Array(image.pixels[(i * image.channels)..<((i + 1) * image.channels)])
            switch image.channels {
            case 1: return [p[0], p[0], p[0], 255]
            case 2: return [p[0], p[0], p[0], p[1]]
            case 3: return p + [255]
            default: return p
            }
        }
    }
}

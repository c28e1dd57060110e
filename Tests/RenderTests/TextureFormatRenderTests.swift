// A model whose MTL names a TGA texture (map_Kd) renders with the texture's colour, exactly as the
// same texture saved as PNG: MeshLoader reads textures through Imaging's `ImageFile.decode`.

import Foundation
import Imaging
@testable import Render
import XCTest

final class TextureFormatRenderTests: XCTestCase {
    func testOBJWithTGATextureRendersItsColour() throws {
        let folder = temporaryFolder("tga-texture-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }

        // A 4 x 4 texture of one sRGB colour: run-length TGA (one packet of 16 BGR pixels) and PNG.
        let color: [UInt8] = [200, 60, 30]
        var tga: [UInt8] = [0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 4, 0, 24, 0]
        tga += [0x80 | 15, color[2], color[1], color[0]]
        try Data(tga).write(to: folder.appendingPathComponent("wood.tga"))
        try PNG.write(Image8(width: 4, height: 4, channels: 3, pixels: Array((0..<16).map { _ in color }.joined())),
                      to: folder.appendingPathComponent("wood.png"))

        var images: [Image8] = []
        for texture in ["wood.tga", "wood.png"] {
            let name = (texture as NSString).pathExtension
            try "newmtl wood\nKd 1 1 1\nmap_Kd \(texture)\n"
                .write(to: folder.appendingPathComponent("\(name).mtl"), atomically: true, encoding: .utf8)
            try Self.cubeOBJ(mtl: "\(name).mtl").write(to: folder.appendingPathComponent("\(name).obj"), atomically: true, encoding: .utf8)
            let loaded = try MeshLoader.load(folder.appendingPathComponent("\(name).obj"))
            XCTAssertTrue(loaded.warnings.isEmpty, "\(texture): \(loaded.warnings)")
            XCTAssertEqual(loaded.mesh.textures.count, 1, texture)
            let camera = Camera(elevationDegrees: 20, azimuthDegrees: 30, distance: 3, fovDegrees: 40, width: 48, height: 48)
            images.append(Shader(mesh: loaded.mesh).render(camera, supersampling: 2, background: .transparent,
                                                           depth: nil, normals: false).color)
        }
        XCTAssertEqual(images[0], images[1], "the TGA texture renders as the same PNG texture")
        let centre = (24 * 48 + 24) * images[0].channels
        let (r, g, b) = (images[0].pixels[centre], images[0].pixels[centre + 1], images[0].pixels[centre + 2])
        XCTAssertEqual(images[0].pixels[centre + 3], 255)
        XCTAssertTrue(r > g && g > b && Int(r) - Int(b) > 60, "the texture's red-brown, not the grey default: \(r), \(g), \(b)")
    }

    /// A unit cube, every face mapped onto the whole texture.
    static func cubeOBJ(mtl: String) -> String {
        var text = "mtllib \(mtl)\nusemtl wood\n"
        for z in [-0.5, 0.5] { for y in [-0.5, 0.5] { for x in [-0.5, 0.5] { text += "v \(x) \(y) \(z)\n" } } }
        text += "vt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\n"
        // Faces as corner indices (1-based, x fastest), counter-clockwise seen from outside.
        for face in [[1, 3, 4, 2], [5, 6, 8, 7], [1, 2, 6, 5], [3, 7, 8, 4], [1, 5, 7, 3], [2, 4, 8, 6]] {
            text += "f \(face[0])/1 \(face[1])/2 \(face[2])/3\nf \(face[0])/1 \(face[2])/3 \(face[3])/4\n"
        }
        return text
    }
}

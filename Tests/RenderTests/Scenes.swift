// Hand-built scenes for the renderer tests: a unit cube, a UV sphere, single triangles and a
// checker-textured quad, all in the renderer's Z-up world.

import Foundation
import Imaging
@testable import Render

enum Scenes {
    /// The axis-aligned cube [-h, h]^3 as 12 triangles.
    static func cube(half h: Float = 0.5) -> Mesh {
        var mesh = Mesh()
        for x in [-h, h] { for y in [-h, h] { for z in [-h, h] { mesh.addVertex(Vec3(x, y, z)) } } }
        // vertex index = 4 * ix + 2 * iy + iz
        let quads = [[0, 1, 3, 2], [4, 6, 7, 5], [0, 4, 5, 1], [2, 3, 7, 6], [0, 2, 6, 4], [1, 5, 7, 3]]
        for q in quads {
            mesh.addTriangle(q[0], q[1], q[2])
            mesh.addTriangle(q[0], q[2], q[3])
        }
        return mesh
    }

    /// A UV sphere of `radius` at the origin with exact vertex normals.
    static func sphere(radius r: Float, rings: Int = 96, segments: Int = 192) -> Mesh {
        var mesh = Mesh()
        for i in 0...rings {
            let theta = Float.pi * Float(i) / Float(rings)
            for j in 0...segments {
                let phi = 2 * Float.pi * Float(j) / Float(segments)
                let n = Vec3(sin(theta) * cos(phi), sin(theta) * sin(phi), cos(theta))
                mesh.addVertex(n * r, normal: n)
            }
        }
        for i in 0..<rings {
            for j in 0..<segments {
                let a = i * (segments + 1) + j, b = a + segments + 1
                mesh.addTriangle(a, b, b + 1)
                mesh.addTriangle(a, b + 1, a + 1)
            }
        }
        return mesh
    }

    /// One triangle with the given corners.
    static func triangle(_ a: Vec3, _ b: Vec3, _ c: Vec3) -> Mesh {
        var mesh = Mesh()
        mesh.addVertex(a)
        mesh.addVertex(b)
        mesh.addVertex(c)
        mesh.addTriangle(0, 1, 2)
        return mesh
    }

    /// The square [-0.5, 0.5]^2 in the plane z = 0 with an n x n checker (black / white, top-left
    /// cell of the image white; 16 x 16 texels a cell so bilinear filtering only blurs the cell
    /// borders) mapped once over it: uv = (x + 0.5, y + 0.5).
    static func checkerQuad(cells n: Int) -> Mesh {
        let texels = 16
        var mesh = Mesh()
        for (x, y) in [(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)] as [(Float, Float)] {
            mesh.addVertex(Vec3(x, y, 0), normal: Vec3(0, 0, 1), uv: SIMD2(x + 0.5, y + 0.5))
        }
        mesh.addTriangle(0, 1, 2)
        mesh.addTriangle(0, 2, 3)
        let side = n * texels
        mesh.textures = [Texture(width: side, height: side, texels: (0..<(side * side)).map { i in
            checkerIsWhite(column: i % side / texels, row: i / side / texels) ? SIMD4(1, 1, 1, 1) : SIMD4(0, 0, 0, 1)
        })]
        mesh.materials = [Material(baseColor: SIMD4(1, 1, 1, 1), texture: 0)]
        return mesh
    }

    /// Checker colour of texture cell (column, row), row 0 = top row of the texture image.
    static func checkerIsWhite(column: Int, row: Int) -> Bool { (column + row) % 2 == 0 }
}

/// Alpha channel of an RGBA image as coverage in [0, 1].
func coverage(_ image: Image8) -> [Float] {
    (0..<(image.width * image.height)).map { Float(image.pixels[$0 * 4 + 3]) / 255 }
}

func temporaryFolder(_ name: String) -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("svdmv-render-tests-\(ProcessInfo.processInfo.processIdentifier)-\(name)")
    try? FileManager.default.removeItem(at: url)
    return url
}

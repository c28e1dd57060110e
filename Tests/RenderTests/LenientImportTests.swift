// The lenient import (MeshLoader + Sources/CAssimpImport) on small OBJ files written here: line and
// point primitives are dropped with a warning, two-index `f a b` faces (which assimp 5.2.5's OBJ
// importer flags as triangles, so that its validation refused 22 of sweethome3d-furniture's 820
// models) no longer fail the file, degenerate triangles are dropped and counted, and NaN or huge
// coordinates, empty files, line-only files and missing files fail with one manifest line.

import Foundation
import Imaging
@testable import Render
import XCTest

final class LenientImportTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = temporaryFolder("lenient-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    func write(_ name: String, _ text: String) throws -> URL {
        let url = folder.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func loadError(_ url: URL) -> String? {
        do {
            _ = try MeshLoader.load(url)
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// `l` polylines and `p` points mixed with faces: the three triangles load, the 2 + 1 + 1
    /// line segments (a two-index `f` counts as a line) and 1 + 2 points are counted.
    func testLinesAndPointsAreDroppedWithAWarning() throws {
        let url = try write("mixed.obj", """
            v 0 0 0
            v 1 0 0
            v 0 1 0
            v 0 0 1
            v 1 1 1
            f 1 2 3
            l 2 3 4
            f 1 2 4
            l 1 5
            p 5
            p 1 2
            f 3 5
            f 1 3 4
            """)
        let loaded = try MeshLoader.load(url)
        XCTAssertEqual(loaded.mesh.triangleCount, 3)
        XCTAssertTrue(loaded.warnings.contains("dropped 4 line and 3 point primitives (only triangles are drawn)"),
                      "\(loaded.warnings)")
    }

    /// The sweethome3d-furniture failure: a material group of triangles with two-index `f` faces
    /// and no `l` (assimp flags the mesh TRIANGLE only, and its validation refuses the file:
    /// "aiMesh::mFaces[1] is a LINE but aiMesh::mPrimitiveTypes does not report the LINE flag").
    /// The flags are recomputed, the scene validated again, the two lines dropped.
    func testTwoIndexFacesInATriangleMeshAreRepaired() throws {
        _ = try write("edges.mtl", "newmtl red\nKd 1 0 0\nnewmtl blue\nKd 0 0 1\n")
        let url = try write("edges.obj", """
            mtllib edges.mtl
            o Table
            v 0 0 0
            v 1 0 0
            v 1 1 0
            v 0 1 0
            v 0 0 1
            usemtl red
            f 1 2 3
            f 2 3
            f 1 3 4
            f 4 1
            usemtl blue
            f 1 2 5
            """)
        let loaded = try MeshLoader.load(url)
        XCTAssertEqual(loaded.mesh.triangleCount, 3)
        XCTAssertEqual(Set(loaded.mesh.materials.map(\.baseColor)).count, 3, "grey default, red and blue")
        XCTAssertTrue(loaded.warnings.contains("dropped 2 line and 0 point primitives (only triangles are drawn)"),
                      "\(loaded.warnings)")
        XCTAssertTrue(loaded.warnings.contains { $0.hasPrefix("repaired the primitive-type flags of 1 meshes") },
                      "\(loaded.warnings)")
    }

    /// Nothing but lines and points: one line naming both counts and assimp's own words.
    func testOnlyLinesAndPointsFail() throws {
        let lines = try write("lines.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nl 1 2 3\np 1\n")
        XCTAssertEqual(loadError(lines), "\(lines.path): no renderable meshes: 2 line and 1 point primitives not drawn "
                                         + "(assimp: No meshes remaining)")
        let edges = try write("edges-only.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2\nf 2 3\n")
        XCTAssertEqual(loadError(edges), "\(edges.path): no renderable meshes: 2 line and 0 point primitives not drawn "
                                         + "(assimp: No meshes remaining)")
    }

    /// A repeated corner and three collinear corners are dropped and counted; with nothing else
    /// left the file fails.
    func testDegenerateTrianglesAreDroppedAndCounted() throws {
        let url = try write("degenerate.obj", """
            v 0 0 0
            v 1 0 0
            v 0 1 0
            v 2 0 0
            v 0 0 1
            f 1 2 3
            f 1 2 4
            f 1 1 3
            f 2 3 5
            """)
        let loaded = try MeshLoader.load(url)
        XCTAssertEqual(loaded.mesh.triangleCount, 2)
        XCTAssertTrue(loaded.warnings.contains("dropped 2 degenerate (zero-area) triangles"), "\(loaded.warnings)")
        let all = try write("all-degenerate.obj", "v 0 0 0\nv 1 0 0\nv 2 0 0\nf 1 2 3\nf 1 1 2\n")
        XCTAssertEqual(loadError(all), "\(all.path): no renderable triangles (2 degenerate triangles dropped)")
    }

    /// A NaN position deletes its mesh in assimp (FindInvalidData): a warning while another mesh
    /// remains, one error line otherwise. Vertices past 1e18 are skipped with their faces and keep
    /// out of the normalisation box; a file of nothing else fails.
    func testNaNAndHugeCoordinates() throws {
        let twoObjects = try write("some-nan.obj", """
            o good
            v 0 0 0
            v 1 0 0
            v 0 1 0
            f 1 2 3
            o bad
            v nan 0 0
            v 0 0 1
            v 1 0 1
            f 4 5 6
            """)
        let loaded = try MeshLoader.load(twoObjects)
        XCTAssertEqual(loaded.mesh.triangleCount, 1)
        XCTAssertTrue(loaded.warnings.contains("assimp removed 1 meshes with NaN or infinite vertex positions"),
                      "\(loaded.warnings)")
        let allNaN = try write("all-nan.obj", "v nan 0 0\nv 1 nan 0\nv 0 1 nan\nf 1 2 3\n")
        XCTAssertEqual(loadError(allNaN), "\(allNaN.path): no renderable meshes: 1 meshes with NaN or infinite vertex "
                                          + "positions removed (assimp: No meshes remaining)")

        let someHuge = try write("some-huge.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1e30 0 0\nv 0 0 1\nf 1 2 3\nf 1 4 5\n")
        var huge = try MeshLoader.load(someHuge)
        XCTAssertEqual(huge.mesh.triangleCount, 1)
        XCTAssertTrue(huge.warnings.contains("skipped 1 faces with bad indices or non-finite or huge coordinates"),
                      "\(huge.warnings)")
        let (scale, _) = try huge.normalize(.objaverse, path: someHuge.path)
        XCTAssertEqual(scale, 1, accuracy: 1e-9, "the box is the unit triangle's, without the 1e30 vertex")
        let allHuge = try write("all-huge.obj", "v 3e38 0 0\nv -3e38 0 0\nv 0 1e30 0\nf 1 2 3\n")
        XCTAssertEqual(loadError(allHuge), "\(allHuge.path): no renderable triangles (1 faces with bad indices or "
                                           + "non-finite or huge (> 1e+18) coordinates skipped)")
    }

    /// Textures past the size cap are halved while they are converted to linear texels (an 8K map
    /// never exists at 16 bytes a texel): the same texels as converting and then halving, for odd
    /// sizes and every channel count.
    func testHalvingWhileConvertingMatchesConvertingThenHalving() {
        for (width, height, channels) in [(5, 3, 1), (4, 4, 2), (7, 2, 3), (3, 5, 4), (1, 1, 4)] {
            let pixels = (0..<(width * height * channels)).map { UInt8(truncatingIfNeeded: $0 &* 97 &+ 13) }
            let image = Image8(width: width, height: height, channels: channels, pixels: pixels)
            let direct = SceneBuilder.linearTexture(image, halved: true)
            let twoSteps = SceneBuilder.linearTexture(image, halved: false).halved()
            XCTAssertEqual([direct.width, direct.height], [twoSteps.width, twoSteps.height])
            XCTAssertEqual(direct.texels, twoSteps.texels, "\(width)x\(height)x\(channels)")
        }
    }

    /// Through a batch (a list with a missing file, an empty file, and the broken files above):
    /// each failure is one manifest line `error: FILE: reason`, each success has finite pixels and
    /// its warnings in cameras.json.
    func testBrokenFilesGiveOneManifestLineEach() throws {
        _ = try write("empty.obj", "")
        _ = try write("lines.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nl 1 2 3\n")
        _ = try write("all-nan.obj", "v nan 0 0\nv 1 nan 0\nv 0 1 nan\nf 1 2 3\n")
        _ = try write("mixed.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 2 3\nf 3 4\nl 1 4\nf 1 2 4\n")
        let list = try write("list.txt", "missing.obj\nempty.obj\nlines.obj\nall-nan.obj\nmixed.obj\n")
        let out = folder.appendingPathComponent("out")
        var options = RenderOptions()
        options.views = 2
        options.size = 16
        options.samples = 1
        let items = try Batch.items(from: list)
        let result = try Batch.run(items, output: out, shard: .all, jobs: 1, work: Batch.inProcess(options: options))
        XCTAssertEqual([result.ok, result.failed], [1, 4])
        let manifest = try String(contentsOf: out.appendingPathComponent("manifest.tsv"), encoding: .utf8)
        var reasons: [String: String] = [:]
        for line in manifest.split(separator: "\n") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            XCTAssertEqual(fields.count, 3, String(line))
            guard fields.count == 3 else { continue }
            reasons[fields[0]] = fields[1]
            if fields[1] != "ok" {
                XCTAssertTrue(fields[1].hasPrefix("error: ") && fields[1].contains(fields[2]), fields[1])
            }
        }
        XCTAssertEqual(reasons["missing.obj"]?.hasPrefix("error: "), true, "\(reasons)")
        XCTAssertEqual(reasons["missing.obj"]?.contains("missing.obj"), true, "\(reasons)")
        XCTAssertEqual(reasons["empty.obj"]?.contains("empty.obj: assimp: "), true, "\(reasons)")
        XCTAssertEqual(reasons["lines.obj"]?.contains("no renderable meshes: 2 line and 0 point"), true, "\(reasons)")
        XCTAssertEqual(reasons["all-nan.obj"]?.contains("1 meshes with NaN or infinite vertex positions"), true,
                       "\(reasons)")
        XCTAssertEqual(reasons["mixed.obj"], "ok")
        let json = try XCTUnwrap(JSONSerialization.jsonObject(
            with: Data(contentsOf: out.appendingPathComponent("mixed.obj/cameras.json"))) as? [String: Any])
        XCTAssertEqual(json["non_finite_samples"] as? Int, 0)
        XCTAssertEqual(json["warnings"] as? [String], ["dropped 2 line and 0 point primitives (only triangles are drawn)"])
    }
}

// The scene normalisation of the Objaverse rendering scripts (allenai/objaverse-xl
// scripts/rendering/blender_script.py `scene_bbox` / `normalize_scene`) against the tight box, on a
// glTF whose mesh node is rotated and scaled under a translated parent, where the two differ.
//
// The mesh (glTF, Y-up) has vertices (2,0,0), (−1,0,0), (0,1.5,0), (0,−1,0), (0,0,1), (0,0,−1);
// its node scales by 2 and turns 45° about +Y; the parent moves it by T = (3, 1, 0). Worked by
// hand, with R the 45° turn (x' = (x + z)/√2, z' = (z − x)/√2):
//
// Tight box: the six vertices land at (3+2√2, 1, −2√2), (3−√2, 1, √2), (3, 4, 0), (3, −1, 0),
// (3+√2, 1, √2), (3−√2, 1, −√2): x ∈ [3−√2, 3+2√2], y ∈ [−1, 4], z ∈ [−2√2, √2]; sides 3√2, 5,
// 3√2, so scale = 1/5; centre (3+√2/2, 1.5, −√2/2), Z-up (x, −z, y): (3+√2/2, √2/2, 1.5), and
// offset = −centre/5 = (−0.7414214, −0.1414214, −0.3).
//
// Objaverse box: the local box x ∈ [−1, 2], y ∈ [−1, 1.5], z ∈ [−1, 1], scaled by 2 and turned:
// x' ∈ [−2√2, 3√2], z' ∈ [−3√2, 2√2], y ∈ [−2, 3]; moved by T: sides 5√2, 5, 5√2, so
// scale = 1/(5√2) = 0.1414214; the same centre, so offset = −centre/(5√2) =
// (−0.5242641, −0.1, −0.2121320).

import Cameras
import Foundation
@testable import Render
import XCTest

final class NormalizationTests: XCTestCase {
    /// The scene above as a self-contained .gltf (positions and indices in a base64 buffer).
    func writeScene() throws -> URL {
        let positions: [Float] = [2, 0, 0, -1, 0, 0, 0, 1.5, 0, 0, -1, 0, 0, 0, 1, 0, 0, -1]
        let indices: [UInt16] = [0, 2, 4, 4, 2, 1, 1, 2, 5, 5, 2, 0, 4, 3, 0, 1, 3, 4, 5, 3, 1, 0, 3, 5]
        var buffer = Data()
        positions.forEach { withUnsafeBytes(of: $0.bitPattern.littleEndian) { buffer.append(contentsOf: $0) } }
        indices.forEach { withUnsafeBytes(of: $0.littleEndian) { buffer.append(contentsOf: $0) } }
        let s = sin(Double.pi / 8), c = cos(Double.pi / 8)
        let json = """
            {"asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}],
             "nodes": [{"translation": [3, 1, 0], "children": [1]},
                       {"mesh": 0, "rotation": [0, \(s), 0, \(c)], "scale": [2, 2, 2]}],
             "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1}]}],
             "accessors": [{"bufferView": 0, "componentType": 5126, "count": 6, "type": "VEC3",
                            "min": [-1, -1, -1], "max": [2, 1.5, 1]},
                           {"bufferView": 1, "componentType": 5123, "count": 24, "type": "SCALAR"}],
             "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": 72},
                             {"buffer": 0, "byteOffset": 72, "byteLength": 48}],
             "buffers": [{"byteLength": \(buffer.count), "uri": "data:application/octet-stream;base64,\(buffer.base64EncodedString())"}]}
            """
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-normalize-\(UUID().uuidString).gltf")
        try Data(json.utf8).write(to: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func assertNormalization(_ rule: NormalizationRule, scale: Double, offset: SIMD3<Double>, file: URL,
                             line: UInt = #line) throws {
        var loaded = try MeshLoader.load(file)
        let (s, o) = try loaded.normalize(rule, path: file.path)
        XCTAssertEqual(s, scale, accuracy: 1e-6, "\(rule) scale", line: line)
        for i in 0..<3 { XCTAssertEqual(o[i], offset[i], accuracy: 1e-6, "\(rule) offset[\(i)]", line: line) }
    }

    func testObjaverseBoxDiffersFromTheTightBoxForARotatedNode() throws {
        let file = try writeScene()
        try assertNormalization(.tightBox, scale: 0.2, offset: SIMD3(-0.7414214, -0.1414214, -0.3), file: file)
        try assertNormalization(.objaverse, scale: 0.1414214, offset: SIMD3(-0.5242641, -0.1, -0.2121320), file: file)
        // Normalised by the Objaverse box, the mesh's own tight box is smaller than the unit cube:
        // its sides are 3√2/(5√2) = 0.6 horizontally and 5/(5√2) ≈ 0.707 vertically (Z-up's z).
        var loaded = try MeshLoader.load(file)
        try loaded.normalize(.objaverse, path: file.path)
        let (lo, hi) = try XCTUnwrap(loaded.mesh.bounds)
        XCTAssertEqual(Double(hi.z - lo.z), 5 / (5 * 2.0.squareRoot()), accuracy: 1e-6)
        XCTAssertLessThan(Double((hi - lo).max()), 1)
    }

    /// A file without node transforms (every OBJ) gets the same box either way.
    func testBothRulesAgreeWithoutNodeTransforms() throws {
        let obj = URL(fileURLWithPath: "/usr/share/assimp/models/OBJ/spider.obj")
        var tight = try MeshLoader.load(obj), objaverse = try MeshLoader.load(obj)
        let a = try tight.normalize(.tightBox, path: obj.path), b = try objaverse.normalize(.objaverse, path: obj.path)
        XCTAssertEqual(a.scale, b.scale, accuracy: 1e-6 * a.scale)
        for i in 0..<3 { XCTAssertEqual(a.offset[i], b.offset[i], accuracy: 1e-6) }
    }

    /// cameras.json says which rule placed the mesh, with the scale and offset it used.
    func testTheRenderRecordsTheRule() throws {
        let file = try writeScene()
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-normalize-out-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: out) }
        for rule in NormalizationRule.allCases {
            var options = RenderOptions()
            options.views = 2; options.size = 16; options.samples = 1; options.normalization = rule
            let folder = out.appendingPathComponent(rule.rawValue)
            try RenderJob(input: file, objectID: "scene", outputFolder: folder, options: options).run()
            let cameras = try OrbitCameras.read(folder.appendingPathComponent(OrbitCameras.fileName))
            let record = try XCTUnwrap(cameras.normalization)
            XCTAssertEqual(record.rule, rule.rawValue)
            XCTAssertEqual(record.description, rule.description)
            XCTAssertEqual(record.scale, rule == .objaverse ? 0.1414214 : 0.2, accuracy: 1e-6)
            XCTAssertTrue(record.yUpToZUp)
        }
    }
}

import Foundation
import Shapes
import XCTest

final class ShapesTests: XCTestCase {
    func testObjectsAreDeterministicClosedAndWritten() throws {
        XCTAssertEqual(ProceduralShapes.object(seed: 1, index: 3), ProceduralShapes.object(seed: 1, index: 3))
        XCTAssertNotEqual(ProceduralShapes.object(seed: 1, index: 3), ProceduralShapes.object(seed: 1, index: 4))
        for i in 0..<20 {
            let mesh = ProceduralShapes.object(seed: 7, index: i)
            XCTAssertFalse(mesh.triangles.isEmpty)
            for (t, part) in mesh.triangles {
                XCTAssertTrue([t.x, t.y, t.z].allSatisfy { $0 >= 0 && $0 < mesh.positions.count })
                XCTAssertLessThan(part, mesh.partColors.count)
            }
            // Parts stay near the origin (half-sizes ≤ 0.6·√3 after rotation, offsets ≤ 0.4).
            XCTAssertTrue(mesh.positions.allSatisfy { p in [p.x, p.y, p.z].allSatisfy { $0.isFinite && abs($0) <= 1.45 } })
        }
        // Closed surfaces: every edge is shared by exactly two triangles (boxes, spheres, tori, capped cylinders).
        let mesh = ProceduralShapes.object(seed: 7, index: 0)
        var edges: [[Int]: Int] = [:]
        for (t, _) in mesh.triangles {
            for (a, b) in [(t.x, t.y), (t.y, t.z), (t.z, t.x)] { edges[[min(a, b), max(a, b)], default: 0] += 1 }
        }
        XCTAssertTrue(edges.values.allSatisfy { $0 == 2 }, "watertight parts")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-shapes-\(UUID())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let urls = try ProceduralShapes.write(seed: 7, range: 0..<3, to: dir)
        XCTAssertEqual(urls.count, 3)
        let text = try String(contentsOf: urls[0], encoding: .utf8)
        XCTAssertTrue(text.contains("mtllib model.mtl") && text.contains("usemtl m0"))
    }
}

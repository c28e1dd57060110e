// Procedurally generated objects for training the bundled default model: each object is a few
// coloured primitives (box, sphere, cylinder, cone, torus) with random sizes, positions and
// rotations, written as Wavefront OBJ + MTL (per-part diffuse colour), a format assimp reads, so
// the renderer treats them like any downloaded mesh. Deterministic for a seed.

import FileSupport
import SeededRandom
import Foundation

public struct Mesh: Equatable {
    public var positions: [SIMD3<Double>] = []
    /// Triangles as vertex indices, with the index of their part (material).
    public var triangles: [(SIMD3<Int>, Int)] = []
    public var partColors: [SIMD3<Double>] = []

    public init() {}

    public static func == (a: Mesh, b: Mesh) -> Bool {
        a.positions == b.positions && a.partColors == b.partColors
            && a.triangles.map(\.0) == b.triangles.map(\.0) && a.triangles.map(\.1) == b.triangles.map(\.1)
    }

    /// Appends a part given in its own frame, transformed by `rotation` then `offset`.
    mutating func append(vertices: [SIMD3<Double>], faces: [SIMD3<Int>], color: SIMD3<Double>,
                         rotation: [SIMD3<Double>], offset: SIMD3<Double>) {
        let base = positions.count
        let part = partColors.count
        partColors.append(color)
        for v in vertices {
            positions.append(rotation[0] * v.x + rotation[1] * v.y + rotation[2] * v.z + offset)
        }
        for f in faces { triangles.append((f &+ base, part)) }
    }

    /// OBJ text and its MTL text (materials m0, m1, ... with Kd colours).
    public func objAndMTL(mtlName: String) -> (obj: String, mtl: String) {
        var obj = "# svdmv procedural shape\nmtllib \(mtlName)\n"
        for p in positions { obj += String(format: "v %.6f %.6f %.6f\n", p.x, p.y, p.z) }
        var current = -1
        for (t, part) in triangles {
            if part != current { obj += "usemtl m\(part)\n"; current = part }
            obj += "f \(t.x + 1) \(t.y + 1) \(t.z + 1)\n"
        }
        var mtl = ""
        for (i, c) in partColors.enumerated() {
            mtl += String(format: "newmtl m%d\nKd %.4f %.4f %.4f\nKa 0 0 0\nKs 0.1 0.1 0.1\nNs 20\nd 1\nillum 2\n\n", i, c.x, c.y, c.z)
        }
        return (obj, mtl)
    }
}

public enum Primitive: CaseIterable, Sendable {
    case box, sphere, cylinder, cone, torus

    /// Vertices and outward-wound triangles of the unit primitive (about [-1, 1]^3).
    func geometry(segments n: Int = 24) -> ([SIMD3<Double>], [SIMD3<Int>]) {
        var v: [SIMD3<Double>] = [], f: [SIMD3<Int>] = []
        switch self {
        case .box:
            for i in 0..<8 { v.append(SIMD3(i & 1 == 0 ? -1 : 1, i & 2 == 0 ? -1 : 1, i & 4 == 0 ? -1 : 1)) }
            let quads = [[0, 2, 3, 1], [4, 5, 7, 6], [0, 1, 5, 4], [2, 6, 7, 3], [0, 4, 6, 2], [1, 3, 7, 5]]
            for q in quads { f.append(SIMD3(q[0], q[1], q[2])); f.append(SIMD3(q[0], q[2], q[3])) }
        case .sphere:
            let rings = n / 2
            for r in 0...rings {
                let phi = Double.pi * Double(r) / Double(rings)
                for s in 0..<n {
                    let theta = 2 * Double.pi * Double(s) / Double(n)
                    v.append(SIMD3(sin(phi) * cos(theta), sin(phi) * sin(theta), cos(phi)))
                }
            }
            for r in 0..<rings {
                for s in 0..<n {
                    let a = r * n + s, b = r * n + (s + 1) % n, c = (r + 1) * n + s, d = (r + 1) * n + (s + 1) % n
                    f.append(SIMD3(a, c, b)); f.append(SIMD3(b, c, d))
                }
            }
        case .cylinder, .cone:
            let topRadius = self == .cone ? 0.0 : 1.0
            for s in 0..<n {
                let t = 2 * Double.pi * Double(s) / Double(n)
                v.append(SIMD3(cos(t), sin(t), -1))
                v.append(SIMD3(topRadius * cos(t), topRadius * sin(t), 1))
            }
            let bottom = v.count, top = v.count + 1
            v.append(SIMD3(0, 0, -1)); v.append(SIMD3(0, 0, 1))
            for s in 0..<n {
                let a = 2 * s, b = 2 * ((s + 1) % n)
                f.append(SIMD3(a, b, a + 1)); f.append(SIMD3(b, b + 1, a + 1))
                f.append(SIMD3(bottom, b, a)); f.append(SIMD3(top, a + 1, b + 1))
            }
        case .torus:
            let minor = 0.35
            for i in 0..<n {
                let u = 2 * Double.pi * Double(i) / Double(n)
                for j in 0..<(n / 2) {
                    let w = 2 * Double.pi * Double(j) / Double(n / 2)
                    let r = 1 - minor + minor * cos(w)
                    v.append(SIMD3(r * cos(u), r * sin(u), minor * sin(w)))
                }
            }
            let m = n / 2
            for i in 0..<n {
                for j in 0..<m {
                    let a = i * m + j, b = ((i + 1) % n) * m + j, c = i * m + (j + 1) % m, d = ((i + 1) % n) * m + (j + 1) % m
                    f.append(SIMD3(a, b, c)); f.append(SIMD3(c, b, d))
                }
            }
        }
        return (v, f)
    }
}


public enum ProceduralShapes {
    /// Object `index` of the family for `seed`: 1-4 primitives, each with its own colour.
    public static func object(seed: UInt64, index: Int) -> Mesh {
        var rng = SplitMix64(seed: seed &* 0x100_0000_01B3 &+ UInt64(index) &* 0x9E37_79B9)
        var mesh = Mesh()
        let parts = 1 + Int(rng.nextUnit() * 4)
        for _ in 0..<parts {
            let primitive = Primitive.allCases[Int(rng.nextUnit() * Double(Primitive.allCases.count)) % Primitive.allCases.count]
            let (v, f) = primitive.geometry()
            let scale = SIMD3(rng.uniform(0.2, 0.6), rng.uniform(0.2, 0.6), rng.uniform(0.2, 0.6))
            let (a, b) = (rng.uniform(0, 2 * .pi), rng.uniform(0, 2 * .pi))
            // Rotation about z by a, then about x by b (columns of the matrix).
            let rz = [SIMD3(cos(a), sin(a), 0), SIMD3(-sin(a), cos(a), 0), SIMD3(0, 0, 1)]
            let rx = [SIMD3(1, 0, 0), SIMD3(0, cos(b), sin(b)), SIMD3(0, -sin(b), cos(b))]
            let rotation = (0..<3).map { c in rz[0] * rx[c].x + rz[1] * rx[c].y + rz[2] * rx[c].z }
            let scaled = v.map { $0 * scale }
            let offset = SIMD3(rng.uniform(-0.4, 0.4), rng.uniform(-0.4, 0.4), rng.uniform(-0.3, 0.3))
            let color = SIMD3(rng.uniform(0.1, 0.95), rng.uniform(0.1, 0.95), rng.uniform(0.1, 0.95))
            mesh.append(vertices: scaled, faces: f, color: color, rotation: rotation, offset: offset)
        }
        return mesh
    }

    /// Writes objects `range` as `<dir>/shape-NNNNN/model.obj` + `model.mtl`; returns the OBJ paths.
    @discardableResult
    public static func write(seed: UInt64, range: Range<Int>, to dir: URL) throws -> [URL] {
        try range.map { i in
            let folder = dir.appendingPathComponent(String(format: "shape-%05d", i))
            let (obj, mtl) = object(seed: seed, index: i).objAndMTL(mtlName: "model.mtl")
            try writeAtomically(Data(mtl.utf8), to: folder.appendingPathComponent("model.mtl"))
            let url = folder.appendingPathComponent("model.obj")
            try writeAtomically(Data(obj.utf8), to: url)
            return url
        }
    }
}

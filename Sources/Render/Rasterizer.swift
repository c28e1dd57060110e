// The rasteriser: triangles to a visibility buffer (depth, triangle id and perspective-correct
// barycentrics per sample), tinyrenderer's `rasterize` without its globals. Shading happens in a
// second pass (`Shader`) over the visible samples only.
//
// Per view: vertices go to OpenCV camera space, triangles crossing the near plane are clipped
// (each clipped corner keeps its barycentrics in the original triangle, so shading still reads
// the original vertices), then projected with the supersampled intrinsics. Faces are double-sided
// (clockwise triangles are flipped), sample points are pixel centres, and ties on shared edges
// follow one consistent rule so no sample is counted twice or missed.

import Foundation

/// Per-sample result of rasterising one view. Row 0 is the top row.
public struct VisibilityBuffer {
    public let width: Int
    public let height: Int
    /// OpenCV camera depth z of the nearest surface, +infinity where nothing was drawn.
    public var depth: [Float]
    /// Index of the visible triangle, -1 for background.
    public var triangle: [Int32]
    /// Perspective-correct barycentrics of the triangle's vertices 1 and 2 (vertex 0 = 1 - sum).
    public var bary: [SIMD2<Float>]

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        depth = [Float](repeating: .infinity, count: width * height)
        triangle = [Int32](repeating: -1, count: width * height)
        bary = [SIMD2<Float>](repeating: .zero, count: width * height)
    }

    /// Back to "nothing drawn" (barycentrics are only read where a triangle was drawn).
    mutating func clear() {
        depth.withUnsafeMutableBufferPointer { $0.update(repeating: .infinity) }
        triangle.withUnsafeMutableBufferPointer { $0.update(repeating: -1) }
    }
}

/// Visibility buffers kept between views: a 576 px view at 4 samples per pixel needs 21 MB, and
/// fresh allocations cost page faults on every view.
final class BufferPool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [VisibilityBuffer] = []

    /// A cleared buffer of the given size (reused when one is free).
    func take(width: Int, height: Int) -> VisibilityBuffer {
        lock.lock()
        let index = free.firstIndex { $0.width == width && $0.height == height }
        var buffer = index.map { free.remove(at: $0) }
        lock.unlock()
        guard buffer != nil else { return VisibilityBuffer(width: width, height: height) }
        buffer?.clear()
        return buffer ?? VisibilityBuffer(width: width, height: height)
    }

    func give(_ buffer: VisibilityBuffer) {
        lock.lock()
        if free.count < 8 { free.append(buffer) }
        lock.unlock()
    }
}

/// A projected corner: screen position (supersampled pixels), camera depth and its barycentric
/// coordinates in the original triangle.
struct ScreenVertex {
    var x: Float, y: Float, z: Float
    var bary: Vec3
}

/// Near plane in OpenCV camera z (scene units; normalised objects are ~1 across).
let nearPlane: Float = 1e-3

/// Rasterises `mesh` seen by `camera` at `supersampling` x `supersampling` samples per pixel
/// (every triangle opaque and double-sided).
public func rasterize(_ mesh: Mesh, camera: Camera, supersampling s: Int) -> VisibilityBuffer {
    rasterize(mesh, camera: camera, into: VisibilityBuffer(width: camera.width * s, height: camera.height * s))
}

/// Rasterises into a cleared buffer of size (width * s) x (height * s), every triangle opaque.
func rasterize(_ mesh: Mesh, camera: Camera, into cleared: VisibilityBuffer) -> VisibilityBuffer {
    var buffer = cleared
    buffer.depth.withUnsafeMutableBufferPointer { depth in
        buffer.triangle.withUnsafeMutableBufferPointer { ids in
            buffer.bary.withUnsafeMutableBufferPointer { bary in
                var sink = NearestSurface(depth: depth, ids: ids, bary: bary, surfaces: nil)
                rasterizeTriangles(mesh, camera: camera, width: cleared.width, height: cleared.height, into: &sink)
            }
        }
    }
    return buffer
}

/// Where the samples a triangle covers go. For each triangle `begin` says whether to draw it;
/// for each covered sample `accepts` is asked first (cheap: depth), and only then are the
/// sample's barycentrics computed and handed to `write`.
protocol SampleSink {
    mutating func begin(triangle: Int) -> Bool
    func accepts(_ i: Int, depth z: Float) -> Bool
    mutating func write(_ i: Int, depth z: Float, bary: SIMD2<Float>)
}

/// The visibility pass: keeps the nearest sample. With `surfaces`, it draws only the opaque and
/// alpha-masked triangles, drops back faces of single-sided materials and alpha-tests masked
/// materials per sample.
struct NearestSurface: SampleSink {
    let depth: UnsafeMutableBufferPointer<Float>
    let ids: UnsafeMutableBufferPointer<Int32>
    let bary: UnsafeMutableBufferPointer<SIMD2<Float>>
    let surfaces: SurfaceClasses?
    var triangle: Int32 = -1
    var alphaTested = false

    init(depth: UnsafeMutableBufferPointer<Float>, ids: UnsafeMutableBufferPointer<Int32>,
         bary: UnsafeMutableBufferPointer<SIMD2<Float>>, surfaces: SurfaceClasses?) {
        self.depth = depth
        self.ids = ids
        self.bary = bary
        self.surfaces = surfaces
    }

    @inline(__always) mutating func begin(triangle t: Int) -> Bool {
        triangle = Int32(t)
        guard let surfaces else { return true }
        let kind = surfaces.kind(of: t)
        guard kind != .blend, surfaces.faces(t) else { return false }
        alphaTested = kind == .mask
        return true
    }

    @inline(__always) func accepts(_ i: Int, depth z: Float) -> Bool { z < depth[i] && z > 0 }

    @inline(__always) mutating func write(_ i: Int, depth z: Float, bary b: SIMD2<Float>) {
        if alphaTested, let surfaces, !surfaces.context.passesAlphaTest(triangle: Int(triangle), bary: b) { return }
        depth[i] = z
        ids[i] = triangle
        bary[i] = b
    }
}

/// Runs every triangle of `mesh` through near-plane clipping and projection into `sink`.
func rasterizeTriangles<Sink: SampleSink>(_ mesh: Mesh, camera: Camera, width: Int, height: Int, into sink: inout Sink) {
    let s = width / camera.width
    let pose = camera.worldToCameraOpenCV
    let r0 = Vec3(pose.rows[0]), r1 = Vec3(pose.rows[1]), r2 = Vec3(pose.rows[2])
    let t = Vec3(pose.translation)
    let f = Float(camera.focal) * Float(s)
    let cx = Float(width) / 2, cy = Float(height) / 2
    // camera-space positions of every vertex
    let cam = mesh.positions.map { p in Vec3(dot(r0, p), dot(r1, p), dot(r2, p)) + t }
    let e0 = Vec3(1, 0, 0), e1 = Vec3(0, 1, 0), e2 = Vec3(0, 0, 1)
    func project(_ q: Vec3, _ b: Vec3) -> ScreenVertex {
        ScreenVertex(x: f * q.x / q.z + cx, y: f * q.y / q.z + cy, z: q.z, bary: b)
    }
    let target = Target(width: width, height: height)
    mesh.indices.withUnsafeBufferPointer { idx in
        for tri in 0..<(idx.count / 3) {
            guard sink.begin(triangle: tri) else { continue }
            let qa = cam[Int(idx[3 * tri])], qb = cam[Int(idx[3 * tri + 1])]
            let qc = cam[Int(idx[3 * tri + 2])]
            if qa.z > nearPlane && qb.z > nearPlane && qc.z > nearPlane {
                target.draw(project(qa, e0), project(qb, e1), project(qc, e2), into: &sink)
                continue
            }
            let polygon = clipNear([qa, qb, qc], [e0, e1, e2])
            guard polygon.count >= 3 else { continue }
            let sv = polygon.map { project($0.0, $0.1) }
            for k in 1..<(sv.count - 1) {
                target.draw(sv[0], sv[k], sv[k + 1], into: &sink)
            }
        }
    }
}

/// Sutherland-Hodgman against z = nearPlane, carrying original-triangle barycentrics.
func clipNear(_ q: [Vec3], _ b: [Vec3]) -> [(Vec3, Vec3)] {
    var out: [(Vec3, Vec3)] = []
    for i in 0..<3 {
        let j = (i + 1) % 3
        let inI = q[i].z > nearPlane, inJ = q[j].z > nearPlane
        if inI { out.append((q[i], b[i])) }
        if inI != inJ {
            let s = (nearPlane - q[i].z) / (q[j].z - q[i].z)
            var p = q[i] + (q[j] - q[i]) * s
            p.z = nearPlane * 1.0001
            out.append((p, b[i] + (b[j] - b[i]) * s))
        }
    }
    return out
}

/// The sample grid one view draws into.
struct Target {
    let width: Int, height: Int

    /// Does a sample exactly on edge a->b belong to this triangle? One answer per direction, the
    /// opposite for the reverse direction, so a shared edge's samples go to exactly one side.
    @inline(__always) static func ownsEdge(_ dx: Float, _ dy: Float) -> Bool {
        dy > 0 || (dy == 0 && dx < 0)
    }

    func draw<Sink: SampleSink>(_ a: ScreenVertex, _ b0: ScreenVertex, _ c0: ScreenVertex, into sink: inout Sink) {
        var b = b0, c = c0
        var area = (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x)
        guard area.isFinite, area != 0 else { return }
        if area < 0 { swap(&b, &c); area = -area }             // double-sided
        let minX = min(a.x, b.x, c.x), maxX = max(a.x, b.x, c.x)
        let minY = min(a.y, b.y, c.y), maxY = max(a.y, b.y, c.y)
        guard minX.isFinite, maxX.isFinite, minY.isFinite, maxY.isFinite else { return }
        // sample i sits at i + 0.5; clamp before converting so huge coordinates cannot trap
        let x0 = max(0, Int(min(Float(width), max(-1, ceilFast(minX - 0.5)))))
        let x1 = min(width - 1, Int(min(Float(width), max(-1, floorFast(maxX - 0.5)))))
        let y0 = max(0, Int(min(Float(height), max(-1, ceilFast(minY - 0.5)))))
        let y1 = min(height - 1, Int(min(Float(height), max(-1, floorFast(maxY - 0.5)))))
        guard x0 <= x1, y0 <= y1 else { return }
        // Edge functions at the first sample, and their steps: a's weight is edge b->c, b's is
        // c->a, c's is a->b; all three are positive inside and sum to `area`.
        let px = Float(x0) + 0.5, py = Float(y0) + 0.5
        let dx = Vec3(c.x - b.x, a.x - c.x, b.x - a.x)
        let dy = Vec3(c.y - b.y, a.y - c.y, b.y - a.y)
        let ox = Vec3(b.x, c.x, a.x), oy = Vec3(b.y, c.y, a.y)
        let stepX = -dy, stepY = dx
        var row = dx * (py - oy) - dy * (px - ox)
        // "e > 0, or e == 0 on an owned edge" as one comparison: e >= threshold, where the
        // threshold is 0 for owned edges and the smallest positive float otherwise
        let threshold = Vec3(Target.ownsEdge(dx.x, dy.x) ? 0 : .leastNonzeroMagnitude,
                             Target.ownsEdge(dx.y, dy.y) ? 0 : .leastNonzeroMagnitude,
                             Target.ownsEdge(dx.z, dy.z) ? 0 : .leastNonzeroMagnitude)
        let scaledInvZ = Vec3(1 / a.z, 1 / b.z, 1 / c.z) / area
        let span = Float(x1 - x0)
        let baryA = a.bary, baryB = b.bary, baryC = c.bary
        for y in y0...y1 {
            defer { row += stepY }
            // the span of this row where all three edge functions can pass (one sample of slack
            // on each side; the exact test below decides), so thin triangles cost no empty scan
            var lo: Float = 0, hi = span
            for k in 0..<3 {
                let step = stepX[k], margin = row[k] - threshold[k]
                if step > 0 {
                    lo = max(lo, ceilFast(-margin / step) - 1)
                } else if step < 0 {
                    hi = min(hi, floorFast(margin / -step) + 1)
                } else if margin < 0 {
                    hi = -1
                }
            }
            guard lo <= hi else { continue }
            let start = x0 + Int(lo), end = x0 + Int(hi)
            var e = row + stepX * lo
            let rowBase = y * width
            for x in start...end {
                defer { e += stepX }
                if e.x >= threshold.x && e.y >= threshold.y && e.z >= threshold.z {
                    let w = e * scaledInvZ                          // l_i / z_i
                    let z = 1 / w.sum()
                    let i = rowBase + x
                    if sink.accepts(i, depth: z) {
                        let o = (baryA * w.x + baryB * w.y + baryC * w.z) * z
                        sink.write(i, depth: z, bary: SIMD2(o.y, o.z))
                    }
                }
            }
        }
    }
}

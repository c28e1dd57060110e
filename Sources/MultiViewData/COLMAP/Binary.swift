// COLMAP binary model I/O (`cameras.bin`, `images.bin`, `points3D.bin`), little-endian, laid out as
// in colmap `reconstruction_io_binary.cc`. Every read is bounds-checked:
// a short file throws `.truncated` with the byte offset and field, an impossible value `.corrupt`.

import FileSupport
import Foundation

/// Bounds-checked little-endian cursor over one file's bytes.
struct BinaryCursor {
    let path: String
    let bytes: [UInt8]
    var offset = 0

    init(path: String, bytes: [UInt8]) { self.path = path; self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    mutating func fixed<T: FixedWidthInteger>(_ type: T.Type, _ field: @autoclosure () -> String) throws -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw COLMAPError.truncated(path: path, offset: offset, field: field()) }
        var value: T = 0
        for i in 0..<size { value |= T(truncatingIfNeeded: bytes[offset + i]) << (8 * i) }
        offset += size
        return value
    }

    mutating func u8(_ field: @autoclosure () -> String) throws -> UInt8 { try fixed(UInt8.self, field()) }
    mutating func u32(_ field: @autoclosure () -> String) throws -> UInt32 { try fixed(UInt32.self, field()) }
    mutating func i32(_ field: @autoclosure () -> String) throws -> Int32 { try fixed(Int32.self, field()) }
    mutating func u64(_ field: @autoclosure () -> String) throws -> UInt64 { try fixed(UInt64.self, field()) }
    mutating func f64(_ field: @autoclosure () -> String) throws -> Double {
        Double(bitPattern: try fixed(UInt64.self, field()))
    }

    /// A count that must fit the bytes left, each element taking at least `minSize` bytes: a count
    /// larger than the bytes left is corruption, one whose elements cannot all fit is truncation.
    mutating func count(_ field: String, minSize: Int) throws -> Int {
        let at = offset
        let n = try u64(field)
        guard n <= UInt64(remaining) else {
            throw COLMAPError.corrupt(path: path, offset: at, reason: "\(field) = \(n) but only \(remaining) bytes follow")
        }
        guard Int(n) * minSize <= remaining else {
            throw COLMAPError.truncated(path: path, offset: bytes.count,
                                        field: "\(field) = \(n) elements (at least \(Int(n) * minSize) bytes, \(remaining) left)")
        }
        return Int(n)
    }

    /// Null-terminated string.
    mutating func cString(_ field: String) throws -> String {
        guard let end = bytes[offset...].firstIndex(of: 0) else {
            throw COLMAPError.truncated(path: path, offset: bytes.count, field: "\(field) (no terminating NUL)")
        }
        let at = offset
        guard let s = String(bytes: bytes[offset..<end], encoding: .utf8) else {
            throw COLMAPError.corrupt(path: path, offset: at, reason: "\(field) is not UTF-8")
        }
        offset = end + 1
        return s
    }

    func finish() throws {
        guard remaining == 0 else {
            throw COLMAPError.corrupt(path: path, offset: offset, reason: "\(remaining) unexpected trailing bytes")
        }
    }
}

/// Little-endian byte sink for the writer.
struct BinarySink {
    var bytes: [UInt8] = []
    mutating func put<T: FixedWidthInteger>(_ v: T) {
        for i in 0..<MemoryLayout<T>.size { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * i))) }
    }
    mutating func put(_ v: Double) { put(v.bitPattern) }
    mutating func put(_ s: String) { bytes.append(contentsOf: Array(s.utf8)); bytes.append(0) }
}

func readBytes(_ url: URL) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: url.path) else {
        throw COLMAPError.missing(path: url.path)
    }
    return [UInt8](data)
}

extension COLMAPModel {
    public static func readBinary(directory: URL) throws -> COLMAPModel {
        COLMAPModel(cameras: try readCamerasBinary(directory.appendingPathComponent("cameras.bin")),
                    images: try readImagesBinary(directory.appendingPathComponent("images.bin")),
                    points3D: try readPoints3DBinary(directory.appendingPathComponent("points3D.bin")))
    }

    public static func readCamerasBinary(_ url: URL) throws -> [COLMAPCamera] {
        try parseCameras(BinaryCursor(path: url.path, bytes: try readBytes(url)))
    }

    public static func readImagesBinary(_ url: URL) throws -> [COLMAPImage] {
        try parseImages(BinaryCursor(path: url.path, bytes: try readBytes(url)))
    }

    public static func readPoints3DBinary(_ url: URL) throws -> [COLMAPPoint3D] {
        try parsePoints3D(BinaryCursor(path: url.path, bytes: try readBytes(url)))
    }

    static func parseCameras(_ c: BinaryCursor) throws -> [COLMAPCamera] {
        var c = c
        let n = try c.count("num_cameras", minSize: 4 + 4 + 8 + 8 + 2 * 8)
        var cameras: [COLMAPCamera] = []
        cameras.reserveCapacity(n)
        for i in 0..<n {
            let id = try c.u32("camera[\(i)].camera_id")
            let modelAt = c.offset
            let modelID = try c.i32("camera[\(i)].model_id")
            guard let model = CameraModel(rawValue: modelID) else {
                throw COLMAPError.corrupt(path: c.path, offset: modelAt,
                                          reason: "camera[\(i)] (id \(id)) has unknown model_id \(modelID)")
            }
            let width = try c.u64("camera[\(i)].width")
            let height = try c.u64("camera[\(i)].height")
            var params: [Double] = []
            for k in 0..<model.parameterCount { params.append(try c.f64("camera[\(i)].params[\(k)] (\(model.name))")) }
            cameras.append(COLMAPCamera(id: id, model: model, width: width, height: height, params: params))
        }
        try c.finish()
        return cameras
    }

    static func parseImages(_ c: BinaryCursor) throws -> [COLMAPImage] {
        var c = c
        let n = try c.count("num_reg_images", minSize: 4 + 7 * 8 + 4 + 1 + 8)
        var images: [COLMAPImage] = []
        images.reserveCapacity(n)
        for i in 0..<n {
            let id = try c.u32("image[\(i)].image_id")
            let qAt = c.offset
            var q: [Double] = []
            for name in ["qw", "qx", "qy", "qz"] { q.append(try c.f64("image[\(i)].\(name)")) }
            let norm = (q.map { $0 * $0 }.reduce(0, +)).squareRoot()
            guard norm.isFinite, abs(norm - 1) < 1e-3 else {
                throw COLMAPError.corrupt(path: c.path, offset: qAt,
                                          reason: "image[\(i)] (id \(id)) quaternion norm \(norm), expected 1")
            }
            let t = Vec3(try c.f64("image[\(i)].tx"), try c.f64("image[\(i)].ty"), try c.f64("image[\(i)].tz"))
            let cameraID = try c.u32("image[\(i)].camera_id")
            let name = try c.cString("image[\(i)].name")
            let m = try c.count("image[\(i)].num_points2D", minSize: 24)
            var points: [COLMAPPoint2D] = []
            points.reserveCapacity(m)
            for _ in 0..<m {
                let x = try c.f64("image[\(i)].points2D.x")
                let y = try c.f64("image[\(i)].points2D.y")
                points.append(COLMAPPoint2D(x: x, y: y, point3DID: try c.u64("image[\(i)].points2D.point3D_id")))
            }
            images.append(COLMAPImage(id: id, qvec: q, tvec: t, cameraID: cameraID, name: name, points2D: points))
        }
        try c.finish()
        return images
    }

    static func parsePoints3D(_ c: BinaryCursor) throws -> [COLMAPPoint3D] {
        var c = c
        let n = try c.count("num_points3D", minSize: 8 + 24 + 3 + 8 + 8)
        var points: [COLMAPPoint3D] = []
        points.reserveCapacity(n)
        for i in 0..<n {
            let id = try c.u64("point3D[\(i)].point3D_id")
            let xyz = Vec3(try c.f64("point3D[\(i)].x"), try c.f64("point3D[\(i)].y"), try c.f64("point3D[\(i)].z"))
            let rgb = [try c.u8("point3D[\(i)].r"), try c.u8("point3D[\(i)].g"), try c.u8("point3D[\(i)].b")]
            let error = try c.f64("point3D[\(i)].error")
            let m = try c.count("point3D[\(i)].track_length", minSize: 8)
            var track: [COLMAPTrackElement] = []
            track.reserveCapacity(m)
            for _ in 0..<m {
                let image = try c.u32("point3D[\(i)].track.image_id")
                track.append(COLMAPTrackElement(imageID: image, point2DIndex: try c.u32("point3D[\(i)].track.point2D_idx")))
            }
            points.append(COLMAPPoint3D(id: id, xyz: xyz, rgb: rgb, error: error, track: track))
        }
        try c.finish()
        return points
    }

    // MARK: Writing

    public func camerasBinary() -> [UInt8] {
        var s = BinarySink()
        s.put(UInt64(cameras.count))
        for cam in cameras {
            s.put(cam.id); s.put(cam.model.rawValue); s.put(cam.width); s.put(cam.height)
            for p in cam.params { s.put(p) }
        }
        return s.bytes
    }

    public func imagesBinary() -> [UInt8] {
        var s = BinarySink()
        s.put(UInt64(images.count))
        for image in images {
            s.put(image.id)
            for q in image.qvec { s.put(q) }
            s.put(image.tvec.x); s.put(image.tvec.y); s.put(image.tvec.z)
            s.put(image.cameraID); s.put(image.name)
            s.put(UInt64(image.points2D.count))
            for p in image.points2D { s.put(p.x); s.put(p.y); s.put(p.point3DID) }
        }
        return s.bytes
    }

    public func points3DBinary() -> [UInt8] {
        var s = BinarySink()
        s.put(UInt64(points3D.count))
        for p in points3D {
            s.put(p.id); s.put(p.xyz.x); s.put(p.xyz.y); s.put(p.xyz.z)
            for v in p.rgb { s.put(v) }
            s.put(p.error)
            s.put(UInt64(p.track.count))
            for t in p.track { s.put(t.imageID); s.put(t.point2DIndex) }
        }
        return s.bytes
    }

    /// Writes the three `.bin` files into `directory` (atomically, each).
    public func writeBinary(directory: URL) throws {
        try writeAtomically(Data(camerasBinary()), to: directory.appendingPathComponent("cameras.bin"))
        try writeAtomically(Data(imagesBinary()), to: directory.appendingPathComponent("images.bin"))
        try writeAtomically(Data(points3DBinary()), to: directory.appendingPathComponent("points3D.bin"))
    }
}

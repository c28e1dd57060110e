// COLMAP text model reader (`cameras.txt`, `images.txt`, `points3D.txt`), following colmap
// `reconstruction_io_text.cc`: '#' comment lines, space-separated fields, camera models by name,
// two lines per image (the second, the 2-D points, may be empty), point3D_id −1 for "none".

import Foundation

extension COLMAPModel {
    public static func readText(directory: URL) throws -> COLMAPModel {
        COLMAPModel(cameras: try readCamerasText(directory.appendingPathComponent("cameras.txt")),
                    images: try readImagesText(directory.appendingPathComponent("images.txt")),
                    points3D: try readPoints3DText(directory.appendingPathComponent("points3D.txt")))
    }

    /// Lines with their 1-based numbers, trimmed.
    private static func lines(_ url: URL) throws -> [(Int, String)] {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw COLMAPError.missing(path: url.path)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw COLMAPError.badLine(path: url.path, line: 1, reason: "not UTF-8 text")
        }
        return text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().map {
            ($0.offset + 1, $0.element.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    private static func isSkipped(_ line: String) -> Bool { line.isEmpty || line.hasPrefix("#") }

    /// Field parser that reports the file and line of a bad value.
    private struct Fields {
        let path: String, line: Int
        let items: [Substring]
        var index = 0
        init(path: String, line: Int, text: String) {
            self.path = path; self.line = line
            items = text.split(separator: " ", omittingEmptySubsequences: true)
        }
        var isAtEnd: Bool { index >= items.count }
        mutating func next(_ field: String) throws -> Substring {
            guard index < items.count else {
                throw COLMAPError.badLine(path: path, line: line, reason: "missing \(field)")
            }
            defer { index += 1 }
            return items[index]
        }
        mutating func number<T: LosslessStringConvertible>(_ type: T.Type, _ field: String) throws -> T {
            let s = try next(field)
            guard let v = T(String(s)) else {
                throw COLMAPError.badLine(path: path, line: line, reason: "\(field) '\(s)' is not a valid \(T.self)")
            }
            return v
        }
        func finish() throws {
            guard isAtEnd else {
                throw COLMAPError.badLine(path: path, line: line, reason: "\(items.count - index) unexpected extra fields")
            }
        }
    }

    public static func readCamerasText(_ url: URL) throws -> [COLMAPCamera] {
        var cameras: [COLMAPCamera] = []
        for (number, line) in try lines(url) where !isSkipped(line) {
            var f = Fields(path: url.path, line: number, text: line)
            let id = try f.number(UInt32.self, "CAMERA_ID")
            let modelName = String(try f.next("MODEL"))
            guard let model = CameraModel(name: modelName) else {
                throw COLMAPError.badLine(path: url.path, line: number, reason: "unknown camera model \(modelName)")
            }
            let width = try f.number(UInt64.self, "WIDTH"), height = try f.number(UInt64.self, "HEIGHT")
            var params: [Double] = []
            for k in 0..<model.parameterCount { params.append(try f.number(Double.self, "PARAMS[\(k)] of \(model.name)")) }
            try f.finish()
            cameras.append(COLMAPCamera(id: id, model: model, width: width, height: height, params: params))
        }
        return cameras
    }

    public static func readImagesText(_ url: URL) throws -> [COLMAPImage] {
        let all = try lines(url)
        var images: [COLMAPImage] = []
        var i = 0
        while i < all.count {
            let (number, line) = all[i]
            i += 1
            if isSkipped(line) { continue }
            var f = Fields(path: url.path, line: number, text: line)
            let id = try f.number(UInt32.self, "IMAGE_ID")
            var q: [Double] = []
            for name in ["QW", "QX", "QY", "QZ"] { q.append(try f.number(Double.self, name)) }
            let t = Vec3(try f.number(Double.self, "TX"), try f.number(Double.self, "TY"), try f.number(Double.self, "TZ"))
            let cameraID = try f.number(UInt32.self, "CAMERA_ID")
            let name = String(try f.next("NAME"))
            try f.finish()
            // The points line always follows (COLMAP reads it unconditionally); a missing final
            // line counts as empty.
            var points: [COLMAPPoint2D] = []
            if i < all.count {
                let (pointsNumber, pointsLine) = all[i]
                i += 1
                var p = Fields(path: url.path, line: pointsNumber, text: pointsLine)
                guard p.items.count % 3 == 0 else {
                    throw COLMAPError.badLine(path: url.path, line: pointsNumber,
                                              reason: "POINTS2D has \(p.items.count) fields, not a multiple of 3")
                }
                while !p.isAtEnd {
                    let x = try p.number(Double.self, "POINTS2D.X"), y = try p.number(Double.self, "POINTS2D.Y")
                    let raw = try p.number(Int64.self, "POINTS2D.POINT3D_ID")
                    points.append(COLMAPPoint2D(x: x, y: y, point3DID: raw == -1 ? COLMAPPoint2D.invalidPoint3D : UInt64(bitPattern: raw)))
                }
            }
            images.append(COLMAPImage(id: id, qvec: q, tvec: t, cameraID: cameraID, name: name, points2D: points))
        }
        return images
    }

    public static func readPoints3DText(_ url: URL) throws -> [COLMAPPoint3D] {
        var points: [COLMAPPoint3D] = []
        for (number, line) in try lines(url) where !isSkipped(line) {
            var f = Fields(path: url.path, line: number, text: line)
            let id = try f.number(UInt64.self, "POINT3D_ID")
            let xyz = Vec3(try f.number(Double.self, "X"), try f.number(Double.self, "Y"), try f.number(Double.self, "Z"))
            let rgb = [try f.number(UInt8.self, "R"), try f.number(UInt8.self, "G"), try f.number(UInt8.self, "B")]
            let error = try f.number(Double.self, "ERROR")
            var track: [COLMAPTrackElement] = []
            while !f.isAtEnd {
                let image = try f.number(UInt32.self, "TRACK.IMAGE_ID")
                track.append(COLMAPTrackElement(imageID: image, point2DIndex: try f.number(UInt32.self, "TRACK.POINT2D_IDX")))
            }
            points.append(COLMAPPoint3D(id: id, xyz: xyz, rgb: rgb, error: error, track: track))
        }
        return points
    }
}

// The renderer's output folder, one per object, and its reader. `RenderCameras` is the part of
// the renderer's cameras.json (Sources/Render/RenderJob.swift writes it, with more fields: the
// conventions in words, normalisation, lighting, depth encoding) that training needs; the test
// DatasetTests.RendersTests.testReadsWhatTheRendererWrites keeps the two in step:
//
//   <DIR>/<object_id>/000.png, 001.png, ...      RGBA (or RGB) frames, one per view, in orbit order
//   <DIR>/<object_id>/cameras.json
//   {
//     "format": "svdmv-orbit-cameras/1",
//     "object_id": "…", "width": 576, "height": 576, "fov_deg": 33.8,
//     "K": [[fx, 0, cx], [0, fy, cy], [0, 0, 1]],          // pixels of the stored frames
//     "views": [{
//        "file": "000.png",
//        "elevation_deg": 10.0,      // above the equator (+Z side) is positive
//        "azimuth_deg": 0.0,         // ccw about +Z from +X, absolute, degrees
//        "distance": 2.0,            // camera centre to the origin (object centre)
//        "world_to_camera_opencv":  [[r00, r01, r02, t0], [..], [..]],   // x right, y down, z forward
//        "world_to_camera_opengl": [[..], [..], [..]]                    // x right, y up, z backward (Blender)
//     }, ...]
//   }
// The two extrinsics differ by diag(1, −1, −1) on the left (data-eval-spec §1.1). A sample takes
// `frameCount` views spread evenly over the orbit (84 → every 4th), the last one conditioning, and
// re-expresses azimuths relative to it, like SV3D.

import Foundation
import Imaging

public struct RenderCameras: Codable, Equatable, Sendable {
    public struct View: Codable, Equatable, Sendable {
        public var file: String
        public var elevationDeg: Double
        public var azimuthDeg: Double
        public var distance: Double
        public var worldToCameraOpenCV: [[Double]]
        public var worldToCameraOpenGL: [[Double]]

        public init(file: String, elevationDeg: Double, azimuthDeg: Double, distance: Double,
                    worldToCameraOpenCV: [[Double]], worldToCameraOpenGL: [[Double]]) {
            self.file = file; self.elevationDeg = elevationDeg; self.azimuthDeg = azimuthDeg
            self.distance = distance; self.worldToCameraOpenCV = worldToCameraOpenCV
            self.worldToCameraOpenGL = worldToCameraOpenGL
        }

        enum CodingKeys: String, CodingKey {
            case file, distance
            case elevationDeg = "elevation_deg"
            case azimuthDeg = "azimuth_deg"
            case worldToCameraOpenCV = "world_to_camera_opencv"
            case worldToCameraOpenGL = "world_to_camera_opengl"
        }
    }

    public static let formatName = "svdmv-orbit-cameras/1"
    public var format = RenderCameras.formatName
    public var objectID: String
    public var width: Int
    public var height: Int
    public var fovDeg: Double
    public var K: [[Double]]
    /// World up is +Z (Objaverse / Blender), as the renderer's conventions state.
    public static let worldUp: [Double] = [0, 0, 1]
    public var views: [View]

    public init(objectID: String, width: Int, height: Int, fovDeg: Double, K: [[Double]], views: [View]) {
        self.objectID = objectID; self.width = width; self.height = height; self.fovDeg = fovDeg
        self.K = K; self.views = views
    }

    enum CodingKeys: String, CodingKey {
        case format, width, height, K, views
        case objectID = "object_id"
        case fovDeg = "fov_deg"
    }

    /// A view on the orbit: camera at (elevation, azimuth, distance) looking at the origin of a
    /// Z-up world with no roll (Blender's TRACK_TO), with both extrinsics filled in.
    public static func orbitView(file: String, elevationDeg: Double, azimuthDeg: Double, distance: Double) -> View {
        let (e, a) = (elevationDeg * .pi / 180, azimuthDeg * .pi / 180)
        let c = Vec3(distance * cos(e) * cos(a), distance * cos(e) * sin(a), distance * sin(e))
        let pose = RigidPose(lookingFrom: c, at: .zero, up: Vec3(0, 0, 1))
        let cv = pose.matrix3x4
        let blender = [cv[0], cv[1].map { -$0 }, cv[2].map { -$0 }]
        return View(file: file, elevationDeg: elevationDeg, azimuthDeg: azimuthDeg, distance: distance,
                    worldToCameraOpenCV: cv, worldToCameraOpenGL: blender)
    }

    /// K for square frames of `size` pixels with field of view `fovDeg` (horizontal = vertical).
    public static func intrinsics(size: Int, fovDeg: Double) -> [[Double]] {
        let f = Double(size) / 2 / tan(fovDeg * .pi / 360)
        return [[f, 0, Double(size) / 2], [0, f, Double(size) / 2], [0, 0, 1]]
    }

    public static func read(_ url: URL) throws -> RenderCameras {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw SequenceError.invalid(url.path, "cannot read file")
        }
        let cameras: RenderCameras
        do {
            cameras = try JSONDecoder().decode(RenderCameras.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw SequenceError.invalid(url.path, "missing field \(codingPathText(context.codingPath + [key]))")
        } catch let DecodingError.typeMismatch(_, context) {
            throw SequenceError.invalid(url.path, "wrong type at \(codingPathText(context.codingPath))")
        } catch {
            throw SequenceError.invalid(url.path, "not valid cameras.json: \(error)")
        }
        guard cameras.format == formatName else {
            throw SequenceError.invalid(url.path, "format \(cameras.format), expected \(formatName)")
        }
        for (i, v) in cameras.views.enumerated() {
            guard v.worldToCameraOpenCV.count == 3, v.worldToCameraOpenCV.allSatisfy({ $0.count == 4 }) else {
                throw SequenceError.invalid(url.path, "views[\(i)].world_to_camera_opencv is not 3x4")
            }
        }
        guard cameras.K.count == 3, cameras.K.allSatisfy({ $0.count == 3 }) else {
            throw SequenceError.invalid(url.path, "K is not 3x3")
        }
        return cameras
    }
}

/// "views.0.distance" rather than "views.Index 0.distance".
func codingPathText(_ path: [CodingKey]) -> String {
    path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
}

public struct RendersLoader: Sendable {
    public var frameCount = 21
    /// Output size (frames are resized when the renders differ); nil keeps the rendered size.
    public var size: Int?
    public var background: (UInt8, UInt8, UInt8) = (255, 255, 255)

    public init(frameCount: Int = 21, size: Int? = nil) { self.frameCount = frameCount; self.size = size }

    /// Object folders (with a cameras.json) under `root`, sorted.
    public static func discover(root: URL) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(atPath: root.path).sorted()
            .map { root.appendingPathComponent($0) }
            .filter { FileManager.default.fileExists(atPath: $0.appendingPathComponent("cameras.json").path) }
    }

    /// View indices used for a sample: evenly over the orbit from view 0 with stride
    /// count/frameCount (84 → 0, 4, …, 80); the conditioning view is the last one picked.
    func picks(viewCount: Int) -> [Int] {
        (0..<frameCount).map { $0 * viewCount / frameCount }
    }

    public func load(objectDirectory: URL) throws -> TrainingSequence {
        let cameras = try RenderCameras.read(objectDirectory.appendingPathComponent("cameras.json"))
        guard cameras.views.count >= frameCount else {
            throw SequenceError.notEnoughFrames(objectDirectory.path, have: cameras.views.count, need: frameCount)
        }
        let views = picks(viewCount: cameras.views.count).map { cameras.views[$0] }
        let outW = size ?? cameras.width, outH = size ?? cameras.height
        var images = [Image8?](repeating: nil, count: views.count)
        var errors = [Error?](repeating: nil, count: views.count)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: views.count) { i in
            do {
                let url = objectDirectory.appendingPathComponent(views[i].file)
                var image = try PNG.read(url).rgb(background: background)
                guard image.width == cameras.width, image.height == cameras.height else {
                    throw SequenceError.invalid(url.path, "is \(image.width)x\(image.height), cameras.json says \(cameras.width)x\(cameras.height)")
                }
                if image.width != outW || image.height != outH {
                    image = cropAndResize(image, box: CropBox(x: 0, y: 0, width: Double(image.width), height: Double(image.height)),
                                          width: outW, height: outH)
                }
                lock.lock(); images[i] = image; lock.unlock()
            } catch {
                lock.lock(); errors[i] = error; lock.unlock()
            }
        }
        if let error = errors.compactMap({ $0 }).first { throw error }
        let sx = Double(outW) / Double(cameras.width), sy = Double(outH) / Double(cameras.height)
        let k = [[cameras.K[0][0] * sx, 0, cameras.K[0][2] * sx], [0, cameras.K[1][1] * sy, cameras.K[1][2] * sy], [0, 0, 1]]
        let reference = views.last!.azimuthDeg
        let metadata = SequenceMetadata(
            source: .renders, objectID: cameras.objectID, width: outW, height: outH,
            conditioningIndex: views.count - 1,
            elevationsDeg: views.map(\.elevationDeg),
            azimuthsDeg: views.map { v in
                var a = (v.azimuthDeg - reference).truncatingRemainder(dividingBy: 360)
                if a < 0 { a += 360 }
                return a
            },
            distances: views.map(\.distance),
            cameras: views.map { FrameCamera(K: k, worldToCamera: $0.worldToCameraOpenCV) },
            frameNames: views.map(\.file))
        return TrainingSequence(metadata: metadata, images: images.map { $0! })
    }
}

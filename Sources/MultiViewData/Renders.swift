// The renderer's output folders, one per object (`<DIR>/<object_id>/000.png ... cameras.json`,
// the format of `Sources/Cameras/OrbitCameras.swift`), as training sequences. A sample takes
// `frameCount` views spread evenly over the orbit (84 -> every 4th), the last one conditioning, and
// re-expresses azimuths relative to it, as SV3D's training data does (the SV3D paper, section 3).
// An orbit whose views are a multiple of `frameCount` holds several such samples, interleaved
// (84 views: views s, s + 4, ..., s + 80 for s = 0...3, SV3D's "any 21 evenly spaced frames");
// `sampleOffset` picks one. A sample recorded in cameras.json (`orbit.sample_views`,
// `orbit.sample_stride`, written by `svdmv render --sample`) is honoured.

import Cameras
import Foundation
import Imaging

public struct RendersLoader: Sendable {
    public var frameCount = 21
    /// Output size (frames are resized when the renders differ); nil keeps the rendered size.
    public var size: Int?
    public var background: (UInt8, UInt8, UInt8) = (255, 255, 255)
    /// Which of the orbit's interleaved samples to take (0 ..< `sampleCount`): views offset,
    /// offset + stride, ...
    public var sampleOffset = 0

    public init(frameCount: Int = 21, size: Int? = nil) { self.frameCount = frameCount; self.size = size }

    /// Object folders (with a cameras.json) under `root`, sorted.
    public static func discover(root: URL) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(atPath: root.path).sorted()
            .map { root.appendingPathComponent($0) }
            .filter { FileManager.default.fileExists(atPath: $0.appendingPathComponent(OrbitCameras.fileName).path) }
    }

    /// View indices used for a sample: evenly over the orbit from view `sampleOffset` with stride
    /// count/frameCount (84 → 0, 4, …, 80); the conditioning view is the last one picked.
    func picks(viewCount: Int) -> [Int] {
        (0..<frameCount).map { sampleOffset + $0 * viewCount / frameCount }
    }

    /// How many interleaved samples of `frameCount` views the orbit holds: the recorded
    /// `orbit.sample_stride` when the recorded sample has `frameCount` views, else
    /// views / frameCount when `frameCount` divides the views, else 1 (evenly spaced picks).
    public func sampleCount(_ cameras: OrbitCameras) -> Int {
        if let plan = cameras.orbit, plan.sampleViews == frameCount, let stride = plan.sampleStride { return stride }
        let views = cameras.views.count
        return views >= frameCount && views % frameCount == 0 ? views / frameCount : 1
    }

    public func load(objectDirectory: URL) throws -> TrainingSequence {
        let cameras: OrbitCameras
        do { cameras = try OrbitCameras.read(objectDirectory.appendingPathComponent(OrbitCameras.fileName)) } catch let error as OrbitCamerasError {
            throw SequenceError.invalid(error.path, error.reason)
        }
        guard cameras.views.count >= frameCount else {
            throw SequenceError.notEnoughFrames(objectDirectory.path, have: cameras.views.count, need: frameCount)
        }
        let samples = sampleCount(cameras)
        guard (0..<samples).contains(sampleOffset) else {
            throw SequenceError.invalid(objectDirectory.path, "sample offset \(sampleOffset), but the orbit's \(cameras.views.count) views hold \(samples) sample(s) of \(frameCount)")
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

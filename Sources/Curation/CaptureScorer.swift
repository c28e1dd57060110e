// The scores of one MVImgNet capture (`ROOT/<category>/<object>/{images,sparse/0}`, read with
// MultiViewData's COLMAP reader and capture geometry): how sharp its frames are, how much of the
// object the trajectory covers, how well COLMAP registered it, how sure the up axis is, how much
// the picture moves (the SVD paper's coarse flow score) and whether it jumps (the paper's multi-rate
// cut detector). Image scores use every frame on disk in file-name order; pose scores use the
// registered frames on disk in the same order. A training-shard sample made from a capture is
// scored from the frames and cameras it holds.

import Foundation
import Imaging
import MultiViewData

/// How a capture's frames are measured (recorded in the configuration a run used).
public struct CaptureScoreSettings: Codable, Equatable, Sendable {
    /// Shorter side, in pixels, frames are scaled to (by area) before the Laplacian.
    public var sharpnessSize = 256
    public var flow = BlockFlowSettings()
    public var cuts = CutDetectorSettings()

    public init() {}

    enum CodingKeys: String, CodingKey {
        case flow, cuts
        case sharpnessSize = "sharpness_size"
    }
}

public struct CaptureScorer: Sendable {
    public var settings: CaptureScoreSettings

    public init(settings: CaptureScoreSettings = CaptureScoreSettings()) { self.settings = settings }

    /// The capture's frame files in `images/` (JPEG or PNG), in numeric file-name order.
    public static func frameNames(_ capture: MVImgNetCapture) throws -> [String] {
        try frameNames(imagesDirectory: capture.imagesDirectory)
    }

    /// The frame files (JPEG or PNG) in `imagesDirectory`, in numeric file-name order.
    public static func frameNames(imagesDirectory: URL) throws -> [String] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: imagesDirectory.path) } catch {
            throw CurationError(path: imagesDirectory.path, reason: "cannot list frames")
        }
        return names.filter { ["jpg", "jpeg", "png"].contains(URL(fileURLWithPath: $0).pathExtension.lowercased()) && !$0.hasPrefix(".") }
            .sorted { $0.compare($1, options: .numeric) == .orderedAscending }
    }

    /// Scores `capture`. Never throws: an unreadable frame makes the record's `error` (the capture
    /// is then dropped), an unreadable COLMAP model too, with its image scores still recorded.
    public func score(_ capture: MVImgNetCapture) -> ScoreRecord {
        var record = ScoreRecord(id: capture.id, source: .mvimgnet, path: capture.directory.path)
        let names: [String]
        do { names = try Self.frameNames(capture) } catch { record.error = "\(error)"; return record }
        record.set(ScoreName.frames, Double(names.count))
        do {
            let frames = try names.map { try loadGrey(capture.imagesDirectory.appendingPathComponent($0)) }
            fillImageScores(&record, frames: frames)
        } catch {
            record.error = "\(error)"
            return record
        }
        do {
            try fillPoseScores(&record, capture: capture, frameNames: names)
        } catch {
            record.error = "\(error)"
            for name in [ScoreName.registeredFrames, ScoreName.registeredShare, ScoreName.azimuthSpanDeg,
                         ScoreName.elevationRangeDeg, ScoreName.cameraStepJump, ScoreName.reprojectionError,
                         ScoreName.points3D, ScoreName.upResidual] {
                record.set(name, nil, absentBecause: "COLMAP model unreadable")
            }
        }
        return record
    }

    /// Scores the frames of a training-shard sample made from a capture (`svdmv dataset
    /// mvimgnet`): the chosen frames (cropped and resized RGB) in trajectory order, with their
    /// cameras. Image scores come from the frames, trajectory scores from the cameras; what only
    /// the COLMAP model records is absent with the reason. A camera that is not a 3x4 matrix makes
    /// the record's `error`, with the image scores still recorded.
    public func score(frames: [Image8], cameras: [FrameCamera], id: String, path: String) -> ScoreRecord {
        var record = ScoreRecord(id: id, source: .mvimgnet, path: path)
        record.set(ScoreName.frames, Double(frames.count))
        fillImageScores(&record, frames: frames.map { GreyImage($0).downscaled(shorterSide: settings.sharpnessSize) })
        for name in [ScoreName.registeredFrames, ScoreName.registeredShare, ScoreName.reprojectionError, ScoreName.points3D] {
            record.set(name, nil, absentBecause: "shards hold the chosen frames without the COLMAP model")
        }
        var poses: [RigidPose] = []
        for (k, camera) in cameras.enumerated() {
            let m = camera.worldToCamera
            guard m.count == 3, m.allSatisfy({ $0.count == 4 }) else {
                record.error = "\(path): camera \(k): world_to_camera_opencv is not a 3x4 matrix"
                for name in Self.trajectoryScores { record.set(name, nil, absentBecause: "a camera is not a 3x4 matrix") }
                return record
            }
            poses.append(RigidPose(rotation: Mat3(rows: Array(m[0][0..<3]), Array(m[1][0..<3]), Array(m[2][0..<3])),
                                   translation: Vec3(m[0][3], m[1][3], m[2][3])))
        }
        fillTrajectoryScores(&record, poses: poses, points: [])
        return record
    }

    /// The scores `fillTrajectoryScores` records.
    static let trajectoryScores = [ScoreName.azimuthSpanDeg, ScoreName.elevationRangeDeg, ScoreName.cameraStepJump, ScoreName.upResidual]

    /// A frame as grey at the sharpness analysis size, decoded at a reduced JPEG scale when that
    /// still leaves the shorter side at least that large.
    public func loadGrey(_ url: URL) throws -> GreyImage {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw CurationError(path: url.path, reason: "cannot read file")
        }
        let image: Image8
        if url.pathExtension.lowercased() == "png" {
            image = try PNG.decode(data, path: url.path)
        } else {
            let stored = try JPEG.storedSize(data, path: url.path)
            let shorter = Double(min(stored.width, stored.height))
            let eighths = [1, 2, 4].first { Double($0) / 8 * shorter >= Double(settings.sharpnessSize) } ?? 8
            var buffer: [UInt8] = []
            let (w, h) = try JPEG.decodeStored(data, path: url.path, gray: true, eighths: eighths, into: &buffer)
            image = Image8(width: w, height: h, channels: 1, pixels: Array(buffer[0..<(w * h)]))
                .oriented(JPEG.exifOrientation(data) ?? 1)
        }
        return GreyImage(image).downscaled(shorterSide: settings.sharpnessSize)
    }

    func fillImageScores(_ record: inout ScoreRecord, frames: [GreyImage]) {
        let sharpness = frames.map(laplacianVariance)
        record.set(ScoreName.sharpnessMedian, median(sharpness), absentBecause: "no frames")
        record.set(ScoreName.sharpnessP10, percentile(sharpness, 10), absentBecause: "no frames")
        record.set(ScoreName.motion, motionScore(frames, settings: settings.flow), absentBecause: "fewer than 2 frames")
        record.set(ScoreName.cuts, frames.count >= 2 ? Double(detectCuts(frames, settings: settings.cuts).count) : nil,
                   absentBecause: "fewer than 2 frames")
    }

    /// Reads the capture's COLMAP model and records its registration and trajectory scores for
    /// the frames on disk, `frameNames` (in file-name order); throws when the model is unreadable.
    public func fillPoseScores(_ record: inout ScoreRecord, capture: MVImgNetCapture, frameNames names: [String]) throws {
        let model = try COLMAPModel.read(directory: capture.sparseDirectory)
        let onDisk = Set(names)
        let registered = model.images.filter { onDisk.contains($0.name) }
            .sorted { $0.name.compare($1.name, options: .numeric) == .orderedAscending }
        fillPoseScores(&record, registered: registered, model: model, framesOnDisk: names.count)
    }

    func fillPoseScores(_ record: inout ScoreRecord, registered: [COLMAPImage], model: COLMAPModel, framesOnDisk: Int) {
        record.set(ScoreName.registeredFrames, Double(registered.count))
        record.set(ScoreName.registeredShare, framesOnDisk > 0 ? Double(registered.count) / Double(framesOnDisk) : nil,
                   absentBecause: "no frames on disk")
        let errors = model.points3D.map(\.error).filter(\.isFinite)
        record.set(ScoreName.points3D, Double(model.points3D.count))
        record.set(ScoreName.reprojectionError, mean(errors), absentBecause: "the model has no 3D points")
        fillTrajectoryScores(&record, poses: registered.map(\.pose), points: model.points3D.map(\.xyz))
    }

    /// The trajectory scores of `poses` (in trajectory order), or each absent with why they
    /// cannot be computed.
    func fillTrajectoryScores(_ record: inout ScoreRecord, poses: [RigidPose], points: [Vec3]) {
        do {
            let t = try TrajectoryScores(poses: poses, points: points)
            record.set(ScoreName.azimuthSpanDeg, t.azimuthSpanDeg)
            record.set(ScoreName.elevationRangeDeg, t.elevationRangeDeg)
            record.set(ScoreName.cameraStepJump, t.stepJump, absentBecause: "the cameras do not move")
            record.set(ScoreName.upResidual, t.upResidual)
        } catch {
            for name in Self.trajectoryScores { record.set(name, nil, absentBecause: "\(error)") }
        }
    }
}

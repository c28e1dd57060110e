// One training sample for both sources (renderer output and MVImgNet): T frames (21 for SV3D) as
// floats in [-1, 1], the conditioning frame, per-frame elevation / azimuth / distance, camera
// matrices, and where it came from. Conventions (the angles and frame order as sgm's
// `scripts/sampling/simple_video_sample.py` feeds SV3D_p):
// - elevation in degrees, positive above the object's horizon;
// - azimuth in degrees in [0, 360), counter-clockwise about world up, relative to the
//   conditioning frame (which has azimuth 0); the conditioning frame is the last one (index 20);
// - cameras: intrinsics K in pixels of the stored frames, extrinsics world-to-camera 3x4 in
//   OpenCV axes (x right, y down, z forward), in the source's own world.

import Foundation
import Imaging
import Tensor

public struct FrameCamera: Codable, Equatable, Sendable {
    /// 3x3 intrinsics in pixels of the stored frame (row-major).
    public var K: [[Double]]
    /// 3x4 world-to-camera [R | t], OpenCV axes.
    public var worldToCamera: [[Double]]

    public init(K: [[Double]], worldToCamera: [[Double]]) { self.K = K; self.worldToCamera = worldToCamera }

    enum CodingKeys: String, CodingKey {
        case K
        case worldToCamera = "world_to_camera_opencv"
    }
}

/// Everything about a sample except the pixels: the JSON member of a shard sample.
public struct SequenceMetadata: Codable, Equatable, Sendable {
    public enum Source: String, Codable, Sendable { case renders, mvimgnet }

    public var source: Source
    public var objectID: String
    public var width: Int
    public var height: Int
    public var conditioningIndex: Int
    public var elevationsDeg: [Double]
    public var azimuthsDeg: [Double]
    public var distances: [Double]
    public var cameras: [FrameCamera]
    /// The source frame each sample frame came from (file name).
    public var frameNames: [String]
    public var extrinsicsConvention = "opencv_w2c"
    public var angleConvention = "elevation above horizon; azimuth ccw about up, relative to conditioning frame"

    public init(source: Source, objectID: String, width: Int, height: Int, conditioningIndex: Int,
                elevationsDeg: [Double], azimuthsDeg: [Double], distances: [Double],
                cameras: [FrameCamera], frameNames: [String]) {
        self.source = source; self.objectID = objectID; self.width = width; self.height = height
        self.conditioningIndex = conditioningIndex; self.elevationsDeg = elevationsDeg
        self.azimuthsDeg = azimuthsDeg; self.distances = distances; self.cameras = cameras
        self.frameNames = frameNames
    }

    public var frameCount: Int { elevationsDeg.count }

    enum CodingKeys: String, CodingKey {
        case source, width, height, cameras, distances
        case objectID = "object_id"
        case conditioningIndex = "cond_index"
        case elevationsDeg = "elevations_deg"
        case azimuthsDeg = "azimuths_deg"
        case frameNames = "frame_names"
        case extrinsicsConvention = "extrinsics_convention"
        case angleConvention = "angle_convention"
    }

    /// Checks the per-frame arrays agree; thrown errors name `context` (a file or key).
    public func validate(_ context: String) throws {
        let n = elevationsDeg.count
        for (name, count) in [("azimuths_deg", azimuthsDeg.count), ("distances", distances.count),
                              ("cameras", cameras.count), ("frame_names", frameNames.count)] where count != n {
            throw SequenceError.invalid(context, "\(name) has \(count) entries, elevations_deg \(n)")
        }
        guard (0..<max(n, 1)).contains(conditioningIndex) else {
            throw SequenceError.invalid(context, "cond_index \(conditioningIndex) outside 0..<\(n)")
        }
        guard width > 0, height > 0 else { throw SequenceError.invalid(context, "size \(width)x\(height)") }
    }
}

public enum SequenceError: Error, CustomStringConvertible, Equatable {
    case invalid(String, String)
    case notEnoughFrames(String, have: Int, need: Int)
    public var description: String {
        switch self {
        case .invalid(let context, let why): return "\(context): \(why)"
        case .notEnoughFrames(let context, let have, let need):
            return "\(context): \(have) usable frames, need \(need)"
        }
    }
}

public struct TrainingSequence {
    public var metadata: SequenceMetadata
    /// [T, 3, H, W] in [-1, 1].
    public var frames: Tensor

    public init(metadata: SequenceMetadata, frames: Tensor) {
        precondition(frames.shape == [metadata.frameCount, 3, metadata.height, metadata.width],
                     "frames \(frames.shape) do not match the metadata")
        self.metadata = metadata
        self.frames = frames
    }

    /// Builds the float frames from 8-bit RGB images: v / 127.5 − 1, channels planar.
    public init(metadata: SequenceMetadata, images: [Image8]) {
        let (w, h) = (metadata.width, metadata.height)
        var scalars = [Float](repeating: 0, count: images.count * 3 * h * w)
        for (t, image) in images.enumerated() {
            precondition(image.width == w && image.height == h && image.channels == 3, "frame \(t) size")
            let base = t * 3 * h * w
            for i in 0..<(h * w) {
                for c in 0..<3 { scalars[base + c * h * w + i] = Float(image.pixels[3 * i + c]) / 127.5 - 1 }
            }
        }
        self.init(metadata: metadata, frames: Tensor(shape: [images.count, 3, h, w], scalars: scalars))
    }

    /// The conditioning frame [3, H, W].
    public var conditioning: Tensor {
        let (w, h) = (metadata.width, metadata.height)
        let n = 3 * h * w
        let all = frames.scalars
        let start = metadata.conditioningIndex * n
        return Tensor(shape: [3, h, w], scalars: Array(all[start..<start + n]))
    }

    /// Frames back to 8-bit RGB (exact for frames that came from 8-bit images).
    public func images() -> [Image8] {
        let (w, h) = (metadata.width, metadata.height)
        let all = frames.scalars
        return (0..<metadata.frameCount).map { t in
            var image = Image8(width: w, height: h, channels: 3)
            let base = t * 3 * h * w
            for i in 0..<(h * w) {
                for c in 0..<3 {
                    let v = ((all[base + c * h * w + i] + 1) * 127.5).rounded()
                    image.pixels[3 * i + c] = UInt8(max(0, min(255, v)))
                }
            }
            return image
        }
    }

    /// SV3D_p camera conditioning (sgm `simple_video_sample.py`): polar = deg2rad(90 − elevation),
    /// azimuth = deg2rad(relative azimuth), each through sgm's cos-first sinusoidal embedding of
    /// width `dim` (512 in the sv3d_p config) → [T, 2·dim] = [polar | azimuth].
    public func cameraEmbedding(dim: Int = 512) -> Tensor {
        let polar = polarEmbedding(dim: dim).scalars, azimuth = azimuthEmbedding(dim: dim).scalars
        let t = metadata.frameCount
        var out = [Float]()
        out.reserveCapacity(t * 2 * dim)
        for i in 0..<t {
            out += polar[(i * dim)..<((i + 1) * dim)]
            out += azimuth[(i * dim)..<((i + 1) * dim)]
        }
        return Tensor(shape: [t, 2 * dim], scalars: out)
    }

    /// Elevation embedding: emb(deg2rad(90 − elevation)) per frame → [T, dim].
    public func polarEmbedding(dim: Int = 512) -> Tensor {
        timestepEmbedding(metadata.elevationsDeg.map(Self.polarRadians), dim: dim)
    }

    /// Azimuth embedding: emb(deg2rad(relative azimuth)) per frame → [T, dim].
    public func azimuthEmbedding(dim: Int = 512) -> Tensor {
        timestepEmbedding(metadata.azimuthsDeg.map { Float($0 * .pi / 180) }, dim: dim)
    }

    /// SV3D's polar angle in radians for an elevation in degrees (computed in Double, then rounded
    /// to Float as NumPy's deg2rad followed by torch.tensor(float32) does).
    public static func polarRadians(_ elevationDeg: Double) -> Float { Float((90 - elevationDeg) * .pi / 180) }
}

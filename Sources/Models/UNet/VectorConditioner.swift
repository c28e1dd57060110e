// The `vector` conditioning y of the VideoUNet, as sgm's GeneralConditioner builds it
// (sgm/modules/encoders/modules.py) from the `ConcatTimestepEmbedderND` embedders of the sampling
// configs, with the batch laid out as scripts/sampling/simple_video_sample.py `get_batch` does.
// Each scalar gets the cos-first sinusoid of its embedder's width; the 2-D outputs are concatenated
// along the channel axis in config order. Also: the SV3D_p camera inputs and the unconditional
// branch used for classifier-free guidance.

import Foundation
import Tensor

/// The vector embedders of one released config, in order.
public struct VectorConditioner: Codable, Equatable, Sendable {
    /// The batch key each embedder reads (sgm `input_key`).
    public enum Input: String, Codable, Sendable, CaseIterable {
        /// Frame rate id, raw (SVD: 6).
        case fpsID = "fps_id"
        /// Motion bucket id, raw (SVD: 127).
        case motionBucketID = "motion_bucket_id"
        /// σ of the noise added to the conditioning frame (SVD 0.02; SV3D 1e-5).
        case conditioningAugmentation = "cond_aug"
        /// Polar angle per frame in radians, deg2rad(90° − elevation) (SV3D_p).
        case polar = "polars_rad"
        /// Azimuth per frame in radians relative to the input view (SV3D_p).
        case azimuth = "azimuths_rad"
    }

    /// sgm `ConcatTimestepEmbedderND(outdim: width)` on `input`.
    public struct Embedder: Codable, Equatable, Sendable {
        public var input: Input
        public var width: Int
        public init(_ input: Input, width: Int) { self.input = input; self.width = width }
    }

    public var embedders: [Embedder]

    public init(_ embedders: [Embedder]) { self.embedders = embedders }

    /// Width of y (the UNet's `adm_in_channels`).
    public var width: Int { embedders.reduce(0) { $0 + $1.width } }

    /// svd.yaml / svd_xt.yaml: fps_id, motion_bucket_id, cond_aug (the CLIP and VAE embedders between
    /// them produce crossattn / concat, not vector).
    public static let svd = VectorConditioner([Embedder(.fpsID, width: 256), Embedder(.motionBucketID, width: 256),
                                               Embedder(.conditioningAugmentation, width: 256)])
    public static let svdXT = svd
    /// sv3d_u.yaml: cond_aug only.
    public static let sv3dU = VectorConditioner([Embedder(.conditioningAugmentation, width: 256)])
    /// sv3d_p.yaml: cond_aug, polars_rad, azimuths_rad.
    public static let sv3dP = VectorConditioner([Embedder(.conditioningAugmentation, width: 256),
                                                 Embedder(.polar, width: 512), Embedder(.azimuth, width: 512)])

    /// Inputs whose embeddings are zeroed in the unconditional branch at sampling time: none.
    /// simple_video_sample.py forces only `cond_frames` and `cond_frames_without_noise` (the concat
    /// latent and the CLIP tokens) to zero, and no released config sets `ucg_rate`, so y is the same
    /// for both branches.
    public static let unconditionalZeroedInputs: Set<Input> = []

    public enum Error: Swift.Error, CustomStringConvertible {
        case missingInput(Input)
        case rowCount(Input, got: Int, expected: Int)
        public var description: String {
            switch self {
            case .missingInput(let input): return "vector conditioning needs '\(input.rawValue)'"
            case let .rowCount(input, got, expected):
                return "'\(input.rawValue)' has \(got) rows, expected \(expected)"
            }
        }
    }

    /// y [rows, width] from one value per row for each input; embeddings of inputs in `zeroing` are
    /// zeros (sgm `force_zero_embeddings`).
    public func callAsFunction(_ values: [Input: [Float]], zeroing: Set<Input> = []) throws -> Tensor {
        guard let first = embedders.first, let firstValues = values[first.input] else {
            throw Error.missingInput(embedders.first?.input ?? .conditioningAugmentation)
        }
        let rows = firstValues.count
        let parts = try embedders.map { embedder -> Tensor in
            guard let v = values[embedder.input] else { throw Error.missingInput(embedder.input) }
            guard v.count == rows else { throw Error.rowCount(embedder.input, got: v.count, expected: rows) }
            if zeroing.contains(embedder.input) { return Tensor(zeros: [rows, embedder.width]) }
            return timestepEmbedding(v, dim: embedder.width)
        }
        return Tensor.concatenated(parts, axis: 1)
    }

    /// The per-row inputs of `simple_video_sample.get_batch` for B `videos` of `frames` frames:
    /// scalars (fps, motion, cond_aug) repeated B·T times; per-frame camera lists (length T) tiled
    /// B times (row b·T + t gets entry t).
    public static func rows(videos: Int, frames: Int, fpsID: Float = 6, motionBucketID: Float = 127,
                            conditioningAugmentation: Float, camera: SV3DCamera? = nil) -> [Input: [Float]] {
        let n = videos * frames
        var out: [Input: [Float]] = [
            .fpsID: Array(repeating: fpsID, count: n),
            .motionBucketID: Array(repeating: motionBucketID, count: n),
            .conditioningAugmentation: Array(repeating: conditioningAugmentation, count: n),
        ]
        if let camera {
            precondition(camera.polarsRadians.count == frames && camera.azimuthsRadians.count == frames,
                         "camera lists must have one entry per frame")
            out[.polar] = Array((0..<videos).map { _ in camera.polarsRadians }.joined())
            out[.azimuth] = Array((0..<videos).map { _ in camera.azimuthsRadians }.joined())
        }
        return out
    }
}

/// SV3D_p's per-frame camera inputs as simple_video_sample.py computes them.
public struct SV3DCamera: Equatable, Sendable {
    /// deg2rad(90° − elevation) per frame.
    public var polarsRadians: [Float]
    /// deg2rad((azimuth − azimuth_last) mod 360°) per frame: the last frame is the input view (0).
    public var azimuthsRadians: [Float]

    /// `elevationsDegrees`: one per frame (the script repeats a scalar, default 10°);
    /// `azimuthsDegrees`: one per frame, nil for the default orbit linspace(0, 360, T+1)[1:] mod 360
    /// (360/T, 2·360/T, ..., 0).
    public init(elevationsDegrees: [Double], azimuthsDegrees: [Double]? = nil) {
        let frames = elevationsDegrees.count
        let azimuths = azimuthsDegrees ?? Self.defaultAzimuthsDegrees(frames: frames)
        precondition(azimuths.count == frames, "need \(frames) azimuths, got \(azimuths.count)")
        let radiansPerDegree = Double.pi / 180  // numpy deg2rad: x * (pi / 180)
        polarsRadians = elevationsDegrees.map { Float((90 - $0) * radiansPerDegree) }
        let last = azimuths[frames - 1]
        azimuthsRadians = azimuths.map { a -> Float in
            var r = (a - last).truncatingRemainder(dividingBy: 360)  // Python's %: sign of the divisor
            if r < 0 { r += 360 }
            return Float(r * radiansPerDegree)
        }
    }

    /// The orbit at a fixed elevation (the script's default: 21 frames at 10°).
    public init(frames: Int = 21, elevationDegrees: Double = 10) {
        self.init(elevationsDegrees: Array(repeating: elevationDegrees, count: frames))
    }

    /// numpy linspace(0, 360, frames + 1)[1:] % 360.
    public static func defaultAzimuthsDegrees(frames: Int) -> [Double] {
        let step = 360.0 / Double(frames)
        return (1...frames).map { i in
            let a = i == frames ? 360.0 : Double(i) * step  // linspace sets the endpoint exactly
            return a.truncatingRemainder(dividingBy: 360)
        }
    }
}

/// The three conditioning tensors sgm's GeneralConditioner hands the UNet, frames-flattened.
public struct UNetConditioning {
    /// "crossattn": CLIP image tokens, [B·T, 1, contextWidth].
    public var crossAttention: Tensor
    /// "concat": the conditioning latent, [B·T, 4, h, w], concatenated to the noisy latent.
    public var concat: Tensor
    /// "vector": y, [B·T, vectorWidth].
    public var vector: Tensor

    public init(crossAttention: Tensor, concat: Tensor, vector: Tensor) {
        self.crossAttention = crossAttention
        self.concat = concat
        self.vector = vector
    }

    /// The per-video embeddings repeated over the frames of each video, as simple_video_sample.py
    /// does (`repeat "b ... -> b t ..."`, then `(b t)`): row b·T + t of crossattn/concat is video b's.
    /// - clipEmbedding: [B, N, contextWidth] ("crossattn" of the CLIP embedder, N = 1).
    /// - concatLatent: [B, 4, h, w] (the VAE-encoder mean of the conditioning frame, unscaled).
    /// - vector: [B·T, vectorWidth] from `VectorConditioner`.
    public init(clipEmbedding: Tensor, concatLatent: Tensor, vector: Tensor, frames: Int) {
        let videos = clipEmbedding.shape[0]
        precondition(concatLatent.shape[0] == videos && vector.shape[0] == videos * frames,
                     "crossattn \(clipEmbedding.shape), concat \(concatLatent.shape), vector \(vector.shape) for \(frames) frames")
        func perFrame(_ t: Tensor) -> Tensor {
            let rest = Array(t.shape.dropFirst())
            return t.reshaped([videos, 1] + rest).broadcast(to: [videos, frames] + rest)
                .reshaped([videos * frames] + rest)
        }
        self.init(crossAttention: perFrame(clipEmbedding), concat: perFrame(concatLatent), vector: vector)
    }

    /// The unconditional branch of classifier-free guidance at sampling time
    /// (simple_video_sample.py: force_uc_zero_embeddings = [cond_frames, cond_frames_without_noise]):
    /// CLIP tokens and concat latent zeroed, y unchanged.
    public func unconditional() -> UNetConditioning {
        UNetConditioning(crossAttention: Tensor(zeros: crossAttention.shape), concat: Tensor(zeros: concat.shape),
                         vector: vector)
    }
}

// CLIP-S, the metric of the SVD and SV3D papers' GSO tables: the cosine similarity of the CLIP
// image embeddings of a generated view and its ground-truth view, ⟨e_gen, e_gt⟩ / (|e_gen|·|e_gt|),
// a raw cosine (not ×100, not (1 + cos)/2), averaged like the other metrics (views -> objects).
// Views are the evaluator's [3, H, W] tensors in [0, 1], already composited on white; the
// preprocessing is open_clip's evaluation transform on tensors
// (Models/CLIP/CLIPPreprocess+Evaluation.swift: short side resized to 224 with antialiased bicubic,
// centre crop 224, CLIP mean/std). The tower is an open_clip ViT (B/32, L/14, ...) read from the
// user's weights file.

import Foundation
import Models
import Tensor

/// What the report says about CLIP-S: how it was computed, or why it was not.
public struct CLIPScoreStatus: Codable, Equatable, Sendable {
    public var computed: Bool
    /// open_clip architecture name, e.g. "ViT-B-32-quickgelu".
    public var model: String?
    public var weights: String?
    public var preprocessing: String?
    /// Why CLIP-S is missing (only when `computed` is false).
    public var reason: String?

    public static func notComputed(_ reason: String) -> CLIPScoreStatus {
        CLIPScoreStatus(computed: false, model: nil, weights: nil, preprocessing: nil, reason: reason)
    }

    public static let noWeightsReason = "no CLIP weights given (--clip-weights FILE or $SVDMV_CLIP_WEIGHTS: an "
        + "open_clip ViT-B/32 or ViT-L/14 image tower as safetensors)"
}

public final class CLIPScorer {
    public static let preprocessing = "open_clip evaluation transform on float tensors: resize shortest side to 224 "
        + "(bicubic, antialiased, torchvision), centre crop 224, CLIP mean/std; views composited on white first"

    public let tower: VisionTransformer
    public let status: CLIPScoreStatus
    /// Images per tower call (bounds the activations' memory).
    public var batchSize = 8

    public init(tower: VisionTransformer, model: String, weights: String) {
        self.tower = tower
        status = CLIPScoreStatus(computed: true, model: model, weights: weights, preprocessing: Self.preprocessing,
                                 reason: nil)
    }

    /// Loads the tower from a weights file (see `VisionTransformer.loadCLIPImageTower`).
    public convenience init(weights url: URL, activation: VisionTransformerConfig.Activation) throws {
        let loaded = try VisionTransformer.loadCLIPImageTower(from: url, activation: activation)
        self.init(tower: loaded.tower, model: loaded.architecture, weights: url.path)
    }

    /// Image embeddings [N, E] (not normalised) of views [3, H, W] in [0, 1]; views of one size are
    /// batched together.
    public func embeddings(_ views: [Tensor]) -> Tensor {
        precondition(!views.isEmpty, "no views to embed")
        var rows: [Tensor] = []
        var start = 0
        while start < views.count {
            var end = start + 1
            while end < views.count, end - start < batchSize, views[end].shape == views[start].shape { end += 1 }
            let batch = Tensor.concatenated(views[start..<end].map { $0.reshaped([1] + $0.shape) }, axis: 0)
            rows.append(GradMode.withoutGradients {
                tower(CLIPPreprocess.evaluationTransform(batch, size: tower.config.imageSize))
            })
            start = end
        }
        return rows.count == 1 ? rows[0] : Tensor.concatenated(rows, axis: 0)
    }

    /// Cosine similarity of corresponding rows of two [N, E] embeddings, in Double.
    public static func cosineSimilarities(_ a: Tensor, _ b: Tensor) -> [Double] {
        precondition(a.shape == b.shape && a.rank == 2, "embeddings \(a.shape) and \(b.shape)")
        let (n, e) = (a.shape[0], a.shape[1])
        return (0..<n).map { i in
            var (dot, na, nb) = (0.0, 0.0, 0.0)
            for j in 0..<e {
                let (x, y) = (Double(a.data[i * e + j]), Double(b.data[i * e + j]))
                dot += x * y; na += x * x; nb += y * y
            }
            return dot / max((na * nb).squareRoot(), 1e-300)
        }
    }

    /// CLIP-S of each generated view against its ground-truth view.
    public func scores(generated: [Tensor], groundTruth: [Tensor]) -> [Double] {
        precondition(generated.count == groundTruth.count, "\(generated.count) generated vs \(groundTruth.count) ground-truth views")
        return Self.cosineSimilarities(embeddings(generated), embeddings(groundTruth))
    }
}

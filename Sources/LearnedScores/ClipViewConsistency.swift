// `clip_view_consistency`: how much the views of one orbit look like one object to CLIP. Each
// scored view (RGB over white) goes through the evaluator's CLIP image tower with its preprocessing
// (Evaluation.CLIPScorer: open_clip's evaluation transform, views of one size batched); the
// embeddings are normalised, and the score is the mean over views of the cosine similarity of each
// view's embedding to the mean of the other views' (leave-one-out):
//
//     u_i = e_i / |e_i|,   score = (1/n) Σ_i cos(u_i, Σ_{j≠i} u_j),   n >= 2 views
//
// 1 when every view embeds alike; lower when views do not look like the same object: a broken or
// empty render (a blank frame among the object's views), a view with wildly different texture or
// colour (a material that failed on some faces), a scene whose content changes with the angle.
// Leave-one-out rather than against the canonical view 0: every view counts the same, so the score
// does not depend on which view is the odd one (an odd view 0 would otherwise lower every pair and
// look like an orbit of odd views) and does not change when the views are reordered. A good
// object's back and side views legitimately differ from its front, so the level depends on the
// object and the CLIP model: the default cascade drops a percentile, not an absolute value.
//
// Deterministic: fixed view order, no randomness, the tower's reductions in a fixed order. Calls
// into the tower are serialised (one CLIPScorer is shared by the scoring workers; its operations
// parallelise across the cores themselves).

import Curation
import Evaluation
import Foundation
import Imaging
import Models
import Tensor

/// Why `ClipViewConsistency` could not score a set of views (recorded as the score's absence).
public struct LearnedScoreError: Error, CustomStringConvertible, Equatable, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public final class ClipViewConsistency: LearnedScore, @unchecked Sendable {
    public let name = ScoreName.clipViewConsistency
    public let model: String
    public let scorer: CLIPScorer
    private let lock = NSLock()

    /// The score through `scorer`'s tower. `model` records the architecture and the weights file
    /// with its size (curation-config.json's `scoring.learned`).
    public init(scorer: CLIPScorer) {
        self.scorer = scorer
        let weights = scorer.status.weights ?? "unnamed weights"
        let attributes = try? FileManager.default.attributesOfItem(atPath: weights)
        let size = (attributes?[.size] as? NSNumber).map { " (\($0.int64Value) bytes)" } ?? ""
        model = "CLIP \(scorer.status.model ?? "image tower") from \(weights)\(size)"
    }

    /// Loads the CLIP image tower from `url` as the evaluator does (`CLIPScorer(weights:activation:)`);
    /// a file that is not an open_clip image tower throws `CLIPWeightsError`, naming the file and key.
    public convenience init(weights url: URL, activation: VisionTransformerConfig.Activation) throws {
        self.init(scorer: try CLIPScorer(weights: url, activation: activation))
    }

    public func score(_ views: [Image8]) throws -> Double {
        guard views.count >= 2 else {
            throw LearnedScoreError("needs at least 2 scored views, got \(views.count)")
        }
        let tensors = views.map(viewTensor)
        lock.lock()
        let embeddings = scorer.embeddings(tensors)
        lock.unlock()
        return Self.leaveOneOutConsistency(embeddings)
    }

    /// The mean over rows of cos(u_i, Σ_{j≠i} u_j) of the normalised rows u of embeddings [N, E], in Double.
    public static func leaveOneOutConsistency(_ embeddings: Tensor) -> Double {
        precondition(embeddings.rank == 2 && embeddings.shape[0] >= 2, "embeddings \(embeddings.shape)")
        let (n, e) = (embeddings.shape[0], embeddings.shape[1])
        let values = embeddings.scalars
        var unit = [Double](repeating: 0, count: n * e), sum = [Double](repeating: 0, count: e)
        for i in 0..<n {
            let row = (0..<e).map { Double(values[i * e + $0]) }
            let norm = max(row.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-300)
            for j in 0..<e { unit[i * e + j] = row[j] / norm; sum[j] += unit[i * e + j] }
        }
        var total = 0.0
        for i in 0..<n {
            var (dot, others) = (0.0, 0.0)
            for j in 0..<e {
                let rest = sum[j] - unit[i * e + j]
                dot += unit[i * e + j] * rest
                others += rest * rest
            }
            total += dot / max(others.squareRoot(), 1e-300)
        }
        return total / Double(n)
    }
}

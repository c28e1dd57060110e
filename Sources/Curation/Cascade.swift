// The cascade: stages applied in order to the items the earlier stages kept, each dropped item
// recorded with the first stage that dropped it and why (see `CurationConfiguration` for what a
// stage means). Items that could not be scored (`ScoreRecord.error`) and that no stage dropped are
// dropped last, at the stage `unscored`.

import Foundation
import Reporting

public struct CascadeDrop: Equatable, Sendable {
    public var id: String
    public var stage: String
    public var reason: String
}

public struct CascadeResult: Equatable, Sendable {
    /// Ids kept, in the records' order.
    public var kept: [String]
    /// Ids dropped, in the records' order, with the first stage that dropped each.
    public var dropped: [CascadeDrop]
    /// The stages with the thresholds they resolved and their counts.
    public var stages: [CurationConfiguration.Stage]
}

public enum Cascade {
    /// The stage name of items dropped because they could not be scored.
    public static let unscoredStage = "unscored"

    public static func apply(_ configuration: CurationConfiguration, to records: [ScoreRecord]) -> CascadeResult {
        var alive = Array(records.indices)
        var dropStage = [Int: (String, String)]()
        var resolved: [CurationConfiguration.Stage] = []
        for stage in configuration.stages {
            var out = stage.unresolved
            out.reached = alive.count
            let before = dropStage.count
            switch stage.kind {
            case .threshold:
                applyThreshold(stage, records: records, alive: alive, drops: &dropStage, resolved: &out)
            case .nearDuplicates:
                let candidates = alive.filter { records[$0].phash.flatMap(PerceptualHash.init(hex:)) != nil }
                let hashes = candidates.map { PerceptualHash(hex: records[$0].phash!)! }
                for d in nearDuplicates(hashes, maxDistance: stage.maxHamming ?? 0) {
                    dropStage[candidates[d.index]] = (stage.name,
                        "near-duplicate of \(records[candidates[d.keeper]].id) (pHash Hamming distance \(d.distance), linked at <= \(stage.maxHamming ?? 0))")
                }
                if candidates.isEmpty, !alive.isEmpty { out.skipped = "no item reaching this stage has a perceptual hash" }
            }
            // An item that could not be scored says why, whichever stage dropped it.
            for i in alive where dropStage[i] != nil && records[i].error != nil {
                if let (name, reason) = dropStage[i], !reason.contains(records[i].error!) {
                    dropStage[i] = (name, reason + "; " + records[i].error!)
                }
            }
            out.dropped = dropStage.count - before
            alive = alive.filter { dropStage[$0] == nil }
            resolved.append(out)
        }
        for i in alive where records[i].error != nil {
            dropStage[i] = (unscoredStage, records[i].error!)
        }
        var result = CascadeResult(kept: [], dropped: [], stages: resolved)
        for (i, record) in records.enumerated() {
            if let (stage, reason) = dropStage[i] {
                result.dropped.append(CascadeDrop(id: record.id, stage: stage, reason: reason))
            } else {
                result.kept.append(record.id)
            }
        }
        return result
    }

    static func applyThreshold(_ stage: CurationConfiguration.Stage, records: [ScoreRecord], alive: [Int],
                               drops: inout [Int: (String, String)], resolved: inout CurationConfiguration.Stage) {
        guard let score = stage.score, let keep = stage.keep else { return }
        let present = alive.filter { records[$0].scores[score] != nil }
        guard !present.isEmpty else {
            if !alive.isEmpty {
                let why = alive.lazy.compactMap { records[$0].absent[score] ?? records[$0].error }.first ?? "not recorded"
                resolved.skipped = "no item reaching this stage has \(score) (e.g. \(why))"
            }
            return
        }
        let threshold: Double, how: String
        if let p = stage.percentile {
            let population = (stage.population ?? .survivors) == .corpus
                ? records.compactMap { $0.scores[score] } : present.map { records[$0].scores[score]! }
            threshold = percentile(population, p)!
            how = "percentile \(format(p)) of \(population.count) \((stage.population ?? .survivors) == .corpus ? "scored items" : "items reaching this stage")"
        } else {
            threshold = stage.threshold!
            how = "the threshold"
        }
        resolved.resolvedThreshold = threshold
        for i in alive {
            guard let value = records[i].scores[score] else {
                if (stage.missing ?? .drop) == .drop {
                    drops[i] = (stage.name, "\(score) absent: \(records[i].absent[score] ?? records[i].error ?? "not recorded")")
                }
                continue
            }
            switch keep {
            case .above where value < threshold:
                drops[i] = (stage.name, "\(score) \(format(value)) < \(format(threshold)) (\(how))")
            case .below where value > threshold:
                drops[i] = (stage.name, "\(score) \(format(value)) > \(format(threshold)) (\(how))")
            default: break
            }
        }
    }

    /// Up to 4 significant digits, without a trailing ".0" on whole numbers (as the report shows them).
    static func format(_ v: Double) -> String { compactNumber(v) }
}

// What `report.html` shows about a curation run, computed from its records, the cascade's result
// and the configuration: per stage how many items reached it, how many it dropped and how many
// remained, its score and threshold (absolute, or the percentile and the value it resolved to),
// the score's values (over the items reaching the stage and over every scored item) for the
// histograms, and the items just above and just below the threshold for the contact sheets; which
// scores are absent and why (learned scores without weights, scores no item has). The page and its
// pictures: CurationReport+HTML.swift.

import Foundation
import Reporting

public struct CurationReport {
    /// An item shown in a contact sheet.
    public struct Example: Equatable, Sendable {
        public var id: String
        /// The stage's score (nil for near-duplicates).
        public var value: Double?
        /// For a near-duplicate, the id of the item kept in its place.
        public var keeper: String?
        /// Why it was dropped, for near-duplicates.
        public var reason: String?
    }

    public struct StageSummary: Equatable, Sendable {
        /// The stage as the run resolved it (threshold, counts, why it was skipped).
        public var stage: CurationConfiguration.Stage
        public var reached: Int
        public var dropped: Int
        public var remained: Int { reached - dropped }
        /// Items reaching the stage without its score.
        public var missingScore: Int
        /// The score of the items reaching the stage, and of every scored item (threshold stages).
        public var reachingValues: [Double]
        public var corpusValues: [Double]
        /// The threshold in words: "0.01 (absolute)", "percentile 25 of 12 items reaching this stage".
        public var thresholdDescription: String?
        /// Items on the side of the threshold scored higher (values above it, ascending from the
        /// threshold) and lower (descending from it); each side is all kept or all dropped.
        public var above: [Example]
        public var below: [Example]
        /// Whether the items above the threshold are the kept ones.
        public var aboveIsKept: Bool
        /// Near-duplicates: dropped items with the item kept in their place.
        public var duplicates: [Example]
    }

    public var source: ScoreRecord.Source
    public var description: String?
    public var itemCount: Int
    public var keptCount: Int
    public var droppedCount: Int
    /// Items dropped because they could not be scored and no stage dropped them first.
    public var unscoredCount: Int
    public var stages: [StageSummary]
    /// Learned scores that ran (their names); empty when no weights were given.
    public var learnedScores: [String]
    /// A score absent from every item that has any score, with the reasons recorded for it.
    public struct AbsentScore: Equatable, Sendable {
        public var name: String
        public var reason: String
    }
    public var absentEverywhere: [AbsentScore]
    /// The records, by id (for the pictures).
    let records: [String: ScoreRecord]

    /// The report of a run. `learnedScores`: the names of the learned scores that ran (none
    /// without weights); `examplesPerSide`: items shown on each side of a threshold.
    public init(records: [ScoreRecord], result: CascadeResult, configuration: CurationConfiguration,
                learnedScores: [String] = [], examplesPerSide: Int = 4) {
        source = configuration.source
        description = configuration.description
        itemCount = records.count
        keptCount = result.kept.count
        droppedCount = result.dropped.count
        unscoredCount = result.dropped.filter { $0.stage == Cascade.unscoredStage }.count
        self.learnedScores = learnedScores
        self.records = Dictionary(records.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })

        let dropStage = Dictionary(result.dropped.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var alive = records
        stages = result.stages.map { stage in
            let reaching = alive
            let droppedHere = reaching.filter { dropStage[$0.id]?.stage == stage.name }
            alive = reaching.filter { dropStage[$0.id]?.stage != stage.name }
            return Self.summary(stage, reaching: reaching, droppedHere: droppedHere, corpus: records,
                                drops: dropStage, examplesPerSide: examplesPerSide)
        }

        let scored = records.filter { !$0.scores.isEmpty }
        absentEverywhere = Set(scored.flatMap { $0.absent.keys }).sorted()
            .filter { name in scored.allSatisfy { $0.scores[name] == nil } }
            .map { name in AbsentScore(name: name, reason: Set(scored.compactMap { $0.absent[name] }).sorted().joined(separator: "; ")) }
    }

    static func summary(_ stage: CurationConfiguration.Stage, reaching: [ScoreRecord], droppedHere: [ScoreRecord],
                        corpus: [ScoreRecord], drops: [String: CascadeDrop], examplesPerSide: Int) -> StageSummary {
        var s = StageSummary(stage: stage, reached: reaching.count, dropped: droppedHere.count, missingScore: 0,
                             reachingValues: [], corpusValues: [], thresholdDescription: nil, above: [], below: [],
                             aboveIsKept: stage.keep != .below, duplicates: [])
        switch stage.kind {
        case .nearDuplicates:
            let ids = Set(reaching.map(\.id))
            s.duplicates = droppedHere.prefix(2 * examplesPerSide).map { r in
                let reason = drops[r.id]?.reason ?? ""
                // The cascade's reason names the kept item: "near-duplicate of ID (pHash ...".
                let keeper = ids.first { reason.hasPrefix("near-duplicate of \($0) (") }
                return Example(id: r.id, value: nil, keeper: keeper, reason: reason)
            }
        case .threshold:
            guard let score = stage.score else { return s }
            s.reachingValues = reaching.compactMap { $0.scores[score] }
            s.corpusValues = corpus.compactMap { $0.scores[score] }
            s.missingScore = reaching.count - s.reachingValues.count
            guard let t = stage.resolvedThreshold, let keep = stage.keep else { return s }
            if let p = stage.percentile {
                let corpusWide = (stage.population ?? .survivors) == .corpus
                let n = corpusWide ? s.corpusValues.count : s.reachingValues.count
                s.thresholdDescription = "percentile \(compactNumber(p)) of \(n) \(corpusWide ? "scored items" : "items reaching this stage")"
            } else {
                s.thresholdDescription = "absolute"
            }
            // An item at the threshold is kept, so it sits on the kept side.
            let present = reaching.compactMap { r in r.scores[score].map { (r.id, $0) } }
            let isAbove: (Double) -> Bool = keep == .above ? { $0 >= t } : { $0 > t }
            s.above = present.filter { isAbove($0.1) }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }
                .prefix(examplesPerSide).map { Example(id: $0.0, value: $0.1) }
            s.below = present.filter { !isAbove($0.1) }.sorted { ($0.1, $1.0) > ($1.1, $0.0) }
                .prefix(examplesPerSide).map { Example(id: $0.0, value: $0.1) }
        }
        return s
    }
}

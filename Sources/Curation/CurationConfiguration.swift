// The cascade's configuration (`--config FILE`, and `curation-config.json` in every output with
// the thresholds it resolved): which source it is for, how items are scored, and the stages in
// order. The defaults for each source are checked in as `Datasets/curation/renders.json` and
// `Datasets/curation/mvimgnet.json` (a test keeps them equal to `defaultRenders`/`defaultMVImgNet`).
//
//   {
//     "format": "svdmv-curation-config", "version": 1, "source": "renders" | "mvimgnet",
//     "scoring": { "view_stride": 1, "capture": { "sharpness_size": 256, "flow": {...}, "cuts": {...} },
//                  "learned": { "clip_view_consistency": "<model and weights>" } },   (written by a run)
//     "stages": [
//       { "name": "motion", "score": "motion", "keep": "above", "percentile": 25,
//         "population": "survivors", "missing": "drop", "why": "the paper's top 75 % by motion" },
//       { "name": "too-small", "score": "coverage_min", "keep": "above", "threshold": 0.02 },
//       { "name": "near-duplicates", "kind": "near-duplicates", "max_hamming": 4 }
//     ]
//   }
//
// A threshold stage keeps an item whose score is >= its threshold ("keep": "above") or <= it
// ("below"); the threshold is absolute ("threshold") or a percentile ("percentile", 0...100, numpy's
// linear interpolation) of the score over the items reaching the stage ("population": "survivors",
// the default, as a cascade filters what earlier stages left) or over every scored item ("corpus").
// The paper's "keep the top 75 % by motion" is keep above the 25th percentile. An item without the
// score is dropped ("missing": "drop", the default) or passed on ("keep"). A stage whose score no
// item reaching it has (a learned score without weights) is skipped, and says so.

import Foundation

public struct CurationConfiguration: Codable, Equatable, Sendable {
    public static let formatName = "svdmv-curation-config"
    public static let currentVersion = 1

    public struct Scoring: Codable, Equatable, Sendable {
        /// Renders: score every `view_stride`-th view (1: all).
        public var viewStride = 1
        /// MVImgNet: how frames are measured.
        public var capture = CaptureScoreSettings()
        /// The learned scores a run computed, by name, with the model that computed each
        /// (`LearnedScore.model`); nil when none ran. Set by the run from what it was given
        /// (`recordLearned`), not read as a request: a rerun reuses scores only when it matches.
        public var learned: [String: String]?

        public init() {}

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            viewStride = try c.decodeIfPresent(Int.self, forKey: .viewStride) ?? 1
            capture = try c.decodeIfPresent(CaptureScoreSettings.self, forKey: .capture) ?? CaptureScoreSettings()
            learned = try c.decodeIfPresent([String: String].self, forKey: .learned)
        }

        /// Records `scores` as the learned scores of this run (nil when there are none).
        public mutating func recordLearned(_ scores: [any LearnedScore]) {
            learned = scores.isEmpty ? nil : Dictionary(scores.map { ($0.name, $0.model) }, uniquingKeysWith: { a, _ in a })
        }

        enum CodingKeys: String, CodingKey {
            case capture, learned
            case viewStride = "view_stride"
        }
    }

    public struct Stage: Codable, Equatable, Sendable {
        public enum Kind: String, Codable, Sendable {
            case threshold
            case nearDuplicates = "near-duplicates"
        }
        public enum Keep: String, Codable, Sendable { case above, below }
        public enum Population: String, Codable, Sendable { case survivors, corpus }
        public enum Missing: String, Codable, Sendable { case drop, keep }

        public var name: String
        public var kind: Kind = .threshold
        public var score: String?
        public var keep: Keep?
        public var threshold: Double?
        public var percentile: Double?
        public var population: Population?
        public var missing: Missing?
        /// Near-duplicates: the largest Hamming distance between the canonical views' hashes that
        /// links two items.
        public var maxHamming: Int?
        /// Why the stage is there, in words.
        public var why: String?

        // Written by a run (curation-config.json), ignored when read back as a configuration.
        /// The absolute threshold used (a percentile resolved over its population).
        public var resolvedThreshold: Double?
        public var reached: Int?
        public var dropped: Int?
        public var skipped: String?

        public init(name: String, score: String, keep: Keep, threshold: Double? = nil, percentile: Double? = nil,
                    population: Population? = nil, missing: Missing? = nil, why: String? = nil) {
            self.name = name; self.score = score; self.keep = keep; self.threshold = threshold
            self.percentile = percentile; self.population = population; self.missing = missing; self.why = why
        }

        public init(nearDuplicatesNamed name: String, maxHamming: Int, why: String? = nil) {
            self.name = name; kind = .nearDuplicates; self.maxHamming = maxHamming; self.why = why
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            kind = try c.decodeIfPresent(Kind.self, forKey: .kind) ?? .threshold
            score = try c.decodeIfPresent(String.self, forKey: .score)
            keep = try c.decodeIfPresent(Keep.self, forKey: .keep)
            threshold = try c.decodeIfPresent(Double.self, forKey: .threshold)
            percentile = try c.decodeIfPresent(Double.self, forKey: .percentile)
            population = try c.decodeIfPresent(Population.self, forKey: .population)
            missing = try c.decodeIfPresent(Missing.self, forKey: .missing)
            maxHamming = try c.decodeIfPresent(Int.self, forKey: .maxHamming)
            why = try c.decodeIfPresent(String.self, forKey: .why)
            resolvedThreshold = try c.decodeIfPresent(Double.self, forKey: .resolvedThreshold)
            reached = try c.decodeIfPresent(Int.self, forKey: .reached)
            dropped = try c.decodeIfPresent(Int.self, forKey: .dropped)
            skipped = try c.decodeIfPresent(String.self, forKey: .skipped)
        }

        enum CodingKeys: String, CodingKey {
            case name, kind, score, keep, threshold, percentile, population, missing, why, reached, dropped, skipped
            case maxHamming = "max_hamming"
            case resolvedThreshold = "resolved_threshold"
        }

        /// The stage as a configuration, without what a run wrote into it.
        public var unresolved: Stage {
            var s = self
            s.resolvedThreshold = nil; s.reached = nil; s.dropped = nil; s.skipped = nil
            return s
        }

        func check() -> String? {
            guard !name.isEmpty, !name.contains("\t"), !name.contains("\n") else { return "a stage needs a name without tabs or newlines" }
            switch kind {
            case .threshold:
                guard let score, !score.isEmpty else { return "stage \(name): needs \"score\"" }
                guard keep != nil else { return "stage \(name): needs \"keep\": \"above\" or \"below\"" }
                guard (threshold == nil) != (percentile == nil) else {
                    return "stage \(name): give exactly one of \"threshold\" and \"percentile\""
                }
                if let threshold, !threshold.isFinite { return "stage \(name): threshold must be finite" }
                if let percentile, !(0...100).contains(percentile) { return "stage \(name): percentile must be in 0...100" }
                if population != nil, percentile == nil { return "stage \(name): \"population\" applies to percentiles only" }
            case .nearDuplicates:
                guard let maxHamming, (0...64).contains(maxHamming) else { return "stage \(name): needs \"max_hamming\" in 0...64" }
                guard score == nil, keep == nil, threshold == nil, percentile == nil else {
                    return "stage \(name): a near-duplicates stage takes only \"max_hamming\""
                }
            }
            return nil
        }
    }

    public var format = CurationConfiguration.formatName
    public var version = CurationConfiguration.currentVersion
    public var source: ScoreRecord.Source
    public var description: String?
    public var scoring = Scoring()
    public var stages: [Stage]

    public init(source: ScoreRecord.Source, description: String? = nil, stages: [Stage]) {
        self.source = source; self.description = description; self.stages = stages
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decode(String.self, forKey: .format)
        version = try c.decode(Int.self, forKey: .version)
        source = try c.decode(ScoreRecord.Source.self, forKey: .source)
        description = try c.decodeIfPresent(String.self, forKey: .description)
        scoring = try c.decodeIfPresent(Scoring.self, forKey: .scoring) ?? Scoring()
        stages = try c.decode([Stage].self, forKey: .stages)
    }

    enum CodingKeys: String, CodingKey { case format, version, source, description, scoring, stages }

    /// What is wrong with the configuration, if anything (format, version, stage fields, names).
    public func problem() -> String? {
        guard format == Self.formatName else { return "format \(format), expected \(Self.formatName)" }
        guard version == Self.currentVersion else { return "version \(version), this svdmv reads \(Self.currentVersion)" }
        guard scoring.viewStride >= 1 else { return "scoring.view_stride must be at least 1" }
        let cuts = scoring.capture.cuts
        guard cuts.strides.count == cuts.floors.count, cuts.strides.allSatisfy({ $0 >= 1 }), cuts.bins >= 2 else {
            return "scoring.capture.cuts: one floor per stride, strides >= 1, bins >= 2"
        }
        let flow = scoring.capture.flow
        guard flow.blockSize >= 2, flow.blockStep >= 1, flow.searchRadius >= 1, flow.analysisSize >= flow.blockSize + 2 * flow.searchRadius else {
            return "scoring.capture.flow: block_size >= 2, block_step >= 1, search_radius >= 1, analysis_size >= block_size + 2 search_radius"
        }
        guard scoring.capture.sharpnessSize >= 3 else { return "scoring.capture.sharpness_size must be at least 3" }
        var names = Set<String>()
        for stage in stages {
            if let p = stage.check() { return p }
            guard names.insert(stage.name).inserted else { return "two stages are named \(stage.name)" }
        }
        return nil
    }

    /// Reads and checks a configuration file; errors name the file.
    public static func read(_ url: URL) throws -> CurationConfiguration {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw CurationError(path: url.path, reason: "cannot read file")
        }
        let config: CurationConfiguration
        do { config = try JSONDecoder().decode(CurationConfiguration.self, from: data) } catch let DecodingError.keyNotFound(key, context) {
            throw CurationError(path: url.path, reason: "missing field \((context.codingPath + [key]).map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: "."))")
        } catch let DecodingError.dataCorrupted(context) {
            throw CurationError(path: url.path, reason: "bad value at \(context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")): \(context.debugDescription)")
        } catch let DecodingError.typeMismatch(_, context) {
            throw CurationError(path: url.path, reason: "wrong type at \(context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: "."))")
        } catch {
            throw CurationError(path: url.path, reason: "not a curation configuration (\(error))")
        }
        if let p = config.problem() { throw CurationError(path: url.path, reason: p) }
        return config
    }

    /// Pretty-printed JSON with sorted keys.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    public static func defaults(for source: ScoreRecord.Source) -> CurationConfiguration {
        source == .renders ? defaultRenders : defaultMVImgNet
    }
}

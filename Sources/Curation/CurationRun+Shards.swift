// A training-shard set as curation input: one WebDataset `.tar` shard or a folder of them, as
// `svdmv dataset renders|mvimgnet` writes them (MultiViewData's Shards.swift). Each sample is an
// item: its id is the sample's key, its path `<shard>#<key>`, and it is scored as the kind of item
// its metadata's source says, from the frames the shard holds (`OrbitScorer.score(frames:)`,
// `CaptureScorer.score(frames:cameras:)`); every sample of a run must come from one source.
//
// Shards are read one at a time, whole, as ShardReader reads them, but through the functions it is
// built on (`Tar.forEachMember`, `shardSamples`, `decodeSample`) rather than the reader itself: the
// reader ends at the first error, and here a sample that does not decode is one item's error, and
// the samples of a shard before the byte where it is corrupt are still scored. A corrupt or
// unreadable shard becomes a record of its own (id: the shard's file name, which no key can be:
// keys have no dots) with the error naming the file; the run goes on.

import Foundation
import Imaging
import MultiViewData
import Reporting

extension CurationRun {
    /// The shards of an input that is a shard set: the file itself when it is a `.tar`; a folder's
    /// `.tar` files when it holds neither rendered orbits nor MVImgNet captures; nil otherwise.
    public static func shardSet(_ input: URL) -> [URL]? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: input.path, isDirectory: &isDirectory) else { return nil }
        if !isDirectory.boolValue && input.pathExtension != "tar" { return nil }
        if isDirectory.boolValue && folderSource(input) != nil { return nil }
        return try? TrainingShards.urls(input.path)
    }

    /// The `path` of a shard sample's record: the shard file and the sample's key.
    public static func shardItemPath(shard: URL, key: String) -> String { shard.path + "#" + key }

    /// The shard file and key of a shard sample's record path; nil for other paths.
    static func shardAndKey(_ path: String) -> (shard: String, key: String)? {
        guard let hash = path.lastIndex(of: "#") else { return nil }
        return (String(path[..<hash]), String(path[path.index(after: hash)...]))
    }

    /// The key and source of the first sample, in shard order, whose metadata reads; nil when none does.
    public static func firstSampleSource(_ shards: [URL]) -> (key: String, source: ScoreRecord.Source)? {
        for shard in shards {
            if let (key, metadata) = firstSample(shard) { return (key, ScoreRecord.Source(metadata.source)) }
        }
        return nil
    }

    private struct FoundFirstSample: Error {}

    /// The key and metadata of a shard's first sample, reading only as much of the shard as it takes.
    static func firstSample(_ shard: URL) -> (key: String, metadata: SequenceMetadata)? {
        guard let handle = try? FileHandle(forReadingFrom: shard) else { return nil }
        defer { try? handle.close() }
        var limit = 32 << 20
        while true {
            guard (try? handle.seek(toOffset: 0)) != nil, let data = try? handle.read(upToCount: limit) else { return nil }
            var found: (key: String, json: Data)?
            do {
                try Tar.forEachMember(data, path: shard.path) { member in
                    // Fields come in sorted order, so the first sample's .json ends it.
                    guard let sample = shardSamples([member]).first, let json = sample.fields["json"] else { return }
                    found = (sample.key, json)
                    throw FoundFirstSample()
                }
            } catch is FoundFirstSample {
            } catch {
                // The first sample may run past what was read: read more, up to the whole shard.
                if found == nil, data.count == limit { limit *= 4; continue }
            }
            guard let found, let metadata = try? JSONDecoder().decode(SequenceMetadata.self, from: found.json) else { return nil }
            return (found.key, metadata)
        }
    }

    /// Scores every sample of `shards` as items of `source`, each shard's samples with `workers`
    /// in parallel, reusing and journaling records as `score` does; the records come back in id
    /// order. `expected` is told, after each shard is read, how many items the run is expected to
    /// have: those found so far and, for each shard not yet read, the mean per shard read. Throws
    /// when a sample's source is not `source` (naming a key of each source) or a key is in two shards.
    public static func scoreShards(_ shards: [URL], source: ScoreRecord.Source, configuration: CurationConfiguration,
                                   learned: [any LearnedScore] = [], workers: Int = ProcessInfo.processInfo.activeProcessorCount,
                                   reuse: [String: ScoreRecord] = [:], journal: ScoreJournal? = nil,
                                   progress: @escaping @Sendable (String) -> Void = { _ in },
                                   expected: (Int) -> Void = { _ in }) throws -> [ScoreRecord] {
        var configured = OrbitScorer()
        configured.viewStride = configuration.scoring.viewStride
        configured.learned = learned
        let orbitScorer = configured
        let captureScorer = CaptureScorer(settings: configuration.scoring.capture)
        var records: [ScoreRecord] = []
        var shardOfKey: [String: URL] = [:]
        var firstOfSource: String?
        var found = 0
        for (n, shard) in shards.enumerated() {
            let (samples, failure) = readShard(shard)
            var work: [(id: String, path: String, score: @Sendable () -> ScoreRecord)] = []
            for sample in samples {
                let key = sample.key, fields = sample.fields, path = shardItemPath(shard: shard, key: key)
                if let other = shardOfKey[key] {
                    throw CurationError(path: shard.path, reason: "sample \(key) is also in \(other.path) (a shard set holds each key once)")
                }
                shardOfKey[key] = shard
                // A sample whose metadata does not read is left to decodeSample, which says why.
                if let json = fields["json"], let metadata = try? JSONDecoder().decode(SequenceMetadata.self, from: json) {
                    let sampleSource = ScoreRecord.Source(metadata.source)
                    guard sampleSource == source else {
                        throw CurationError(path: path, reason: firstOfSource.map {
                            "the shard set mixes sources: \($0) is a \(source.rawValue) sample, \(key) a \(sampleSource.rawValue) one"
                        } ?? "a \(sampleSource.rawValue) sample; this run scores \(source.rawValue) samples")
                    }
                    if firstOfSource == nil { firstOfSource = key }
                }
                work.append((key, path, {
                    scoreSample(fields: fields, key: key, shard: shard, path: path, source: source,
                                orbitScorer: orbitScorer, captureScorer: captureScorer)
                }))
            }
            if let failure {
                let id = shard.lastPathComponent, message = "\(failure); the rest of the shard is not read"
                work.append((id, shard.path, {
                    var record = ScoreRecord(id: id, source: source, path: shard.path)
                    record.error = message
                    return record
                }))
            }
            found += work.count
            expected(found + max(1, found / (n + 1)) * (shards.count - n - 1))
            records += run(work, source: source, workers: workers, reuse: reuse, journal: journal, progress: progress)
        }
        return records.sorted { $0.id < $1.id }
    }

    /// A shard's samples, and the error that ended reading it early, if any (the samples before
    /// it are kept; the last of them may be incomplete, which decoding it will say).
    static func readShard(_ shard: URL) -> (samples: [(key: String, fields: [String: Data])], failure: Error?) {
        guard let data = FileManager.default.contents(atPath: shard.path) else {
            return ([], CurationError(path: shard.path, reason: "cannot read shard"))
        }
        var members: [TarMember] = []
        do {
            try Tar.forEachMember(data, path: shard.path) { members.append($0) }
        } catch {
            return (shardSamples(members), error)
        }
        return (shardSamples(members), nil)
    }

    static func scoreSample(fields: [String: Data], key: String, shard: URL, path: String, source: ScoreRecord.Source,
                            orbitScorer: OrbitScorer, captureScorer: CaptureScorer) -> ScoreRecord {
        let sequence: TrainingSequence
        do { sequence = try decodeSample(fields: fields, key: key, source: shard.path) } catch {
            var record = ScoreRecord(id: key, source: source, path: path)
            record.error = "\(error)"
            return record
        }
        let frames = sequence.images()
        switch source {
        case .renders: return orbitScorer.score(frames: frames, id: key, path: path)
        case .mvimgnet: return captureScorer.score(frames: frames, cameras: sequence.metadata.cameras, id: key, path: path)
        }
    }

    /// The report's pictures of shard samples (records whose path is `<shard>#<key>`): a render
    /// sample's first frame (the one its pHash is of), a capture sample's middle frame. Each shard
    /// is read once, for all the pictures it holds.
    public static func shardPictures(_ records: [ScoreRecord]) -> [String: Result<Image8, Error>] {
        var pictures: [String: Result<Image8, Error>] = [:]
        var byShard: [String: [(record: ScoreRecord, key: String)]] = [:]
        for record in records {
            guard let (shard, key) = shardAndKey(record.path) else {
                pictures[record.id] = .failure(CurationError(path: record.path, reason: "not a shard sample (<shard>#<key>)"))
                continue
            }
            byShard[shard, default: []].append((record, key))
        }
        for (shard, wanted) in byShard {
            let (samples, failure) = readShard(URL(fileURLWithPath: shard))
            let fieldsByKey = Dictionary(samples.map { ($0.key, $0.fields) }, uniquingKeysWith: { a, _ in a })
            for (record, key) in wanted {
                pictures[record.id] = Result {
                    guard let fields = fieldsByKey[key] else {
                        throw failure ?? CurationError(path: record.path, reason: "no such sample in the shard")
                    }
                    let frames = try decodeSample(fields: fields, key: key, source: shard).images()
                    guard !frames.isEmpty else { throw CurationError(path: record.path, reason: "no frames") }
                    return Thumbnail.fitted(record.source == .renders ? frames[0] : frames[frames.count / 2])
                }
            }
        }
        return pictures
    }
}

extension ScoreRecord.Source {
    /// The kind of item a shard sample was made from.
    init(_ source: SequenceMetadata.Source) {
        switch source {
        case .renders: self = .renders
        case .mvimgnet: self = .mvimgnet
        }
    }
}

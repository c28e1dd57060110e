// A curation run over a corpus: find the items (the renderer's object folders, MVImgNet captures,
// or the samples of a training-shard set: CurationRun+Shards.swift), score each (in parallel; a
// bad item becomes a record with its error, the run goes on), apply the cascade, and write the
// outputs, each atomically (FileSupport's temp + rename):
//
//   DIR/scores.jsonl            one ScoreRecord per line, in id order
//   DIR/kept.txt                ids kept, one per line (`svdmv dataset renders|mvimgnet --only`)
//   DIR/dropped.tsv             id, stage, reason (header line first)
//   DIR/curation-config.json    the configuration used, each stage with the threshold it resolved,
//                               how many items reached it and how many it dropped
//   DIR/report.html             the stages, the score histograms and contact sheets around each
//                               threshold (CurationReport), pictures in DIR/report-pictures/

import FileSupport
import Foundation
import Imaging
import MultiViewData

public struct CurationItem: Equatable, Sendable {
    public var id: String
    public var folder: URL
    /// Renders: the object's last status in the renderer's manifests, if any.
    public var manifestStatus: String?
}

public enum CurationRun {
    /// The source an input holds: renders when a subfolder has a cameras.json or the folder has a
    /// renderer manifest; MVImgNet when captures (`<category>/<object>/sparse/0`) are found; for a
    /// shard set (`shardSet`), the source of its first sample; nil otherwise.
    public static func detectSource(_ root: URL) -> ScoreRecord.Source? {
        if let source = folderSource(root) { return source }
        return shardSet(root).flatMap { firstSampleSource($0)?.source }
    }

    /// The source of a folder of rendered orbits or MVImgNet captures; nil for anything else.
    static func folderSource(_ root: URL) -> ScoreRecord.Source? {
        let fm = FileManager.default
        let names = (try? fm.contentsOfDirectory(atPath: root.path)) ?? []
        if names.contains(where: { $0.hasPrefix("manifest") && $0.hasSuffix(".tsv") })
            || names.contains(where: { fm.fileExists(atPath: root.appendingPathComponent($0).appendingPathComponent("cameras.json").path) }) {
            return .renders
        }
        if let captures = try? MVImgNetCapture.discover(root: root), !captures.isEmpty { return .mvimgnet }
        return nil
    }

    /// The renderer's objects under `root`: every subfolder with a cameras.json or any PNG (a render
    /// cut short), and every id a manifest (`manifest*.tsv`: id, status, input) records; the last
    /// status of each id wins. Sorted by id.
    public static func renderItems(_ root: URL) throws -> [CurationItem] {
        let fm = FileManager.default
        let names: [String]
        do { names = try fm.contentsOfDirectory(atPath: root.path) } catch {
            throw CurationError(path: root.path, reason: "cannot list folder")
        }
        var status: [String: String] = [:]
        for manifest in names.filter({ $0.hasPrefix("manifest") && $0.hasSuffix(".tsv") }).sorted() {
            let url = root.appendingPathComponent(manifest)
            guard let text = try? String(contentsOf: url, encoding: .utf8) else {
                throw CurationError(path: url.path, reason: "cannot read manifest")
            }
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
                guard fields.count >= 2, !fields[0].isEmpty else { continue }   // a torn last line
                status[String(fields[0])] = String(fields[1])
            }
        }
        var ids = Set(status.keys)
        for name in names where !name.hasPrefix(".") {
            let folder = root.appendingPathComponent(name)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: folder.path, isDirectory: &isDir), isDir.boolValue else { continue }
            let inside = (try? fm.contentsOfDirectory(atPath: folder.path)) ?? []
            if inside.contains("cameras.json") || inside.contains(where: { $0.lowercased().hasSuffix(".png") }) { ids.insert(name) }
        }
        return ids.sorted().map { CurationItem(id: $0, folder: root.appendingPathComponent($0), manifestStatus: status[$0]) }
    }

    /// Scores every item with `workers` in parallel; `progress` is called after each (from any
    /// thread). A record in `reuse` with the item's id and path and no error is taken as it is
    /// (a rerun resumes); every newly scored record is appended to `journal`, if given.
    public static func score(source: ScoreRecord.Source, root: URL, configuration: CurationConfiguration,
                             learned: [any LearnedScore] = [], workers: Int = ProcessInfo.processInfo.activeProcessorCount,
                             reuse: [String: ScoreRecord] = [:], journal: ScoreJournal? = nil,
                             progress: @escaping @Sendable (String) -> Void = { _ in }) throws -> [ScoreRecord] {
        let work: [(id: String, path: String, score: @Sendable () -> ScoreRecord)]
        switch source {
        case .renders:
            var configured = OrbitScorer()
            configured.viewStride = configuration.scoring.viewStride
            configured.learned = learned
            let scorer = configured
            work = try renderItems(root).map { item in
                (item.id, item.folder.path, { scorer.score(folder: item.folder, id: item.id, manifestStatus: item.manifestStatus) })
            }
        case .mvimgnet:
            let captures: [MVImgNetCapture]
            do { captures = try MVImgNetCapture.discover(root: root) } catch {
                throw CurationError(path: root.path, reason: "cannot list MVImgNet captures (\(error.localizedDescription))")
            }
            let scorer = CaptureScorer(settings: configuration.scoring.capture)
            work = captures.map { capture in (capture.id, capture.directory.path, { scorer.score(capture) }) }
        }
        return run(work, source: source, workers: workers, reuse: reuse, journal: journal, progress: progress)
    }

    /// Scores `work` with `workers` in parallel, taking a record from `reuse` instead where it has
    /// the item's id, path and source and no error; appends each new record to `journal`.
    static func run(_ work: [(id: String, path: String, score: @Sendable () -> ScoreRecord)], source: ScoreRecord.Source,
                    workers: Int, reuse: [String: ScoreRecord], journal: ScoreJournal?,
                    progress: @escaping @Sendable (String) -> Void) -> [ScoreRecord] {
        parallelMap(work, workers: workers) { item in
            if let old = reuse[item.id], old.path == item.path, old.source == source, old.error == nil {
                progress(item.id)
                return old
            }
            let record = item.score()
            journal?.append(record)
            progress(item.id)
            return record
        }
    }

    static func parallelMap<T, R>(_ items: [T], workers: Int, _ body: @Sendable (T) -> R) -> [R] {
        var results = [R?](repeating: nil, count: items.count)
        let lock = NSLock()
        nonisolated(unsafe) var next = 0
        DispatchQueue.concurrentPerform(iterations: max(1, min(workers, items.count))) { _ in
            while true {
                lock.lock()
                let i = next
                next += 1
                lock.unlock()
                guard i < items.count else { return }
                let r = body(items[i])
                lock.lock(); results[i] = r; lock.unlock()
            }
        }
        return results.map { $0! }
    }

    public static let scoresFile = "scores.jsonl"
    public static let keptFile = "kept.txt"
    public static let droppedFile = "dropped.tsv"
    public static let configurationFile = "curation-config.json"

    /// The records of an earlier run in `out` that scored with `scoring`: those of a finished run
    /// (scores.jsonl, when its curation-config.json has the same scoring settings) and those of a
    /// run cut short (its journal), by id; empty when there are none or the settings differ.
    public static func previousRecords(in out: URL, source: ScoreRecord.Source,
                                       scoring: CurationConfiguration.Scoring) -> [String: ScoreRecord] {
        var records: [String: ScoreRecord] = [:]
        let decoder = JSONDecoder()
        if let config = try? CurationConfiguration.read(out.appendingPathComponent(configurationFile)),
           config.source == source, config.scoring == scoring,
           let text = try? String(contentsOf: out.appendingPathComponent(scoresFile), encoding: .utf8) {
            for line in text.split(separator: "\n") {
                if let r = try? decoder.decode(ScoreRecord.self, from: Data(line.utf8)) { records[r.id] = r }
            }
        }
        for r in ScoreJournal.read(out.appendingPathComponent(ScoreJournal.fileName), source: source, scoring: scoring) {
            records[r.id] = r
        }
        return records
    }

    /// Writes the outputs into `out`, each atomically, the report last. `learnedScores`: the
    /// names of the learned scores that ran (the report says the others are absent); `pictures`:
    /// where the report's pictures of items come from (`shardPictures` for a shard set's samples).
    public static func write(records: [ScoreRecord], result: CascadeResult, configuration: CurationConfiguration,
                             learnedScores: [String] = [], pictures: CurationReport.Pictures = CurationReport.folderPictures,
                             to out: URL) throws {
        defer { try? FileManager.default.removeItem(at: out.appendingPathComponent(ScoreJournal.fileName)) }
        let lines = try records.map { try $0.jsonLine() }
        try writeAtomically(Data(lines.map { $0 + "\n" }.joined().utf8), to: out.appendingPathComponent(scoresFile))
        try writeAtomically(Data(result.kept.map { $0 + "\n" }.joined().utf8), to: out.appendingPathComponent(keptFile))
        func field(_ s: String) -> String { s.replacingOccurrences(of: "\t", with: " ").replacingOccurrences(of: "\n", with: " ") }
        let dropped = ["id\tstage\treason"] + result.dropped.map { "\(field($0.id))\t\(field($0.stage))\t\(field($0.reason))" }
        try writeAtomically(Data((dropped.joined(separator: "\n") + "\n").utf8), to: out.appendingPathComponent(droppedFile))
        var used = configuration
        used.stages = result.stages
        try writeAtomically(try used.encoded(), to: out.appendingPathComponent(configurationFile))
        try CurationReport(records: records, result: result, configuration: configuration, learnedScores: learnedScores)
            .write(to: out, pictures: pictures)
    }

    /// Reads a kept list (`kept.txt`: one id per line; blank lines and `#` comments ignored).
    public static func readKeptList(_ url: URL) throws -> Set<String> {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw CurationError(path: url.path, reason: "cannot read the list of kept ids")
        }
        return Set(text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") })
    }
}

/// The records of a run in progress, appended one line (one write) each as they are scored, so a
/// killed run's work is not lost: `OUT/.scores-journal.jsonl`, its first line the source and the
/// scoring settings the records were made with. Removed when the run's outputs are written.
public final class ScoreJournal: @unchecked Sendable {
    public static let fileName = ".scores-journal.jsonl"

    struct Header: Codable, Equatable {
        var journal = 1
        var source: ScoreRecord.Source
        var scoring: CurationConfiguration.Scoring
    }

    private let handle: FileHandle
    private let lock = NSLock()

    /// Opens the journal in `out` for appending; starts it afresh (header first) unless it was
    /// made with the same source and settings.
    public init(out: URL, source: ScoreRecord.Source, scoring: CurationConfiguration.Scoring) throws {
        let url = out.appendingPathComponent(Self.fileName)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let header = Header(source: source, scoring: scoring)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        if Self.header(url) != header {
            let line = String(decoding: try encoder.encode(header), as: UTF8.self) + "\n"
            guard FileManager.default.createFile(atPath: url.path, contents: Data(line.utf8)) else {
                throw CurationError(path: url.path, reason: "cannot create the scores journal")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: url.path) else {
            throw CurationError(path: url.path, reason: "cannot open the scores journal for appending")
        }
        _ = try? handle.seekToEnd()
        self.handle = handle
    }

    deinit { try? handle.close() }

    public func append(_ record: ScoreRecord) {
        guard let line = try? record.jsonLine() else { return }
        lock.lock()
        defer { lock.unlock() }
        handle.write(Data((line + "\n").utf8))
    }

    static func header(_ url: URL) -> Header? {
        guard let text = try? String(contentsOf: url, encoding: .utf8), let first = text.split(separator: "\n").first else { return nil }
        return try? JSONDecoder().decode(Header.self, from: Data(first.utf8))
    }

    /// The records of a journal made with `source` and `scoring` (a torn last line is skipped).
    static func read(_ url: URL, source: ScoreRecord.Source, scoring: CurationConfiguration.Scoring) -> [ScoreRecord] {
        guard header(url) == Header(source: source, scoring: scoring),
              let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").dropFirst().compactMap { try? JSONDecoder().decode(ScoreRecord.self, from: Data($0.utf8)) }
    }
}

// `svdmv curate`: score every object of a renders folder or every MVImgNet capture, run the
// curation cascade and write scores.jsonl, kept.txt, dropped.tsv, curation-config.json and
// report.html (Curation.CurationRun, CurationReport). Parsing, progress and the summary only; the scores and the cascade are
// in Curation.

import ArgumentParser
import Curation
import Foundation
import MultiViewData

extension ScoreRecord.Source: ExpressibleByArgument {}

struct CurationConfigOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Cascade configuration (JSON, as Datasets/curation/renders.json and mvimgnet.json, or a run's curation-config.json); default: the built-in one for the source.", valueName: "file"))
    var config: String?

    @Option(help: "What INPUT holds (default: detected: a subfolder with cameras.json or a manifest*.tsv means renders, <category>/<object>/sparse/0 means MVImgNet).")
    var source: ScoreRecord.Source?

    func validate() throws {
        if let config, !FileManager.default.isReadableFile(atPath: config) {
            throw ValidationError("--config: cannot read \(config)")
        }
    }
}

extension SVDMV {
    struct Curate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score rendered orbits or MVImgNet captures and keep those that pass a curation cascade.",
            discussion: """
                Renders: INPUT/<object>/{000.png ..., cameras.json} as `svdmv render` writes them (its manifest*.tsv \
                records failures). MVImgNet: INPUT/<category>/<object>/{images, sparse/0}. Every item gets every score \
                (scores.jsonl); the cascade's stages (thresholds absolute or percentiles, applied in order) keep or drop \
                it (kept.txt; dropped.tsv with the first stage that dropped it and why); curation-config.json records the \
                configuration with the thresholds it resolved; report.html shows per stage what it dropped, its score's \
                histogram with the threshold and the items just above and below it. An unreadable item is dropped with \
                the reason; the run goes on. `svdmv dataset renders|mvimgnet --only OUT/kept.txt` builds shards of the kept items.
                """)

        @Argument(help: "Folder of rendered orbits or an MVImgNet root.")
        var input: String

        @Option(help: ArgumentHelp("Folder for the outputs (created if needed).", valueName: "dir"))
        var out: String

        @OptionGroup(title: "Cascade") var cascade: CurationConfigOptions

        @Option(help: "Items scored in parallel (default: one per core).")
        var jobs: Int?

        @Flag(help: "Score every item again; by default the scores an earlier run left in --out (finished, or cut short) are reused when it scored with the same settings.")
        var rescore = false

        func validate() throws {
            try requireDirectory(input, "INPUT")
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: out, isDirectory: &isDir), !isDir.boolValue {
                throw ValidationError("--out \(out) exists and is not a folder")
            }
            if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        }

        func run() throws {
            let root = URL(fileURLWithPath: input)
            guard let source = cascade.source ?? CurationRun.detectSource(root) else {
                throw CommandError("\(input): neither rendered orbits (<object>/cameras.json, manifest.tsv) nor MVImgNet captures (<category>/<object>/sparse/0); pass --source")
            }
            let configuration = try cascade.config.map { try CurationConfiguration.read(URL(fileURLWithPath: $0)) }
                ?? CurationConfiguration.defaults(for: source)
            guard configuration.source == source else {
                throw CommandError("\(cascade.config ?? "the configuration") is for \(configuration.source.rawValue), INPUT holds \(source.rawValue)")
            }
            let total = source == .renders ? try CurationRun.renderItems(root).count : ((try? MVImgNetCapture.discover(root: root))?.count ?? 0)
            guard total > 0 else { throw CommandError("no \(source.rawValue) items under \(input)") }
            let outURL = URL(fileURLWithPath: out)
            let previous = rescore ? [:] : CurationRun.previousRecords(in: outURL, source: source, scoring: configuration.scoring)
            let journal = try ScoreJournal(out: outURL, source: source, scoring: configuration.scoring)
            let progress = ProgressBar(total: total)
            let records = try CurationRun.score(source: source, root: root, configuration: configuration,
                                                workers: jobs ?? ProcessInfo.processInfo.activeProcessorCount,
                                                reuse: previous, journal: journal, progress: { progress.step($0) })
            progress.finish()
            let reused = records.filter { r in previous[r.id].map { $0 == r && $0.error == nil } ?? false }.count
            if reused > 0 { print("reused the scores of \(reused) item(s) from an earlier run in \(out) (--rescore scores them again)") }
            let result = Cascade.apply(configuration, to: records)
            try CurationRun.write(records: records, result: result, configuration: configuration, to: outURL)
            print("\(records.count) \(source.rawValue) item(s): \(result.kept.count) kept, \(result.dropped.count) dropped")
            for stage in result.stages {
                let threshold = stage.resolvedThreshold.map { String(format: " (threshold %.4g)", $0) } ?? ""
                let line = stage.skipped.map { "skipped: \($0)" } ?? "dropped \(stage.dropped ?? 0) of \(stage.reached ?? 0)\(threshold)"
                print("  \(stage.name): \(line)")
            }
            let unscored = result.dropped.filter { $0.stage == Cascade.unscoredStage }.count
            if unscored > 0 { print("  \(Cascade.unscoredStage): dropped \(unscored) that could not be scored") }
            print("wrote \(CurationRun.scoresFile), \(CurationRun.keptFile), \(CurationRun.droppedFile), \(CurationRun.configurationFile), "
                + "\(CurationReport.fileName) in \(outURL.path)")
        }
    }
}

// `svdmv curate`: score every object of a renders folder, every MVImgNet capture or every sample
// of a training-shard set, run the curation cascade and write scores.jsonl, kept.txt, dropped.tsv,
// curation-config.json and report.html (Curation.CurationRun, CurationReport). Parsing, progress
// and the summary only; the scores and the cascade are in Curation, the learned scores that
// --clip-weights turns on in LearnedScores.

import ArgumentParser
import Curation
import Foundation
import LearnedScores
import MultiViewData

extension ScoreRecord.Source: ExpressibleByArgument {}

struct CurationConfigOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Cascade configuration (JSON, as Datasets/curation/renders.json and mvimgnet.json, or a run's curation-config.json); default: the built-in one for the source.", valueName: "file"))
    var config: String?

    @Option(help: "What INPUT holds (default: detected: a subfolder with cameras.json or a manifest*.tsv means renders, <category>/<object>/sparse/0 means MVImgNet; for training shards, the source their samples were made from).")
    var source: ScoreRecord.Source?

    @Option(help: ArgumentHelp("open_clip ViT-B/32 or ViT-L/14 weights (safetensors, open_clip key names, as for `svdmv evaluate`) for the learned score clip_view_consistency of renders: each scored view's CLIP image embedding against the mean of the other views'. Without them the score is absent and the default cascade's view-consistency stage is skipped.", valueName: "file"))
    var clipWeights: String?

    @Option(help: "MLP activation of the CLIP weights: quickgelu (OpenAI's) or gelu (OpenCLIP-trained); required with --clip-weights unless $SVDMV_CLIP_ACTIVATION or the file's svdmv_clip_activation metadata says it.")
    var clipActivation: CLIPActivation?

    var resolvedCLIPActivation: CLIPActivation? {
        CLIPActivation.resolved(flag: clipActivation, weights: clipWeights, environment: ProcessInfo.processInfo.environment)
    }

    func validate() throws {
        if let config, !FileManager.default.isReadableFile(atPath: config) {
            throw ValidationError("--config: cannot read \(config)")
        }
        if let clipWeights {
            guard FileManager.default.fileExists(atPath: clipWeights) else {
                throw ValidationError("--clip-weights: no file at \(clipWeights)")
            }
            guard resolvedCLIPActivation != nil else { throw ValidationError(CLIPActivation.requiredMessage) }
        }
    }

    /// The learned scores the options ask for, their weights loaded (a file that is not an open_clip
    /// image tower fails here, naming the file and the key).
    func learnedScores() throws -> [any LearnedScore] {
        guard let clipWeights else { return [] }
        guard let activation = resolvedCLIPActivation else { throw ValidationError(CLIPActivation.requiredMessage) }
        return [try ClipViewConsistency(weights: URL(fileURLWithPath: clipWeights), activation: activation.towerActivation)]
    }
}

extension SVDMV {
    struct Curate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score rendered orbits, MVImgNet captures or training shards and keep those that pass a curation cascade.",
            discussion: """
                Renders: INPUT/<object>/{000.png ..., cameras.json} as `svdmv render` writes them (its manifest*.tsv \
                records failures). MVImgNet: INPUT/<category>/<object>/{images, sparse/0}. Training shards: a .tar \
                shard or a folder of them as `svdmv dataset renders|mvimgnet` writes them; every sample is an item, \
                its id the sample's key (renders-<object>, renders-<object>-sS for the extra samples of \
                --samples-per-orbit, mvimgnet-<category>-<object>; characters other than letters, digits, - and _ \
                become _), scored from the frames the shard holds as an item of the source it was made from (scores \
                that need the renderer's cameras.json, alpha or the COLMAP model are absent, with the reason); all \
                samples must come from one source. Every item gets every score \
                (scores.jsonl); a learned score runs only when its weights are given (--clip-weights: \
                clip_view_consistency of renders and render shards; not of MVImgNet captures) and is otherwise \
                absent, with the reason, and a stage on it skipped. The cascade's stages (thresholds absolute or percentiles, applied in order) keep or drop \
                it (kept.txt; dropped.tsv with the first stage that dropped it and why); curation-config.json records the \
                configuration with the thresholds it resolved; report.html shows per stage what it dropped, its score's \
                histogram with the threshold and the items just above and below it. An unreadable item is dropped with \
                the reason; the run goes on. `svdmv dataset renders|mvimgnet --only OUT/kept.txt` builds shards of the kept \
                items (object folders, captures, or exactly the kept samples when kept.txt lists sample keys).
                """)

        @Argument(help: "Folder of rendered orbits, an MVImgNet root, or training shards (a .tar shard or a folder of them).")
        var input: String

        @Option(help: ArgumentHelp("Folder for the outputs (created if needed).", valueName: "dir"))
        var out: String

        @OptionGroup(title: "Cascade") var cascade: CurationConfigOptions

        @Option(help: "Items scored in parallel (default: one per core).")
        var jobs: Int?

        @Flag(help: "Score every item again; by default the scores an earlier run left in --out (finished, or cut short) are reused when it scored with the same settings.")
        var rescore = false

        func validate() throws {
            var isInputDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isInputDir), isInputDir.boolValue || input.hasSuffix(".tar") else {
                throw ValidationError("INPUT \(input) is not a folder or a .tar shard")
            }
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: out, isDirectory: &isDir), !isDir.boolValue {
                throw ValidationError("--out \(out) exists and is not a folder")
            }
            if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        }

        func run() throws {
            let root = URL(fileURLWithPath: input)
            let shards = CurationRun.shardSet(root)
            guard let source = cascade.source ?? CurationRun.detectSource(root) else {
                throw CommandError("\(input): neither rendered orbits (<object>/cameras.json, manifest.tsv), MVImgNet captures (<category>/<object>/sparse/0) nor training shards (*.tar with a readable sample); pass --source")
            }
            var configuration = try cascade.config.map { try CurationConfiguration.read(URL(fileURLWithPath: $0)) }
                ?? CurationConfiguration.defaults(for: source)
            guard configuration.source == source else {
                throw CommandError("\(cascade.config ?? "the configuration") is for \(configuration.source.rawValue), INPUT holds \(source.rawValue)")
            }
            if cascade.clipWeights != nil, source != .renders {
                throw CommandError("--clip-weights: the learned score \(ScoreName.clipViewConsistency) is computed for rendered orbits "
                    + "(folders or render shards) only; \(input) holds \(source.rawValue) items")
            }
            // Loaded before anything is scored; what ran is recorded with the scoring settings, so
            // scores are reused only from a run with the same learned scores.
            let learned = try cascade.learnedScores()
            configuration.scoring.recordLearned(learned)
            // A shard set's samples are counted as its shards are read.
            let total = shards != nil ? 0 : source == .renders ? try CurationRun.renderItems(root).count
                : ((try? MVImgNetCapture.discover(root: root))?.count ?? 0)
            guard total > 0 || shards != nil else { throw CommandError("no \(source.rawValue) items under \(input)") }
            let outURL = URL(fileURLWithPath: out)
            let previous = rescore ? [:] : CurationRun.previousRecords(in: outURL, source: source, scoring: configuration.scoring)
            let journal = try ScoreJournal(out: outURL, source: source, scoring: configuration.scoring)
            let progress = ProgressBar(total: total)
            let workers = jobs ?? ProcessInfo.processInfo.activeProcessorCount
            let records: [ScoreRecord]
            if let shards {
                records = try CurationRun.scoreShards(shards, source: source, configuration: configuration, learned: learned, workers: workers,
                                                      reuse: previous, journal: journal, progress: { progress.step($0) },
                                                      expected: { progress.update(done: progress.done, total: $0, label: "") })
            } else {
                records = try CurationRun.score(source: source, root: root, configuration: configuration, learned: learned, workers: workers,
                                                reuse: previous, journal: journal, progress: { progress.step($0) })
            }
            progress.finish()
            guard !records.isEmpty else { throw CommandError("no samples in the shards of \(input)") }
            let reused = records.filter { r in previous[r.id].map { $0 == r && $0.error == nil } ?? false }.count
            if reused > 0 { print("reused the scores of \(reused) item(s) from an earlier run in \(out) (--rescore scores them again)") }
            let result = Cascade.apply(configuration, to: records)
            try CurationRun.write(records: records, result: result, configuration: configuration, learnedScores: learned.map(\.name),
                                  pictures: shards != nil ? CurationRun.shardPictures : CurationReport.folderPictures, to: outURL)
            let from = shards.map { " from \($0.count) shard(s)" } ?? ""
            print("\(records.count) \(source.rawValue) item(s)\(from): \(result.kept.count) kept, \(result.dropped.count) dropped")
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

// `svdmv dataset`: build WebDataset training shards from MVImgNet captures or renderer output,
// inspect shards, and time the MVImgNet loader. Parsing, progress and reporting only; the work is
// in MultiViewData.

import ArgumentParser
import Cameras
import Curation
import FileSupport
import Foundation
import Imaging
import MultiViewData

extension SVDMV {
    struct Dataset: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build and inspect training shards (MVImgNet captures, renderer output).",
            subcommands: [MVImgNet.self, Renders.self, Inspect.self, Benchmark.self])
    }
}

/// `I/N`: this machine writes every N-th item starting at I (0-based).
struct ShardSpec: ExpressibleByArgument, CustomStringConvertible {
    var index: Int
    var count: Int
    init?(argument: String) {
        let parts = argument.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, (0..<n).contains(i) else { return nil }
        index = i; count = n
    }
    init(index: Int, count: Int) { self.index = index; self.count = count }
    var description: String { "\(index)/\(count)" }
    /// Shard file prefix, distinct per machine so parallel writers never collide.
    var prefix: String { count == 1 ? "shard" : String(format: "shard-%04d-of-%04d", index, count) }
    func selects(_ position: Int) -> Bool { position % count == index }
}

extension FrameFormat: ExpressibleByArgument {}
extension CaptureGeometry.UpMethod: ExpressibleByArgument {}
extension CaptureGeometry.CentreMethod: ExpressibleByArgument {}

struct ShardOutputOptions: ParsableArguments {
    @Option(name: .long, help: "Folder the shards go into.")
    var out: String

    @Option(name: .long, help: "Write only items I, I+N, I+2N, … (0-based), for N machines.")
    var shard = ShardSpec(index: 0, count: 1)

    @Option(name: .long, help: "Frame encoding inside the shards.")
    var format = FrameFormat.png

    @Option(name: .long, help: "Samples per shard file.")
    var maxSamples = 1000

    @Option(name: .long, help: "Frames per training sequence.")
    var frames = 21

    @Option(name: .long, help: ArgumentHelp("Take only the items whose ids FILE lists, one per line (kept.txt of svdmv curate: object folder names, <category>/<object> captures, or the sample keys of a curated shard set, each of which takes that sample alone).", valueName: "file"))
    var only: String?

    func validate() throws {
        if let only, !FileManager.default.isReadableFile(atPath: only) {
            throw ValidationError("--only: cannot read \(only)")
        }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: out, isDirectory: &isDir), !isDir.boolValue {
            throw ValidationError("--out \(out) exists and is not a folder")
        }
        guard maxSamples >= 1 else { throw ValidationError("--max-samples must be at least 1") }
        guard frames >= 2 else { throw ValidationError("--frames must be at least 2") }
    }

    /// The items `--only` lists (all when it is not given): an item is taken when the list holds
    /// any of its `ids` (its object or capture id, its sample key); the ids it lists that no item
    /// has are reported, not fatal.
    func selected<Item>(_ items: [Item], ids: (Item) -> [String]) throws -> [Item] {
        guard let only else { return items }
        let wanted = try CurationRun.readKeptList(URL(fileURLWithPath: only))
        let kept = items.filter { ids($0).contains(where: wanted.contains) }
        let missing = wanted.subtracting(items.flatMap(ids))
        print("--only \(only): \(kept.count) of \(items.count) item(s)" + (missing.isEmpty ? "" : "; \(missing.count) listed id(s) not found"))
        return kept
    }
}


/// Runs `load` for each selected item, writes samples to shards, records failures and goes on.
/// Writes `<prefix>.index.json` (key → shard) and, if anything failed, `<prefix>.failures.txt`.
func buildShards<Item>(items: [Item], name: (Item) -> String, key: (Item) -> String,
                       options: ShardOutputOptions, load: (Item) throws -> TrainingSequence) throws {
    let selected = items.enumerated().filter { options.shard.selects($0.offset) }.map(\.element)
    let out = URL(fileURLWithPath: options.out)
    let writer = ShardWriter(directory: out, prefix: options.shard.prefix, maxSamples: options.maxSamples,
                             format: options.format)
    let progress = ProgressBar(total: selected.count)
    var failures: [String] = []
    var index: [String: String] = [:]
    for item in selected {
        do {
            let sample = try load(item)
            try writer.write(sample, key: key(item))
            index[key(item)] = String(format: "%@-%06d.tar", options.shard.prefix, writer.finished.count)
        } catch {
            failures.append("\(name(item))\t\(error)")
        }
        progress.step(name(item))
    }
    let shards = try writer.finish()
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try writeAtomically(try encoder.encode(index), to: out.appendingPathComponent("\(options.shard.prefix).index.json"))
    print("wrote \(index.count) samples into \(shards.count) shard(s) in \(out.path) (items \(options.shard) of \(items.count))")
    if !failures.isEmpty {
        let report = out.appendingPathComponent("\(options.shard.prefix).failures.txt")
        try writeAtomically(Data((failures.joined(separator: "\n") + "\n").utf8), to: report)
        print("\(failures.count) item(s) failed; see \(report.path)")
        for line in failures.prefix(5) { print("  \(line)") }
        throw ExitCode(1)
    }
}

func requireDirectory(_ path: String, _ what: String) throws {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
        throw ValidationError("\(what) \(path) is not a folder")
    }
}

extension SVDMV.Dataset {
    struct MVImgNet: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mvimgnet",
            abstract: "Turn MVImgNet captures (ROOT/<category>/<object>/{images,sparse/0}) into shards.")

        @Argument(help: "MVImgNet root folder.")
        var root: String

        @OptionGroup var output: ShardOutputOptions

        @Option(help: "Training frame size in pixels (square).")
        var size = 576

        @Option(help: "Mask tree MASKS/<category>/<object>/<frame>.jpg.png (optional).")
        var masks: String?

        @Option(help: "Up-direction estimator.")
        var up = CaptureGeometry.UpMethod.cameraAxes

        @Option(help: "Object-centre estimator.")
        var centre = CaptureGeometry.CentreMethod.opticalAxes

        @OptionGroup var memory: MemoryOptions

        func validate() throws {
            try requireDirectory(root, "ROOT")
            if let masks { try requireDirectory(masks, "--masks") }
            guard size >= 8 else { throw ValidationError("--size must be at least 8") }
        }

        func run() throws {
            memory.apply()
            var options = MVImgNetOptions()
            options.size = size
            options.frameCount = output.frames
            options.masksRoot = masks.map { URL(fileURLWithPath: $0) }
            options.upMethod = up
            options.centreMethod = centre
            let loader = MVImgNetLoader(options: options)
            func key(_ capture: MVImgNetCapture) -> String { shardKey("mvimgnet-\(capture.category)-\(capture.object)") }
            let captures = try output.selected(try MVImgNetCapture.discover(root: URL(fileURLWithPath: root)), ids: { [$0.id, key($0)] })
            try buildShards(items: captures, name: \.id, key: key, options: output, load: { try loader.load($0) })
        }
    }

    struct Renders: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Turn renderer output (DIR/<object>/{NNN.png, cameras.json}) into shards.")

        @Argument(help: "Folder of per-object render folders.")
        var dir: String

        @OptionGroup var output: ShardOutputOptions

        @Option(help: "Resize frames to this size (default: keep the rendered size).")
        var size: Int?

        @Option(help: "Samples taken from each orbit, up to the interleaved samples of --frames views it holds (an 84-view orbit holds 4 of 21: views s, s+4, ..., s+80); sample s > 0 gets the key suffix -sS.")
        var samplesPerOrbit = 1

        func validate() throws {
            try requireDirectory(dir, "DIR")
            if let size, size < 8 { throw ValidationError("--size must be at least 8") }
            guard samplesPerOrbit >= 1 else { throw ValidationError("--samples-per-orbit must be at least 1") }
        }

        func run() throws {
            var loader = RendersLoader(frameCount: output.frames)
            loader.size = size
            let objects = try RendersLoader.discover(root: URL(fileURLWithPath: dir))
            // (object, sample offset); an unreadable cameras.json keeps one item, whose load reports it.
            let samples: [(object: URL, offset: Int)] = objects.flatMap { object in
                let held = samplesPerOrbit == 1 ? 1
                    : (try? OrbitCameras.read(object.appendingPathComponent(OrbitCameras.fileName))).map(loader.sampleCount) ?? 1
                return (0..<min(samplesPerOrbit, held)).map { (object, $0) }
            }
            func name(_ item: (object: URL, offset: Int)) -> String {
                item.object.lastPathComponent + (item.offset == 0 ? "" : "-s\(item.offset)")
            }
            func key(_ item: (object: URL, offset: Int)) -> String { shardKey("renders-\(name(item))") }
            // An object's folder name takes all its samples; a sample key (a curated shard set's) that one.
            let items = try output.selected(samples, ids: { [$0.object.lastPathComponent, key($0)] })
            try buildShards(items: items, name: name, key: key, options: output,
                            load: { item in
                var sampleLoader = loader
                sampleLoader.sampleOffset = item.offset
                return try sampleLoader.load(objectDirectory: item.object)
            })
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a shard's samples and angles and write a contact sheet (one row per sample).")

        @Argument(help: "A .tar shard.")
        var shard: String

        @Option(help: "Contact sheet PNG (default: SHARD with .tar replaced by .sheet.png).")
        var sheet: String?

        @Option(help: "Samples shown in the contact sheet.")
        var limit = 8

        @Option(help: "Thumbnail size in the contact sheet.")
        var thumbnail = 64

        func validate() throws {
            guard FileManager.default.isReadableFile(atPath: shard) else { throw ValidationError("cannot read \(shard)") }
            guard limit >= 1, thumbnail >= 4 else { throw ValidationError("--limit and --thumbnail must be positive") }
        }

        func run() throws {
            let url = URL(fileURLWithPath: shard)
            let reader = ShardReader(urls: [url])
            var rows: [[Image8]] = []
            var count = 0
            func list(_ values: [Double]) -> String { values.map { String(format: "%6.1f", $0) }.joined(separator: " ") }
            while let (key, sequence) = try reader.next() {
                let m = sequence.metadata
                print("\(key)  source \(m.source.rawValue)  object \(m.objectID)  \(m.frameCount) frames \(m.width)x\(m.height)  cond \(m.conditioningIndex)")
                print("  elevation deg: \(list(m.elevationsDeg))")
                print("  azimuth deg:   \(list(m.azimuthsDeg))")
                count += 1
                if rows.count < limit {
                    rows.append(sequence.images().map {
                        cropAndResize($0, box: CropBox(x: 0, y: 0, width: Double($0.width), height: Double($0.height)),
                                      width: thumbnail, height: thumbnail)
                    })
                }
            }
            print("\(count) sample(s)")
            guard !rows.isEmpty else { return }
            let canvas = ContactSheet.make(rows: rows, cellWidth: thumbnail, cellHeight: thumbnail, spacing: 0)
            let out = sheet.map { URL(fileURLWithPath: $0) }
                ?? url.deletingPathExtension().appendingPathExtension("sheet.png")
            try PNG.write(canvas, to: out)
            print("contact sheet: \(out.path)")
        }
    }

    struct Benchmark: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time loading MVImgNet sequences (read, decode, crop, resize to floats), no shards written.")

        @Argument(help: "MVImgNet root folder.")
        var root: String

        @Option(help: "Training frame size in pixels (square).")
        var size = 576

        @Option(help: "Timed passes over every capture (after one warm-up pass).")
        var repeats = 3

        @Flag(help: "Decode whole JPEGs at full size, then crop (no region or reduced-scale decoding).")
        var fullDecode = false

        @Option(help: "Frames decoded in parallel (default: one per core).")
        var threads: Int?

        @OptionGroup var memory: MemoryOptions

        func validate() throws {
            try requireDirectory(root, "ROOT")
            guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
            if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        }

        func run() throws {
            memory.apply()
            var options = MVImgNetOptions()
            options.size = size
            options.scaledDecoding = !fullDecode
            options.workers = threads
            let loader = MVImgNetLoader(options: options)
            let captures = try MVImgNetCapture.discover(root: URL(fileURLWithPath: root))
            guard !captures.isEmpty else { throw CommandError("no captures under \(root)") }
            for capture in captures { _ = try loader.load(capture) }
            var times: [Double] = []
            for _ in 0..<repeats {
                for capture in captures {
                    let start = DispatchTime.now().uptimeNanoseconds
                    let sequence = try loader.load(capture)
                    times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                    precondition(sequence.frames.shape[0] == options.frameCount)
                }
            }
            times.sort()
            let median = times[times.count / 2]
            print(String(format: "swift: %d sequences, median %.3f s/sequence, min %.3f s (%d threads, region/scaled decode %@, retain memory %@)",
                         times.count, median, times.first!, min(21, threads ?? ProcessInfo.processInfo.activeProcessorCount),
                         options.scaledDecoding ? "on" : "off", memory.retainMemory ? "on" : "off"))
        }
    }
}


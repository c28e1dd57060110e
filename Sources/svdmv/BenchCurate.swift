// `svdmv bench curate`: the scorers of `svdmv curate`, part by part, on synthetic MVImgNet captures
// and rendered orbits (Benchmarks.CurationBenchmark makes and times them); its table is in
// Evaluation/benchmarks.md, "Curation scoring". No PyTorch twin: the pinned environment has no peer.

import ArgumentParser
import Benchmarks
import Foundation

/// `WIDTHxHEIGHT`, e.g. 1920x1080.
struct FrameSizeArgument: ExpressibleByArgument, CustomStringConvertible {
    var width: Int, height: Int

    init(width: Int, height: Int) { self.width = width; self.height = height }

    init?(argument: String) {
        let parts = argument.lowercased().split(separator: "x")
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), w > 0, h > 0 else { return nil }
        self.init(width: w, height: h)
    }

    var description: String { "\(width)x\(height)" }
}

/// `SIZExVIEWS`, e.g. 576x21.
struct OrbitSetArgument: ExpressibleByArgument {
    var set: CurationBenchmark.OrbitSet

    init?(argument: String) {
        guard let parsed = FrameSizeArgument(argument: argument) else { return nil }
        set = CurationBenchmark.OrbitSet(size: parsed.width, views: parsed.height)
    }
}

extension SVDMV.Bench {
    struct CurateBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "curate",
            abstract: "Time `svdmv curate`'s scorers part by part on synthetic MVImgNet captures and rendered orbits.",
            discussion: """
                Makes the inputs in a temporary folder (seeded; removed afterwards): captures in MVImgNet's layout \
                (photo-like JPEG frames sliding as the camera orbits, a COLMAP model of the orbit) and the renderer's \
                orbits (RGBA PNG views, cameras.json) of procedural shapes. Per capture it times frame decode (JPEG at \
                reduced scale), sharpness, the coarse flow motion score, cut detection, and the COLMAP read with the \
                trajectory scores; per orbit, PNG decode and the view measures; each as milliseconds per item and \
                share of their sum, then the whole scorer on one worker and a whole run with --jobs workers, in items \
                per second. Each row is the fastest of --repeats passes over every item, after one untimed item. \
                No PyTorch twin.
                """)

        @Option(help: "MVImgNet-style captures (0: none).")
        var captures = 4
        @Option(help: "Frames per capture.")
        var frames = 30
        @Option(help: ArgumentHelp("Frame size (MVImgNet's frames are 1920x1080).", valueName: "WxH"))
        var frameSize = FrameSizeArgument(width: 1920, height: 1080)
        @Option(help: "Sparse 3D points in each capture's COLMAP model.")
        var points = 3000
        @Option(help: "Rendered orbits of each --orbit kind (0: none).")
        var orbits = 6
        @Option(name: .customLong("orbit"),
                help: ArgumentHelp("A kind of rendered orbit: view side in pixels and views per orbit (repeatable; default: 576x21, the renderer's default, and 64x84, the real-object corpus's).",
                                   valueName: "SIZExVIEWS"))
        var orbitSets: [OrbitSetArgument] = []
        @Option(help: "Items scored in parallel in the whole run (default: one per core, as `svdmv curate --jobs`).")
        var jobs: Int?
        @Option(help: "Timed passes over every item; the fastest is reported.")
        var repeats = 2
        @OptionGroup var output: BenchOutputOptions

        func validate() throws {
            guard captures >= 0, orbits >= 0 else { throw ValidationError("--captures and --orbits must be at least 0") }
            guard captures > 0 || orbits > 0 else { throw ValidationError("nothing to time: --captures and --orbits are both 0") }
            guard frames >= 2 else { throw ValidationError("--frames must be at least 2 (the motion score compares pairs)") }
            guard frameSize.width >= 16, frameSize.height >= 16 else { throw ValidationError("--frame-size must be at least 16x16") }
            guard points >= 0 else { throw ValidationError("--points must be at least 0") }
            for set in orbitSets.map(\.set) where set.size < 8 || set.views < 1 {
                throw ValidationError("--orbit \(set): the size must be at least 8 and the views at least 1")
            }
            if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
            guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
        }

        func run() throws {
            var bench = CurationBenchmark()
            bench.captures = captures
            bench.frames = frames
            bench.frameWidth = frameSize.width
            bench.frameHeight = frameSize.height
            bench.points = points
            bench.orbits = orbits
            if !orbitSets.isEmpty { bench.orbitSets = orbitSets.map(\.set) }
            if let jobs { bench.workers = jobs }
            bench.repeats = repeats
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-bench-curate-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            try bench.run(in: folder) { group in
                output.header("\n\(group.name): \(group.inputs)\n"
                              + "  part                   ms/item    share   items/s  workers")
                for row in group.rows {
                    output.emit(row) {
                        let share = row.share.map { String(format: "%6.1f %%", 100 * $0) } ?? String(repeating: " ", count: 8)
                        let rate = row.itemsPerSecond.map { String(format: "%9.2f", $0) } ?? String(repeating: " ", count: 9)
                        return "  " + row.part.padding(toLength: 20, withPad: " ", startingAt: 0)
                            + String(format: " %9.2f ", row.msPerItem) + share + " " + rate + String(format: " %8d", row.workers)
                    }
                }
            }
        }
    }
}

// `svdmv bench`: timings of the engine's heavy ops (Benchmarks target); Scripts/bench/ops runs it
// beside the PyTorch twin and prints the ratios.

import ArgumentParser
import Benchmarks
import Foundation
import Tensor

extension SVDMV {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Benchmarks (all but curate with a PyTorch twin under Scripts/bench).",
            subcommands: [Ops.self, LPIPSBench.self, CLIPBench.self, TrainBench.self, UNetBench.self, DecoderBench.self, CurateBench.self],
            defaultSubcommand: Ops.self)
    }
}

extension SVDMV.Bench {
    struct Ops: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time matmul, conv2d, attention and a ResBlock on SVD shapes against the sgemm ceiling.")

        @Option(help: "Frames per video (SVD-MV/SV3D use 21).")
        var frames = 21
        @Option(help: "Timed repetitions after one warm-up run; the fastest is reported.")
        var repeats = 2
        @Option(help: "Only cases whose name contains this text.")
        var filter: String?
        @OptionGroup var output: BenchOutputOptions
        @OptionGroup var memory: MemoryOptions

        func validate() throws {
            guard frames >= 1 else { throw ValidationError("--frames must be at least 1") }
            guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
        }

        func run() throws {
            memory.apply()
            let bench = OpBenchmarks(frames: frames, repeats: repeats, filter: filter)
            output.header("BLAS: \(BLAS.configuration)\n"
                          + "case                        GFLOP    seconds   GFLOP/s  of ceiling  shape")
            var ceiling: Double?
            _ = bench.run { r in
                if r.name == "sgemm_ceiling" { ceiling = r.gflops }
                output.emit(r) {
                    let pct = ceiling.map { String(format: "%5.1f%%", 100 * r.gflops / $0) } ?? ""
                    let name = r.name.padding(toLength: 24, withPad: " ", startingAt: 0)
                    return name + String(format: " %8.2f %10.4f %9.1f %@  ", r.gflop, r.seconds, r.gflops, pct) + r.shape
                }
            }
        }
    }
}

/// Every benchmark's output: a readable table or text, or with `--json` one JSON line per result
/// (sorted keys), which the Scripts/bench drivers read.
struct BenchOutputOptions: ParsableArguments {
    @Flag(help: "Print JSON lines instead of text.")
    var json = false

    /// Prints `text` unless the output is JSON.
    func header(_ text: String) { if !json { print(text) } }

    /// Prints `record` as a JSON line, or `text()`.
    func emit<Record: Encodable>(_ record: Record, text: () -> String) {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            do { print(String(decoding: try encoder.encode(record), as: UTF8.self)) } catch {
                print("{\"error\": \"\(error)\"}")
            }
        } else {
            print(text())
        }
        fflush(stdout)
    }
}

/// One timing of a single-call benchmark (`bench lpips`, `bench clip`), as its JSON line.
struct SingleCallTiming: Encodable {
    var name: String
    var size: Int
    var images: Int?
    var pairs: Int?
    var seconds: Double
    var threads = Parallel.threadCount
}

/// The timing options and loop of the single-call benchmarks (`bench lpips`, `bench clip`): one
/// untimed warm-up call, then the fastest of `repeats` timed calls, as their PyTorch twins time.
struct FastestOfRepeats: ParsableArguments {
    @Option(help: "Timed repetitions after one warm-up call; the fastest is reported.")
    var repeats = 3
    @OptionGroup var output: BenchOutputOptions

    func validate() throws {
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
    }

    /// Seconds of the fastest timed call of `call`.
    func seconds(_ call: () -> Void) -> Double {
        call()
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            call()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return best
    }
}

// `svdmv bench lpips`: time LPIPS distances on random image pairs (the evaluator's per-view cost);
// Scripts/bench/lpips_bench.sh runs it beside its PyTorch twin (Scripts/bench/lpips_torch.py).

import ArgumentParser
import Foundation
import Metrics
import Tensor

extension SVDMV.Bench {
    struct LPIPSBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "lpips",
            abstract: "Time LPIPS (AlexNet or VGG16) on random image pairs.")

        @Option(help: "LPIPS trunk.")
        var net: LPIPSNet = .alex
        @Option(help: "Image side in pixels.")
        var size = 256
        @Option(help: "Pairs per call (batch size).")
        var pairs = 1
        @OptionGroup var timing: FastestOfRepeats

        func validate() throws {
            guard size >= 32 else { throw ValidationError("--size must be at least 32") }
            guard pairs >= 1 else { throw ValidationError("--pairs must be at least 1") }
        }

        func run() throws {
            // Real weights when present; the cost does not depend on the values.
            let model = (try? LPIPS.pretrained(net: net)) ?? LPIPS(net: net)
            var g = TorchGenerator(seed: 0)
            let x0 = g.rand([pairs, 3, size, size]) * 2 - 1, x1 = g.rand([pairs, 3, size, size]) * 2 - 1
            let best = timing.seconds { _ = model(x0, x1) }
            timing.output.emit(SingleCallTiming(name: "lpips_\(net.rawValue)", size: size, pairs: pairs, seconds: best)) {
                String(format: "LPIPS-%@ %dx%d, %d pair(s): %.3f s per call (%d threads)",
                       net.rawValue, size, size, pairs, best, Parallel.threadCount)
            }
        }
    }
}

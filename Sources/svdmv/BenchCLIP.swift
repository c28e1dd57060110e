// `svdmv bench clip`: time the CLIP-S image path (open_clip's evaluation transform + the ViT image
// tower) on random images, the evaluator's per-view CLIP cost; Scripts/bench/clip_bench.sh runs it
// beside its PyTorch twin (Scripts/bench/clip_torch.py: open_clip + torchvision on tensors).

import ArgumentParser
import Foundation
import Models
import NN
import Tensor

extension SVDMV.Bench {
    struct CLIPBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "clip",
            abstract: "Time CLIP image embeddings (preprocess + ViT-B/32 or ViT-L/14 tower) on random images.")

        enum Architecture: String, CaseIterable, ExpressibleByArgument {
            case vitB32 = "ViT-B-32", vitL14 = "ViT-L-14"
            var config: VisionTransformerConfig { self == .vitB32 ? .vitB32 : .vitL14 }
        }

        @Option(help: "Image tower (random weights; the cost does not depend on the values).")
        var model: Architecture = .vitB32
        @Option(help: "Input image side in pixels (resized to 224 by the transform).")
        var size = 224
        @Option(help: "Images per call (batch size).")
        var images = 1
        @OptionGroup var timing: FastestOfRepeats

        func validate() throws {
            guard size >= 32 else { throw ValidationError("--size must be at least 32") }
            guard images >= 1 else { throw ValidationError("--images must be at least 1") }
        }

        func run() throws {
            let tower = VisionTransformer(config: model.config)
            tower.initializeRandomly(seed: 0)
            var g = TorchGenerator(seed: 0)
            let x = g.rand([images, 3, size, size])
            let embed = { GradMode.withoutGradients { tower(CLIPPreprocess.evaluationTransform(x)) } }
            let best = timing.seconds { _ = embed() }
            timing.output.emit(SingleCallTiming(name: "clip_\(model.rawValue)", size: size, images: images, seconds: best)) {
                String(format: "CLIP %@ %dx%d, %d image(s): %.3f s per call (%d threads)",
                       model.rawValue, size, size, images, best, Parallel.threadCount)
            }
        }
    }
}

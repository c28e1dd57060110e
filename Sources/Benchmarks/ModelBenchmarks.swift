// Whole-network benchmarks at full size with random weights: one sv3d_p VideoUNet evaluation (cond
// and uncond batch, as one sampling step runs it) and the SV3D first-stage VAE decoder. Twins:
// Scripts/bench/torch_unet.py and torch_decoder.py (sgm modules from the generative-models
// checkout). Memory is read from /proc/self/status: VmRSS (now) and VmHWM (the process's peak).

import Foundation
import Models
import NN
import Tensor

/// Resident memory of this process, in bytes.
public enum ProcessMemory {
    /// VmRSS: resident now.
    public static var resident: Int { field("VmRSS:") }
    /// VmHWM: the highest resident size so far.
    public static var peakResident: Int { field("VmHWM:") }

    private static func field(_ name: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let kib = line.dropFirst(name.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first
                .flatMap { Int($0) } ?? 0
            return kib * 1024
        }
        return 0
    }
}

public enum UNetBenchmark {
    /// Writes a checkpoint of `config`'s VideoUNet under sgm keys (`model.diffusion_model.*`) with
    /// seeded random weights (PyTorch's default initialisation bounds) in `dtype`, generating one
    /// tensor at a time so no Float32 copy of the network exists.
    public static func writeRandomCheckpoint(_ config: VideoUNetConfig, dtype: DType, seed: UInt64,
                                             to url: URL) throws {
        var generator = TorchGenerator(seed: seed)
        var entries: [SafeTensors.Entry] = []
        for (key, shape) in VideoUNet.parameterShapes(config) {
            let value: Tensor
            if key.hasSuffix("mix_factor") {
                value = Tensor(shape: shape, repeating: 0)
            } else if shape.count == 1 {
                value = Tensor(shape: shape, repeating: key.hasSuffix("weight") ? 1 : 0)  // norm scales 1, biases 0
            } else {
                let bound = 1 / Float(shape.dropFirst().reduce(1, *)).squareRoot()
                value = generator.rand(shape) * (2 * bound) - bound
            }
            entries.append(SafeTensors.Entry(VideoUNet.checkpointPrefix + key, HalfTensor(value, dtype: dtype)))
        }
        try SafeTensors.write(entries, to: url)
    }

    /// Random UNet inputs for `videos` videos of `frames` frames at `latentSize`²: x, c_noise,
    /// CLIP context and the vector y (sv3d_p widths), fixed by `seed`.
    public static func inputs(_ config: VideoUNetConfig, videos: Int, frames: Int, latentSize: Int,
                              seed: UInt64) -> (x: Tensor, timesteps: Tensor, context: Tensor, y: Tensor?) {
        var g = TorchGenerator(seed: seed)
        let rows = videos * frames
        let x = g.randn([rows, config.inChannels, latentSize, latentSize])
        let timesteps = Tensor(shape: [rows], repeating: 0.25 * log(700))
        let context = g.randn([rows, 1, config.contextWidth])
        let y = config.vectorWidth.map { g.randn([rows, $0]) }
        return (x, timesteps, context, y)
    }
}

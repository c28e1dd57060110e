// Timings of the engine's heavy ops on SVD/SV3D shapes, with the OpenBLAS sgemm ceiling measured
// in the same run. Scripts/bench/torch_ops.py times the same cases (same names, shapes and FLOP
// counts) in PyTorch; Scripts/bench/ops runs both and prints the ratios.

import Foundation
import Tensor

public struct BenchmarkResult: Codable {
    public var name: String
    public var shape: String
    public var gflop: Double
    public var seconds: Double
    public var gflops: Double { gflop / seconds }
}

public struct OpBenchmarks {
    public var frames: Int
    public var repeats: Int
    public var filter: String?

    public init(frames: Int = 21, repeats: Int = 2, filter: String? = nil) {
        self.frames = frames; self.repeats = repeats; self.filter = filter
    }

    struct Case {
        let name: String, shape: String, gflop: Double
        let run: () -> Void
    }

    /// The cases, built lazily so only the selected ones allocate their inputs.
    func cases() -> [() -> Case] {
        var rng = TorchGenerator(seed: 0)
        var list: [() -> Case] = []
        list.append {
            let n = 2048
            let a = rng.randn([n, n]), b = rng.randn([n, n]), c = Tensor(zeros: [n, n])
            return Case(name: "sgemm_ceiling", shape: "2048x2048x2048", gflop: 2 * pow(Double(n), 3) / 1e9) {
                BLAS.sgemm(m: n, n: n, k: n, a: a.data, lda: n, b: b.data, ldb: n, c: c.data, ldc: n)
            }
        }
        list.append {
            let rows = frames * 5184
            let x = rng.randn([rows, 320]), w = rng.randn([320, 320]), b = rng.randn([320])
            return Case(name: "linear_320", shape: "[\(rows),320]x[320,320]ᵀ",
                        gflop: 2 * Double(rows) * 320 * 320 / 1e9) { _ = Tensor.linear(x, weight: w, bias: b) }
        }
        for (c, s) in [(320, 72), (640, 36), (1280, 18), (1280, 9)] {
            list.append {
                let x = rng.randn([frames, c, s, s]), w = rng.randn([c, c, 3, 3]) * 0.01, b = rng.randn([c])
                return Case(name: "conv3x3_\(c)@\(s)", shape: "[\(frames),\(c),\(s),\(s)] k3 p1",
                            gflop: 2 * Double(frames * c * c * 9 * s * s) / 1e9) {
                    _ = Tensor.conv2d(x, weight: w, bias: b, padding: Padding2D(1))
                }
            }
        }
        list.append {
            let q = rng.randn([5, 5184, 64]), k = rng.randn([5, 5184, 64]), v = rng.randn([5, 5184, 64])
            return Case(name: "attention_spatial", shape: "5 heads x 5184 tokens x 64 (one frame)",
                        gflop: 4 * 5 * 5184 * 5184 * 64 / 1e9) { _ = Tensor.attention(q: q, k: k, v: v) }
        }
        // Pointwise ops at the first UNet level (counted in G elements, not GFLOP).
        let pointwise: [(String, (Tensor, Tensor, Tensor) -> Tensor)] = [
            ("silu", { x, _, _ in x.silu() }), ("gelu", { x, _, _ in x.gelu() }),
            ("add_bias", { x, _, b in x + b }), ("add", { x, y, _ in x + y }),
        ]
        for (name, op) in pointwise {
            list.append {
                let x = rng.randn([frames, 320, 72, 72]), y = rng.randn([frames, 320, 72, 72]), b = rng.randn([320, 1, 1])
                return Case(name: "\(name)_320@72", shape: "[\(frames),320,72,72] (G elements)",
                            gflop: Double(frames * 320 * 72 * 72) / 1e9) { _ = op(x, y, b) }
            }
        }
        list.append {
            let x = rng.randn([frames, 320, 72, 72]), w = Tensor.ones([320]), b = rng.randn([320])
            return Case(name: "group_norm_320@72", shape: "32 groups (G elements)",
                        gflop: Double(frames * 320 * 72 * 72) / 1e9) { _ = x.groupNorm(groups: 32, weight: w, bias: b, eps: 1e-5) }
        }
        list.append {
            // The softmax inside one frame's spatial attention (counted in G elements, not GFLOP).
            let x = rng.randn([5 * 5184, 5184])
            return Case(name: "softmax_rows", shape: "[25920, 5184] (G elements)", gflop: 5 * 5184 * 5184 / 1e9) {
                _ = x.softmax()
            }
        }
        list.append {
            let heads = 5184 * 5
            let q = rng.randn([heads, frames, 64]), k = rng.randn([heads, frames, 64]), v = rng.randn([heads, frames, 64])
            return Case(name: "attention_temporal", shape: "\(heads) x \(frames) frames x 64",
                        gflop: 4 * Double(heads * frames * frames * 64) / 1e9) { _ = Tensor.attention(q: q, k: k, v: v) }
        }
        list.append {
            // sgm ResBlock at the first UNet level: GN-SiLU-conv, + time embedding, GN-SiLU-conv, + x.
            let c = 320, s = 72
            let x = rng.randn([frames, c, s, s]), emb = rng.randn([frames, 1280])
            let w1 = rng.randn([c, c, 3, 3]) * 0.01, w2 = rng.randn([c, c, 3, 3]) * 0.01
            let we = rng.randn([c, 1280]) * 0.01, b = rng.randn([c]), ones = Tensor.ones([c])
            return Case(name: "resblock_320@72", shape: "[\(frames),320,72,72]",
                        gflop: 2 * 2 * Double(frames * c * c * 9 * s * s) / 1e9) {
                var h = x.groupNorm(groups: 32, weight: ones, bias: b, eps: 1e-5).silu()
                h = Tensor.conv2d(h, weight: w1, bias: b, padding: Padding2D(1))
                h = h + Tensor.linear(emb.silu(), weight: we, bias: b).reshaped([frames, c, 1, 1])
                h = h.groupNorm(groups: 32, weight: ones, bias: b, eps: 1e-5).silu()
                h = Tensor.conv2d(h, weight: w2, bias: b, padding: Padding2D(1))
                _ = x + h
            }
        }
        return list
    }

    /// Runs each case once to warm up, then `repeats` times, keeping the fastest.
    public func run(progress: (BenchmarkResult) -> Void = { _ in }) -> [BenchmarkResult] {
        var results: [BenchmarkResult] = []
        GradMode.withoutGradients {
            for make in cases() {
                let c = make()
                if let filter, !c.name.contains(filter) { continue }
                c.run()
                var best = Double.infinity
                for _ in 0..<max(1, repeats) {
                    let start = DispatchTime.now().uptimeNanoseconds
                    c.run()
                    best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                }
                let r = BenchmarkResult(name: c.name, shape: c.shape, gflop: c.gflop, seconds: best)
                progress(r)
                results.append(r)
            }
        }
        return results
    }
}

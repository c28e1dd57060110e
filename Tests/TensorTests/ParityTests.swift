// Every op against PyTorch (fixtures from Scripts/fixtures/make_tensor_fixtures.py): outputs and
// the gradients of sum(out * gout) for each input. Tolerances: kernels rtol 1e-5 / atol 1e-5 on
// outputs and input gradients (reductions over many terms may differ in the last bits).

import Foundation
import Tensor
import TestSupport
import XCTest

final class ParityTests: XCTestCase {
    func ops() throws -> Fixture { try Fixture.cached(fixtureURL("ops.safetensors")) }

    /// Runs `op` on the case's inputs (as gradient leaves), checks output and input gradients
    /// (the fixture holds one for every input; a missing one is a failure naming its key).
    func check(_ name: String, _ inputNames: [String], rtol: Float = 1e-5, atol: Float = 1e-5,
               file: StaticString = #filePath, line: UInt = #line, _ op: ([Tensor]) -> Tensor) throws {
        let f = try ops()
        let inputs = inputNames.map { f["\(name).\($0)"].requiringGrad($0) }
        let out = op(inputs)
        assertClose(out, f["\(name).out"], rtol: rtol, atol: atol, "\(name) output", file: file, line: line)
        out.backward(f["\(name).gout"])
        for (input, inputName) in zip(inputs, inputNames) {
            let key = "\(name).grad.\(inputName)"
            guard let expected = f.tensors[key] else {
                XCTFail("\(f.url.lastPathComponent) has no key \(key): no gradient to check for \(inputName)",
                        file: file, line: line)
                continue
            }
            guard let grad = input.grad else {
                XCTFail("\(name): no gradient for \(inputName)", file: file, line: line); continue
            }
            assertClose(grad, expected, rtol: rtol, atol: atol, "\(name) d\(inputName)", file: file, line: line)
        }
    }

    func testBroadcastArithmetic() throws {
        try check("add_broadcast", ["a", "b"]) { $0[0] + $0[1] }
        try check("mul_broadcast", ["a", "b"]) { $0[0] * $0[1] }
        try check("div_broadcast", ["a", "b"]) { $0[0] / $0[1] }
        try check("sub_broadcast", ["a", "b"]) { $0[0] - $0[1] }
    }

    func testMatmulAndLinear() throws {
        try check("matmul", ["a", "b"]) { Tensor.matmul($0[0], $0[1]) }
        try check("matmul_shared", ["a", "b"]) { Tensor.matmul($0[0], $0[1]) }
        try check("linear", ["x", "w", "b"]) { Tensor.linear($0[0], weight: $0[1], bias: $0[2]) }
    }

    func testConvolutions() throws {
        try check("conv3x3", ["x", "w", "b"]) { Tensor.conv2d($0[0], weight: $0[1], bias: $0[2], padding: Padding2D(1)) }
        try check("conv3x3_stride2", ["x", "w", "b"]) {
            Tensor.conv2d($0[0], weight: $0[1], bias: $0[2], stride: 2, padding: Padding2D(1))
        }
        try check("conv_vae_down", ["x", "w", "b"]) {
            Tensor.conv2d($0[0], weight: $0[1], bias: $0[2], stride: 2,
                          padding: Padding2D(top: 0, bottom: 1, left: 0, right: 1))
        }
        try check("conv1x1", ["x", "w", "b"]) { Tensor.conv2d($0[0], weight: $0[1], bias: $0[2]) }
        try check("temporal_conv", ["x", "w", "b"]) { Tensor.temporalConv($0[0], weight: $0[1], bias: $0[2], padding: 1) }
    }

    func testNormalisation() throws {
        try check("group_norm_video", ["x", "w", "b"]) { $0[0].groupNorm(groups: 4, weight: $0[1], bias: $0[2], eps: 1e-6) }
        try check("group_norm", ["x", "w", "b"]) { $0[0].groupNorm(groups: 2, weight: $0[1], bias: $0[2], eps: 1e-5) }
        try check("layer_norm", ["x", "w", "b"]) { $0[0].layerNorm(weight: $0[1], bias: $0[2], eps: 1e-5) }
    }

    func testActivations() throws {
        try check("silu", ["x"]) { $0[0].silu() }
        try check("gelu", ["x"]) { $0[0].gelu() }
        try check("gelu_tanh", ["x"]) { $0[0].gelu(approximate: .tanh) }
        try check("softmax", ["x"]) { $0[0].softmax() }
        try check("geglu", ["x"]) { $0[0].geglu() }
    }

    func testChunkedAttention() throws {
        // Query chunks and key blocks smaller than the sequences, so the chunk loop, the online
        // softmax across key blocks and their tails all run (and the small-sequence path at 256).
        for (chunk, block) in [(8, 7), (5, 512), (256, 512)] {
            let configuration = KernelConfiguration(attentionQueryChunk: chunk, attentionKeyBlock: block)
            try KernelConfiguration.$current.withValue(configuration) {
                try check("attention", ["q", "k", "v"]) { Tensor.attention(q: $0[0], k: $0[1], v: $0[2]) }
            }
        }
    }

    func testShapeOps() throws {
        try check("upsample", ["x"]) { $0[0].upsampledNearest2x() }
        try check("maxpool_alex", ["x"]) { $0[0].maxPooled2d(kernel: 3, stride: 2) }
        try check("maxpool_vgg", ["x"]) { $0[0].maxPooled2d(kernel: 2, stride: 2) }
        try check("sum_axes", ["x"]) { $0[0].sum(axes: [1, 3], keepDims: true) }
        try check("mean_axes", ["x"]) { $0[0].mean(axes: [0, 2]) }
        try check("permute", ["x"]) { $0[0].permuted([2, 0, 3, 1]) }
        try check("concat_slice", ["a", "b"]) { Tensor.concatenated([$0[0], $0[1]], axis: 1).sliced(axis: 1, 1..<6) }
    }

    func testTimestepEmbeddingMatchesSGM() throws {
        // PyTorch evaluates exp with SLEEF, which can be one ulp from glibc's correctly rounded
        // expf; the argument s·f then moves by about |s|·2^-23, so each row's tolerance grows with
        // |s| (8e-5 at s = 700, 2e-6 near 0).
        let f = try ops()
        let values = f["embedding.values"].scalars
        for dim in [320, 256, 7] {
            let ours = timestepEmbedding(values, dim: dim), torch = f["embedding.\(dim)"]
            for (row, s) in values.enumerated() {
                assertClose(ours.sliced(axis: 0, row..<(row + 1)), torch.sliced(axis: 0, row..<(row + 1)),
                            rtol: 0, atol: 2e-6 + abs(s) * 1.2e-7, "embedding \(dim) of \(s)")
            }
        }
    }
}

final class RandomParityTests: XCTestCase {
    func testRandnReproducesTorchStreams() throws {
        let f = try Fixture(fixtureURL("randn.safetensors"))
        // atol 1e-5: PyTorch's AVX2 Box-Muller uses vector log/sin/cos approximations, which move
        // values near zero by a few 1e-6 (seen: 1.8e-6 at -0.0348).
        for seed in [0, 42, 2024] {
            for n in [5, 15, 16, 17, 100, 21 * 4 * 8 * 8] {
                var gen = TorchGenerator(seed: UInt64(seed))
                assertClose(gen.randn([n]), f["randn.\(seed).\(n)"], rtol: 1e-5, atol: 1e-5, "randn seed \(seed) n \(n)")
            }
            // Consecutive calls continue the stream (and the cached Box-Muller half).
            var gen = TorchGenerator(seed: UInt64(seed))
            assertClose(gen.randn([7]), f["randn.\(seed).seq7"], rtol: 1e-5, atol: 1e-5, "seq7")
            assertClose(gen.randn([40]), f["randn.\(seed).seq40"], rtol: 1e-5, atol: 1e-5, "seq40")
            var uni = TorchGenerator(seed: UInt64(seed))
            assertClose(uni.rand([33]), f["rand.\(seed).33"], rtol: 0, atol: 0, "rand")
        }
    }
}

func fixtureURL(_ name: String) -> URL {
    Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name)
}

// Two small composite blocks (an sgm-style ResBlock and a pre-norm transformer block with self-
// and cross-attention and a GEGLU feed-forward) against PyTorch: outputs, input gradients and
// every parameter gradient, at the layer tolerance (1e-4). Weights go through the strict loader.

import Foundation
import NN
import Tensor
import TestSupport
import XCTest

final class ResBlock: Module {
    let norm1: GroupNorm, conv1: Conv2d, emb: Linear, norm2: GroupNorm, conv2: Conv2d, skip: Conv2d
    init(_ cin: Int, _ cout: Int, _ embDim: Int) {
        norm1 = GroupNorm(groups: 4, channels: cin); conv1 = Conv2d(cin, cout, kernelSize: 3, padding: 1)
        emb = Linear(embDim, cout); norm2 = GroupNorm(groups: 4, channels: cout)
        conv2 = Conv2d(cout, cout, kernelSize: 3, padding: 1); skip = Conv2d(cin, cout, kernelSize: 1)
    }
    func callAsFunction(_ x: Tensor, _ e: Tensor) -> Tensor {
        var h = conv1(norm1(x).silu())
        h = h + emb(e.silu()).reshaped([e.shape[0], -1, 1, 1])
        h = conv2(norm2(h).silu())
        return skip(x) + h
    }
    func visitParameters(_ body: (String, inout Tensor) -> Void) {
        visit(norm1, "norm1", body); visit(conv1, "conv1", body); visit(emb, "emb", body)
        visit(norm2, "norm2", body); visit(conv2, "conv2", body); visit(skip, "skip", body)
    }
}

final class TransformerBlock: Module {
    let heads: Int
    let norm1: LayerNorm, norm2: LayerNorm, norm3: LayerNorm
    let q1: Linear, k1: Linear, v1: Linear, o1: Linear, q2: Linear, k2: Linear, v2: Linear, o2: Linear
    let ff1: Linear, ff2: Linear
    init(dim: Int, heads: Int, contextDim: Int) {
        self.heads = heads
        norm1 = LayerNorm(dim); norm2 = LayerNorm(dim); norm3 = LayerNorm(dim)
        q1 = Linear(dim, dim, bias: false); k1 = Linear(dim, dim, bias: false); v1 = Linear(dim, dim, bias: false)
        o1 = Linear(dim, dim); q2 = Linear(dim, dim, bias: false)
        k2 = Linear(contextDim, dim, bias: false); v2 = Linear(contextDim, dim, bias: false); o2 = Linear(dim, dim)
        ff1 = Linear(dim, 8 * dim); ff2 = Linear(4 * dim, dim)
    }
    func callAsFunction(_ x0: Tensor, context: Tensor) -> Tensor {
        var x = x0
        var h = norm1(x)
        x = o1(Tensor.multiHeadAttention(q: q1(h), k: k1(h), v: v1(h), heads: heads)) + x
        h = norm2(x)
        x = o2(Tensor.multiHeadAttention(q: q2(h), k: k2(context), v: v2(context), heads: heads)) + x
        return ff2(ff1(norm3(x)).geglu()) + x
    }
    func visitParameters(_ body: (String, inout Tensor) -> Void) {
        visit(norm1, "norm1", body); visit(norm2, "norm2", body); visit(norm3, "norm3", body)
        for (m, n) in [(q1, "q1"), (k1, "k1"), (v1, "v1"), (o1, "o1"), (q2, "q2"), (k2, "k2"),
                       (v2, "v2"), (o2, "o2"), (ff1, "ff1"), (ff2, "ff2")] { visit(m, n, body) }
    }
}

final class BlockParityTests: XCTestCase {
    static func fixture() throws -> Fixture {
        try Fixture.cached(Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
            .appendingPathComponent("blocks.safetensors"))
    }

    func parameters(_ block: String) throws -> [String: Tensor] {
        let prefix = "\(block).param."
        var out: [String: Tensor] = [:]
        for (k, v) in try Self.fixture().tensors where k.hasPrefix(prefix) { out[String(k.dropFirst(prefix.count))] = v }
        return out
    }

    func checkGradients(_ module: Module, _ block: String, inputs: [(String, Tensor)],
                        file: StaticString = #filePath, line: UInt = #line) throws {
        let f = try Self.fixture()
        for (name, t) in inputs {
            assertClose(t.grad!, f["\(block).grad.\(name)"], rtol: 1e-4, atol: 1e-4,
                        "\(block) d\(name)", file: file, line: line)
        }
        var checked = 0
        module.visitParameters { key, p in
            guard let expected = f.tensors["\(block).grad.param.\(key)"] else {
                return XCTFail("\(f.url.lastPathComponent) has no key \(block).grad.param.\(key)", file: file, line: line)
            }
            assertClose(p.grad!, expected, rtol: 1e-4, atol: 1e-4, "\(block) d\(key)", file: file, line: line)
            checked += 1
        }
        XCTAssertEqual(checked, module.namedParameters().count, "every parameter has a reference gradient")
    }

    func testResBlockMatchesPyTorch() throws {
        let block = ResBlock(8, 12, 16)
        try block.load(parameters("resblock"))
        block.trainable()
        let f = try Self.fixture()
        let x = f["resblock.x"].requiringGrad("x"), e = f["resblock.emb"].requiringGrad("emb")
        let out = block(x, e)
        assertClose(out, f["resblock.out"], rtol: 1e-4, atol: 1e-4, "resblock output")
        out.backward(f["resblock.gout"])
        try checkGradients(block, "resblock", inputs: [("x", x), ("emb", e)])
    }

    func testTransformerBlockMatchesPyTorch() throws {
        let block = TransformerBlock(dim: 16, heads: 2, contextDim: 12)
        try block.load(parameters("transformer"))
        block.trainable()
        let f = try Self.fixture()
        let x = f["transformer.x"].requiringGrad("x")
        let c = f["transformer.context"].requiringGrad("context")
        let out = block(x, context: c)
        assertClose(out, f["transformer.out"], rtol: 1e-4, atol: 1e-4, "transformer output")
        out.backward(f["transformer.gout"])
        try checkGradients(block, "transformer", inputs: [("x", x), ("context", c)])
    }

    func testStrictLoadingNamesEveryBadKey() throws {
        let block = ResBlock(8, 12, 16)
        var params = try parameters("resblock")
        params["conv1.weight"] = Tensor(zeros: [12, 8, 1, 1])
        params.removeValue(forKey: "skip.bias")
        params["extra.weight"] = Tensor(zeros: [1])
        XCTAssertThrowsError(try block.load(params)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("shape mismatch for conv1.weight: checkpoint [12, 8, 1, 1], model [12, 8, 3, 3]"), text)
            XCTAssertTrue(text.contains("missing key skip.bias"), text)
            XCTAssertTrue(text.contains("unexpected key extra.weight"), text)
        }
    }
}

/// Holds the two AdamW test tensors as a module with keys "0" and "1".
final class ParameterPair: Module {
    var a: Tensor, b: Tensor
    init(_ a: Tensor, _ b: Tensor) { self.a = a; self.b = b }
    func visitParameters(_ body: (String, inout Tensor) -> Void) { body("0", &a); body("1", &b) }
}

final class OptimizerParityTests: XCTestCase {
    func testAdamWWithClippingMatchesTorchOverFiveSteps() throws {
        let f = try BlockParityTests.fixture()
        let pair = ParameterPair(f["adamw.init.0"].copied(), f["adamw.init.1"].copied())
        let opt = AdamW(AdamWConfig(learningRate: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.05))
        for step in 0..<5 {
            // Gradients as PyTorch had them: a fresh leaf per step with the fixture's gradient.
            pair.trainable()
            let loss = (pair.a * f["adamw.grad.\(step).0"]).sum() + (pair.b * f["adamw.grad.\(step).1"]).sum()
            loss.backward()
            let norm = clipGradientNorm(pair, maxNorm: 1)
            XCTAssertEqual(norm, f["adamw.norm.\(step)"].item, accuracy: 1e-5 * norm)
            opt.update(pair)
            assertClose(pair.a, f["adamw.after.\(step).0"], rtol: 1e-5, atol: 1e-6, "step \(step) p0")
            assertClose(pair.b, f["adamw.after.\(step).1"], rtol: 1e-5, atol: 1e-6, "step \(step) p1")
        }
        // The state round-trips through named tensors (as a checkpoint stores it).
        let restored = AdamW(opt.config)
        restored.load(state: opt.state())
        XCTAssertEqual(restored.step, 5)
        XCTAssertEqual(restored.state()["exp_avg.0"]?.scalars, opt.state()["exp_avg.0"]?.scalars)
    }
}

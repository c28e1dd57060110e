// Finite-difference checks of every differentiable op: for a random upstream gradient g, the
// autograd vector-Jacobian product must match (f(x + h·e_i) − f(x − h·e_i))·g / 2h for sampled
// coordinates i of every input. Float32 central differences with h = 1e-2 on O(1) inputs are
// good to about 1e-3 relative, so the tolerance is rtol 2e-2 / atol 2e-3; the PyTorch fixtures
// check the same gradients to 1e-5.

import Foundation
import Tensor
import TestSupport
import XCTest

final class GradientCheckTests: XCTestCase {
    var rng = TorchGenerator(seed: 99)

    func random(_ shape: [Int], scale: Float = 1, offset: Float = 0) -> Tensor {
        rng.randn(shape) * scale + offset
    }

    /// Checks d(sum(f(inputs)·g))/d(input) by central differences at up to `samples` coordinates.
    func gradCheck(_ name: String, _ inputs: [Tensor], samples: Int = 12,
                   file: StaticString = #filePath, line: UInt = #line, _ f: ([Tensor]) -> Tensor) {
        let leaves = inputs.enumerated().map { $0.element.copied().requiringGrad("in\($0.offset)") }
        let out = f(leaves)
        let g = random(out.shape)
        out.backward(g)
        let h: Float = 1e-2
        for (index, input) in inputs.enumerated() {
            guard let analytic = leaves[index].grad else {
                XCTFail("\(name): no gradient for input \(index)", file: file, line: line); continue
            }
            var numeric: [Float] = [], picked: [Float] = []
            let stride = max(1, input.count / samples)
            for i in Swift.stride(from: 0, to: input.count, by: stride) {
                func loss(_ delta: Float) -> Double {
                    var shifted = inputs
                    shifted[index] = input.copied()
                    shifted[index].data[i] += delta
                    let y = GradMode.withoutGradients { f(shifted) }
                    var acc: Double = 0
                    for j in 0..<y.count { acc += Double(y.data[j]) * Double(g.data[j]) }
                    return acc
                }
                numeric.append(Float((loss(h) - loss(-h)) / Double(2 * h)))
                picked.append(analytic.data[i])
            }
            assertClose(picked, numeric, rtol: 2e-2, atol: 2e-3, "\(name) input \(index)", file: file, line: line)
        }
    }

    func testArithmeticAndReductions() {
        gradCheck("add", [random([3, 4]), random([4])]) { $0[0] + $0[1] }
        gradCheck("sub", [random([3, 1]), random([3, 4])]) { $0[0] - $0[1] }
        gradCheck("mul", [random([2, 3, 4]), random([3, 1])]) { $0[0] * $0[1] }
        gradCheck("div", [random([3, 4]), random([4], scale: 0.2, offset: 2)]) { $0[0] / $0[1] }
        gradCheck("scalar", [random([5])]) { ($0[0] * 3 + 1) / 2 - 0.5 }
        gradCheck("sum", [random([2, 3, 4])]) { $0[0].sum(axes: [0, 2]) }
        gradCheck("mean", [random([2, 3, 4])]) { $0[0].mean(axes: [1], keepDims: true) }
        gradCheck("sumAll", [random([2, 3])]) { $0[0].sum() }
    }

    func testShapeOps() {
        gradCheck("reshape", [random([2, 6])]) { $0[0].reshaped([3, 4]) * 2 }
        gradCheck("permute", [random([2, 3, 4])]) { $0[0].permuted([2, 0, 1]) }
        gradCheck("slice", [random([3, 5, 2])]) { $0[0].sliced(axis: 1, 1..<4) }
        gradCheck("rows", [random([4, 3])]) { $0[0].rows([2, 0, 2]) }
        gradCheck("concat", [random([2, 3]), random([2, 2])]) { Tensor.concatenated([$0[0], $0[1]], axis: 1) }
        gradCheck("split", [random([4, 3])]) { $0[0].split(axis: 0, sizes: [1, 3])[1] }
        gradCheck("upsample", [random([1, 2, 3, 3])]) { $0[0].upsampledNearest2x() }
        gradCheck("maxPool", [random([1, 2, 7, 6])]) { $0[0].maxPooled2d(kernel: 3, stride: 2, padding: 1) }
    }

    func testMatrixProducts() {
        gradCheck("matmul", [random([2, 3, 4]), random([2, 4, 5])]) { Tensor.matmul($0[0], $0[1]) }
        gradCheck("matmulT", [random([4, 3]), random([5, 4])]) {
            Tensor.matmul($0[0], $0[1], transposeA: true, transposeB: true)
        }
        gradCheck("linear", [random([2, 3, 4]), random([5, 4]), random([5])]) {
            Tensor.linear($0[0], weight: $0[1], bias: $0[2])
        }
    }

    func testConvolutions() {
        gradCheck("conv2d", [random([2, 3, 5, 5]), random([4, 3, 3, 3], scale: 0.3), random([4])]) {
            Tensor.conv2d($0[0], weight: $0[1], bias: $0[2], stride: 2, padding: Padding2D(1))
        }
        gradCheck("conv1x1", [random([1, 3, 4, 4]), random([2, 3, 1, 1])]) {
            Tensor.conv2d($0[0], weight: $0[1])
        }
        // Small images share one GEMM in groups in the forward pass, one image alone does not:
        // both paths, 3x3 and pointwise.
        gradCheck("conv2d one image", [random([1, 3, 5, 5]), random([4, 3, 3, 3], scale: 0.3), random([4])]) {
            Tensor.conv2d($0[0], weight: $0[1], bias: $0[2], padding: Padding2D(1))
        }
        gradCheck("conv1x1 three images", [random([3, 3, 4, 4]), random([2, 3, 1, 1])]) {
            Tensor.conv2d($0[0], weight: $0[1])
        }
        gradCheck("temporalConv", [random([1, 3, 4, 2, 2]), random([2, 3, 3, 1, 1], scale: 0.3), random([2])]) {
            Tensor.temporalConv($0[0], weight: $0[1], bias: $0[2], padding: 1)
        }
        // Two videos, and paddings where the taps reach different runs of frames.
        for padding in [0, 2] {
            gradCheck("temporalConv padding \(padding)", [random([2, 3, 5, 2, 1]), random([2, 3, 3, 1, 1], scale: 0.3)]) {
                Tensor.temporalConv($0[0], weight: $0[1], padding: padding)
            }
        }
    }

    /// The temporal convolution against its definition, a sum over taps and channels per output
    /// frame, for paddings that leave taps partly or wholly outside the video. Kernel level: 1e-5.
    func testTemporalConvMatchesItsDefinition() {
        let (b, c, t, h, w, o, k) = (2, 3, 5, 2, 3, 4, 3)
        let x = random([b, c, t, h, w]), weight = random([o, c, k, 1, 1]), bias = random([o])
        let (xs, ws, bs) = (x.scalars, weight.scalars, bias.scalars)
        for padding in [0, 1, 2, 3] {
            let tOut = t + 2 * padding - k + 1
            var expected = [Float](repeating: 0, count: b * o * tOut * h * w)
            for bi in 0..<b { for oc in 0..<o { for to in 0..<tOut { for p in 0..<(h * w) {
                var sum = bs[oc]
                for j in 0..<k {
                    let ti = to + j - padding
                    guard ti >= 0 && ti < t else { continue }
                    for ci in 0..<c { sum += ws[(oc * c + ci) * k + j] * xs[((bi * c + ci) * t + ti) * h * w + p] }
                }
                expected[((bi * o + oc) * tOut + to) * h * w + p] = sum
            } } } }
            let actual = Tensor.temporalConv(x, weight: weight, bias: bias, padding: padding)
            XCTAssertEqual(actual.shape, [b, o, tOut, h, w])
            assertClose(actual.scalars, expected, rtol: 1e-5, atol: 1e-5, "temporalConv padding \(padding)")
        }
    }

    func testNormalisationAndActivations() {
        gradCheck("groupNorm", [random([2, 4, 3, 3], scale: 2, offset: 1), random([4], scale: 0.2, offset: 1), random([4])]) {
            $0[0].groupNorm(groups: 2, weight: $0[1], bias: $0[2], eps: 1e-5)
        }
        gradCheck("layerNorm", [random([3, 8], scale: 2), random([8], scale: 0.2, offset: 1), random([8])]) {
            $0[0].layerNorm(weight: $0[1], bias: $0[2], eps: 1e-5)
        }
        for (name, f) in [("silu", { (t: Tensor) in t.silu() }), ("gelu", { $0.gelu() }),
                          ("geluTanh", { $0.gelu(approximate: .tanh) }), ("sigmoid", { $0.sigmoid() }),
                          ("tanh", { $0.tanh() }), ("exp", { $0.exp() }), ("square", { $0.squared() }),
                          ("softmax", { $0.softmax() }), ("geglu", { $0.geglu() })] as [(String, (Tensor) -> Tensor)] {
            gradCheck(name, [random([3, 8])]) { f($0[0]) }
        }
        gradCheck("log", [random([3, 4], scale: 0.1, offset: 2)]) { $0[0].log() }
        gradCheck("sqrt", [random([3, 4], scale: 0.1, offset: 2)]) { $0[0].sqrt() }
        // Both signs, away from the kink at 0 (finite differences are meaningless there).
        gradCheck("abs", [random([3, 4], scale: 0.2, offset: 1), random([3, 4], scale: 0.2, offset: -1)]) {
            Tensor.concatenated([$0[0].absolute(), $0[1].absolute()], axis: 0)
        }
        // Inside the bounds the gradient passes, outside it is zero (values kept off the bounds).
        gradCheck("clamp", [random([4, 6], scale: 0.1, offset: 0.5), random([4, 6], scale: 0.1, offset: 3)]) {
            Tensor.concatenated([$0[0].clamped(-1, 1), $0[1].clamped(-1, 1)], axis: 0)
        }
    }

    func testAttention() {
        var configuration = KernelConfiguration.current
        configuration.attentionQueryChunk = 3
        KernelConfiguration.$current.withValue(configuration) {
            gradCheck("attention", [random([2, 7, 4]), random([2, 5, 4]), random([2, 5, 3])]) {
                Tensor.attention(q: $0[0], k: $0[1], v: $0[2])
            }
            gradCheck("multiHead", [random([1, 4, 8]), random([1, 3, 8]), random([1, 3, 8])]) {
                Tensor.multiHeadAttention(q: $0[0], k: $0[1], v: $0[2], heads: 2)
            }
        }
    }
}

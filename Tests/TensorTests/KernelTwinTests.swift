// Each fast kernel against its readable twin on random shapes (kernel tolerance 1e-5 relative).

import Foundation
import Tensor
import TestSupport
import XCTest

final class KernelTwinTests: XCTestCase {
    var rng = TorchGenerator(seed: 5)

    func testSgemmMatchesNaiveForEveryTransposeAndStride() {
        for (m, n, k) in [(1, 1, 1), (7, 5, 3), (33, 17, 65), (64, 128, 9)] {
            for transA in [false, true] {
                for transB in [false, true] {
                    let lda = (transA ? m : k) + 2, ldb = (transB ? k : n) + 1, ldc = n + 3
                    let a = rng.randn([(transA ? k : m) * lda]), b = rng.randn([(transB ? n : k) * ldb])
                    let c0 = rng.randn([m * ldc])
                    let fast = c0.copied(), slow = c0.copied()
                    BLAS.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.7, a: a.data, lda: lda,
                               b: b.data, ldb: ldb, beta: 0.3, c: fast.data, ldc: ldc)
                    gemmNaive(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.7, a: a.data, lda: lda,
                              b: b.data, ldb: ldb, beta: 0.3, c: slow.data, ldc: ldc)
                    assertClose(fast.scalars, slow.scalars, rtol: 1e-5, atol: 1e-5, "sgemm \(m)x\(n)x\(k) \(transA) \(transB)")
                }
            }
        }
    }

    func testConv2dMatchesDirectConvolution() {
        let cases: [(c: Int, o: Int, h: Int, w: Int, k: Int, s: Int, p: Padding2D)] = [
            (3, 4, 7, 6, 3, 1, Padding2D(1)), (5, 2, 9, 9, 3, 2, Padding2D(1)),
            (4, 4, 8, 8, 3, 2, Padding2D(top: 0, bottom: 1, left: 0, right: 1)),
            (6, 3, 5, 4, 1, 1, Padding2D(0)), (2, 3, 4, 5, 5, 1, Padding2D(2)),
            // Large enough (34x33 > 1024 outputs) for one GEMM per image instead of grouped images.
            (3, 4, 34, 33, 3, 1, Padding2D(1)), (3, 2, 40, 40, 1, 1, Padding2D(0)),
        ]
        for cs in cases {
            let x = rng.randn([2, cs.c, cs.h, cs.w]), w = rng.randn([cs.o, cs.c, cs.k, cs.k]), b = rng.randn([cs.o])
            let fast = Tensor.conv2d(x, weight: w, bias: b, stride: cs.s, padding: cs.p)
            let g = Conv2DGeometry(channels: cs.c, height: cs.h, width: cs.w, kernelH: cs.k, kernelW: cs.k,
                                   stride: cs.s, padding: cs.p)
            let slow = Tensor(zeros: fast.shape)
            let per = cs.o * g.outH * g.outW
            for i in 0..<2 {
                conv2dDirect(slow.data + i * per, x.data + i * cs.c * cs.h * cs.w, w.data, b.data,
                             outChannels: cs.o, g)
            }
            assertClose(fast, slow, rtol: 1e-5, atol: 1e-5, "conv \(cs)")
        }
    }

    /// Banded im2col (bounded scratch): with the scratch limit forced down, large images are
    /// convolved in bands of 1, 2, 3 or 7 output rows (a last band shorter than the others, strides,
    /// asymmetric padding, with and without bias) and agree with the direct convolution and with
    /// the whole-image path.
    func testBandedConv2dMatchesDirectConvolutionAndTheWholeImagePath() {
        func conv2d(scratchLimit: Int, _ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: Int, padding: Padding2D) -> Tensor {
            var configuration = KernelConfiguration.current
            configuration.im2colScratchLimit = scratchLimit
            return KernelConfiguration.$current.withValue(configuration) {
                Tensor.conv2d(x, weight: w, bias: b, stride: stride, padding: padding)
            }
        }
        let cases: [(c: Int, o: Int, h: Int, w: Int, k: Int, s: Int, p: Padding2D, bias: Bool)] = [
            (3, 4, 34, 33, 3, 1, Padding2D(1), true), (5, 3, 45, 41, 3, 2, Padding2D(1), false),
            (4, 4, 66, 40, 3, 2, Padding2D(top: 0, bottom: 1, left: 0, right: 1), true),
            (2, 3, 36, 35, 5, 1, Padding2D(2), true),
        ]
        for cs in cases {
            let x = rng.randn([2, cs.c, cs.h, cs.w]), w = rng.randn([cs.o, cs.c, cs.k, cs.k])
            let b = cs.bias ? rng.randn([cs.o]) : nil
            let g = Conv2DGeometry(channels: cs.c, height: cs.h, width: cs.w, kernelH: cs.k, kernelW: cs.k,
                                   stride: cs.s, padding: cs.p)
            let whole = conv2d(scratchLimit: 1 << 30, x, w, b, stride: cs.s, padding: cs.p)
            let slow = Tensor(zeros: whole.shape)
            let per = cs.o * g.outH * g.outW
            for i in 0..<2 {
                conv2dDirect(slow.data + i * per, x.data + i * cs.c * cs.h * cs.w, w.data, b?.data,
                             outChannels: cs.o, g)
            }
            for bandRows in [1, 2, 3, 7] {
                let banded = conv2d(scratchLimit: bandRows * g.patch * g.outW, x, w, b, stride: cs.s, padding: cs.p)
                assertClose(banded, slow, rtol: 1e-5, atol: 1e-5, "conv \(cs) in bands of \(bandRows) rows")
                // not bit-identical: OpenBLAS handles a GEMM's edge columns with other micro-kernels,
                // so a column's summation order depends on the GEMM's width
                assertClose(banded, whole, rtol: 1e-5, atol: 1e-5, "conv \(cs): bands of \(bandRows) rows vs whole image")
            }
        }
    }

    /// The C seeded-uniform kernel against TorchGenerator.rand (itself checked against torch):
    /// bit-identical after the affine map, across several mt19937 twists, and its float16 output
    /// identical to rounding that tensor.
    func testSeededUniformKernelMatchesTorchGenerator() {
        for (seed, n, scale, shift) in [(UInt64(0), 5, Float(1), Float(0)), (7, 1500, 0.25, 1), (31_000, 100_003, 0.0413, 0),
                                        (1 << 40 | 3, 2000, 2, 0)] {
            var g = TorchGenerator(seed: seed)
            let expected = g.rand([n]).scalars.map { shift == 0 ? ($0 * 2 - 1) * scale : ($0 * 2 - 1) * scale + shift }
            let fast = TorchGenerator.uniform([n], seed: seed, scale: scale, shift: shift)
            XCTAssertEqual(fast.scalars, expected, "seed \(seed) n \(n)")
            XCTAssertEqual(TorchGenerator.uniformFloat16([n], seed: seed, scale: scale, shift: shift).float().scalars,
                           HalfTensor(fast, dtype: .float16).float().scalars, "float16, seed \(seed) n \(n)")
        }
    }

    func testChunkedAttentionMatchesFullSoftmax() {
        for (heads, nq, nk, d, dv, chunk, block) in [(3, 70, 141, 8, 8, 16, 32), (1, 5, 300, 16, 4, 2, 64),
                                                     (9, 21, 21, 64, 64, 256, 512), (2, 90, 100, 16, 16, 256, 512)] {
            let q = rng.randn([heads, nq, d]), k = rng.randn([heads, nk, d]), v = rng.randn([heads, nk, dv])
            let configuration = KernelConfiguration(attentionQueryChunk: chunk, attentionKeyBlock: block)
            let fast = KernelConfiguration.$current.withValue(configuration) {
                Tensor.attention(q: q, k: k, v: v, scale: 0.3)
            }
            let slow = attentionNaive(q: q.scalars, k: k.scalars, v: v.scalars, heads: heads, nq: nq, nk: nk,
                                      d: d, dv: dv, scale: 0.3)
            assertClose(fast.scalars, slow, rtol: 1e-5, atol: 1e-5, "attention \(heads)x\(nq)x\(nk)")
        }
    }
}

final class FastMathTests: XCTestCase {
    func testVectorisedSiLUAndGELUMatchTheirScalarDefinitions() {
        // 1003 values: whole vectors and a padded tail.
        let x = Tensor(shape: [1003], scalars: (0..<1003).map { Float($0) * 0.016 - 8 })
        let g = Tensor(shape: [1003], scalars: (0..<1003).map { sinf(Float($0)) })
        let silu = x.scalars.map { $0 / (1 + expf(-$0)) }
        assertClose(x.silu().scalars, silu, rtol: 1e-6, atol: 1e-7, "silu")
        // PyTorch's erf approximation is within 1.5e-7 of erff.
        let gelu = x.scalars.map { 0.5 * $0 * (1 + erff($0 * 0.70710678118654752)) }
        assertClose(x.gelu().scalars, gelu, rtol: 1e-6, atol: 1e-6, "gelu")
        let leaf = x.requiringGrad()
        leaf.gelu().backward(g)
        let dgelu = zip(x.scalars, g.scalars).map { xv, gv -> Float in
            gv * (0.5 * (1 + erff(xv * 0.70710678118654752)) + xv * expf(-0.5 * xv * xv) * 0.3989422804014327)
        }
        assertClose(leaf.grad!.scalars, dgelu, rtol: 1e-5, atol: 1e-6, "gelu backward")
        let leaf2 = x.requiringGrad()
        leaf2.silu().backward(g)
        let dsilu = zip(x.scalars, g.scalars).map { xv, gv -> Float in
            let s = 1 / (1 + expf(-xv)); return gv * s * (1 + xv * (1 - s))
        }
        assertClose(leaf2.grad!.scalars, dsilu, rtol: 1e-5, atol: 1e-7, "silu backward")
    }

    func testVectorisedExpMatchesLibm() {
        // Softmax inputs (≤ 0 after the shift) over the whole useful range, and a length that
        // leaves a scalar tail after the eight-wide loop.
        let x = (0..<1003).map { -Float($0) * 0.0871 + 0.5 }
        let fast = expShiftedRowFast(x, shift: 0.5), slow = expShiftedRowReference(x, shift: 0.5)
        assertClose(fast.values, slow.values, rtol: 1e-6, atol: 1e-30, "exp")
        XCTAssertEqual(fast.sum, slow.sum, accuracy: 1e-6 * slow.sum)
    }

    func testFusedGEGLUEqualsItsComposedTwin() {
        // Rows split over the workers (a row count above the parallel grain) and a half width
        // that leaves the gelu kernel's scalar tail; the values and both halves' gradients must be
        // the composed ops' own, not just close to them.
        var rng = TorchGenerator(seed: 5)
        let x = rng.randn([3, 700, 2 * 13]) * 2, g = rng.randn([3, 700, 13])
        let fusedLeaf = x.requiringGrad(), composedLeaf = x.requiringGrad()
        let fused = fusedLeaf.geglu(), composed = composedLeaf.gegluComposed()
        XCTAssertEqual(fused.shape, [3, 700, 13])
        assertClose(fused.scalars, composed.scalars, rtol: 0, atol: 0, "geglu forward")
        fused.backward(g)
        composed.backward(g)
        assertClose(fusedLeaf.grad!.scalars, composedLeaf.grad!.scalars, rtol: 0, atol: 0, "geglu backward")
    }

    func testMomentsMatchOneSequentialSum() {
        // Lengths below, at and past the eight lanes, and a large offset (the variance is then a
        // small difference of large sums, where a sloppy accumulation would show first).
        var rng = TorchGenerator(seed: 8)
        for n in [1, 7, 8, 9, 64, 1003, 65_536] {
            let x = (rng.randn([n]) * 3 + 40).scalars
            let fast = momentsFast(x), slow = momentsReference(x)
            XCTAssertEqual(fast.sum, slow.sum, accuracy: 1e-12 * Swift.abs(slow.sum), "sum, n = \(n)")
            XCTAssertEqual(fast.sumSquares, slow.sumSquares, accuracy: 1e-12 * slow.sumSquares, "sum of squares, n = \(n)")
        }
    }

    func testNormBackwardKernelsMatchTheirTwin() {
        // Layer norm rows of 13 (the eight-lane loop and a tail), and group norm runs of 5·7
        // positions with two channels per group; weight and bias, then neither. The op's gradients
        // (the fast kernels) against the twin called on the same upstream gradient and statistics.
        var rng = TorchGenerator(seed: 9)
        let layerX = rng.randn([6, 11, 13]) * 2 + 0.5, layerW = rng.randn([13])
        let groupX = rng.randn([3, 8, 5, 7]) * 2 + 0.5, groupW = rng.randn([8])
        let cases: [(String, Tensor, Tensor, NormLayout, (Tensor, Tensor?, Tensor?) -> Tensor)] = [
            ("layer norm", layerX, layerW, .layerNorm(shape: layerX.shape),
             { $0.layerNorm(weight: $1, bias: $2, eps: 1e-5) }),
            ("group norm", groupX, groupW, .groupNorm(shape: groupX.shape, groups: 4),
             { $0.groupNorm(groups: 4, weight: $1, bias: $2, eps: 1e-5) }),
        ]
        for (name, x, w, layout, norm) in cases {
            // The forward's statistics as the ops compute them: Double sums, biased variance.
            let n = layout.rowSize, values = x.scalars
            var means: [Float] = [], rstds: [Float] = []
            for r in 0..<layout.rows {
                let (s, s2) = momentsReference(Array(values[(r * n)..<((r + 1) * n)]))
                let mean = s / Double(n)
                means.append(Float(mean))
                rstds.append(Float(1 / (max(0, s2 / Double(n) - mean * mean) + Double(Float(1e-5))).squareRoot()))
            }
            for affine in [true, false] {
                let xl = x.requiringGrad(), wl = w.requiringGrad(), bl = (w * 0.5).requiringGrad()
                let y = affine ? norm(xl, wl, bl) : norm(xl, nil, nil)
                let upstream = (y * 0.3 + 0.1).detached()
                y.backward(upstream)
                let twin = normBackwardReference(upstream, x: x, layout: layout, means: means, rstds: rstds,
                                                 weight: affine ? w : nil)
                let grads: [[[Float]]] = [[xl.grad!.scalars] + (affine ? [wl.grad!.scalars, bl.grad!.scalars] : []),
                                          [twin.dx!.scalars, twin.dw.scalars, twin.db.scalars]]
                for (k, label) in ["dx", "dw", "db"].prefix(grads[0].count).enumerated() {
                    assertClose(grads[0][k], grads[1][k], rtol: 1e-5, atol: 1e-5, "\(name) \(label), affine \(affine)")
                }
            }
        }
    }

    func testGroupNormSiLUEqualsNormThenSiLU() {
        // A video-shaped input (statistics over frames and positions) with a tail after the eight
        // lanes; values and all three gradients must be those of the two ops in turn.
        var rng = TorchGenerator(seed: 10)
        let x = rng.randn([2, 8, 3, 5, 7]) * 2 + 0.3, w = rng.randn([8]), b = rng.randn([8]), g = rng.randn([2, 8, 3, 5, 7])
        var results: [[[Float]]] = []
        for fused in [true, false] {
            let leaves = [x, w, b].map { $0.requiringGrad() }
            let y = fused ? leaves[0].groupNormSiLU(groups: 4, weight: leaves[1], bias: leaves[2], eps: 1e-6)
                : leaves[0].groupNorm(groups: 4, weight: leaves[1], bias: leaves[2], eps: 1e-6).silu()
            y.backward(g)
            results.append([y.scalars] + leaves.map { $0.grad!.scalars })
        }
        for (index, label) in ["out", "dx", "dw", "db"].enumerated() {
            assertClose(results[0][index], results[1][index], rtol: 0, atol: 0, "groupNormSiLU \(label)")
        }
    }
}

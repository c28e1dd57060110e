// Attention op with gradient over the chunked kernel (Kernels/Attention.swift).

import Foundation

extension Tensor {
    /// softmax(scale · q·kᵀ)·v per head: q [BH, Nq, D], k [BH, Nk, D], v [BH, Nk, Dv] -> [BH, Nq, Dv].
    /// Self-attention passes the same sequence for q, k, v; cross-attention a context for k, v.
    /// `scale` defaults to 1/√D as in PyTorch's scaled_dot_product_attention.
    public static func attention(q: Tensor, k: Tensor, v: Tensor, scale: Float? = nil) -> Tensor {
        precondition(q.rank == 3 && k.rank == 3 && v.rank == 3, "attention expects [BH, N, D] tensors")
        let (heads, nq, d) = (q.shape[0], q.shape[1], q.shape[2])
        let (nk, dv) = (k.shape[1], v.shape[2])
        precondition(k.shape == [heads, nk, d] && v.shape[0] == heads && v.shape[1] == nk,
                     "attention: q \(q.shape), k \(k.shape), v \(v.shape)")
        let s = scale ?? 1 / Float(d).squareRoot()
        let out = Tensor(uninitialized: [heads, nq, dv])
        let configuration = KernelConfiguration.current
        AttentionKernel.forward(out: out.data, q: q.data, k: k.data, v: v.data, heads: heads,
                                nq: nq, nk: nk, d: d, dv: dv, scale: s,
                                queryChunk: configuration.attentionQueryChunk,
                                keyBlock: configuration.attentionKeyBlock)
        return out.recorded("attention", [q, k, v]) { g in
            let dq = Tensor(zeros: q.shape), dk = Tensor(zeros: k.shape), dvT = Tensor(zeros: v.shape)
            AttentionKernel.backward(dq: dq.data, dk: dk.data, dvOut: dvT.data, dOut: g.data,
                                     q: q.data, k: k.data, v: v.data, heads: heads, nq: nq, nk: nk,
                                     d: d, dv: dv, scale: s, queryChunk: configuration.attentionQueryChunk)
            return [q.requiresGrad ? dq : nil, k.requiresGrad ? dk : nil, v.requiresGrad ? dvT : nil]
        }
    }
}

extension Tensor {
    /// Multi-head attention on token-major tensors: q [B, Nq, H·D], k and v [B, Nk, H·D] ->
    /// [B, Nq, H·D]; heads split from the channel axis as sgm and diffusers do.
    public static func multiHeadAttention(q: Tensor, k: Tensor, v: Tensor, heads: Int,
                                          scale: Float? = nil) -> Tensor {
        let (b, nq, c) = (q.shape[0], q.shape[1], q.shape[2])
        let nk = k.shape[1]
        precondition(c % heads == 0, "multiHeadAttention: \(c) channels, \(heads) heads")
        let d = c / heads
        func split(_ t: Tensor, _ n: Int) -> Tensor {
            t.reshaped([b, n, heads, d]).permuted([0, 2, 1, 3]).reshaped([b * heads, n, d])
        }
        let o = attention(q: split(q, nq), k: split(k, nk), v: split(v, nk), scale: scale)
        return o.reshaped([b, heads, nq, d]).permuted([0, 2, 1, 3]).reshaped([b, nq, c])
    }
}

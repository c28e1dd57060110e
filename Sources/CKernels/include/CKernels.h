// Row kernels whose speed depends on SIMD code generation (exp for softmax, row max, short-sequence
// attention, norm statistics and gradients). Written in C so the compiler vectorises them reliably;
// each function is built for AVX2+FMA and for baseline x86-64, picked at load time (target_clones),
// so the binary runs on any x86-64. Readable Swift twins live in Sources/Tensor/Kernels/FastMath.swift
// (the norm backward's in Sources/Tensor/Kernels/Norm.swift) and the tests compare both.
#ifndef SVDMV_CKERNELS_H
#define SVDMV_CKERNELS_H

/// sum and sum of squares of x[0..n), accumulated in Double (the moments of group and layer norm).
void ck_moments(const float *x, long n, double *sum, double *sum_squares);
/// Group norm backward over one channel's run: Σg and Σg·x̂, x̂ = (x − mean)·rstd (eight lanes).
void ck_norm_run_sums(const float *g, const float *x, long n, float mean, float rstd, float *sum_g,
                      float *sum_g_xhat);
/// Layer norm backward of one row of d elements: dw[i] += g·x̂ and db[i] += g (Double), and when dx
/// is not NULL dx = rstd·(g·w − mean(g·w) − x̂·mean(g·w·x̂)); w NULL means 1.
void ck_layer_norm_row_backward(float *dx, double *dw, double *db, const float *g, const float *x,
                                const float *w, long d, float mean, float rstd);
/// max of x[0..n).
float ck_row_max(const float *x, long n);
/// y[i] = exp(x[i] - shift) (Cephes polynomial, about 1 ulp); returns the sum of y. y may be x.
float ck_exp_shifted(float *y, const float *x, long n, float shift);
/// y[i] *= s.
void ck_scale(float *y, long n, float s);

/// y = x·sigmoid(x) and its backward dx = g·s·(1 + x·(1 − s)).
void ck_silu(float *y, const float *x, long n);
void ck_silu_backward(float *dx, const float *g, const float *x, long n);
/// y = x·½(1 + erf(x/√2)) with PyTorch's vectorised erf, and its backward.
void ck_gelu(float *y, const float *x, long n);
void ck_gelu_backward(float *dx, const float *g, const float *x, long n);
/// One attention head for short sequences (nq, nk <= 64): out[nq, dv] = softmax(scale·q·kᵀ)·v,
/// q [nq, d], k [nk, d], v [nk, dv]. `scratch` holds nk·d + nk floats.
void ck_attention_head(float *out, const float *q, const float *k, const float *v, long nq, long nk,
                       long d, long dv, float scale, float *scratch);

/// y[i] = the float value of float16 bits h[i] (exact; NaN payloads shifted into place), the
/// widening of half-stored weights before each GEMM. Twin: DType.swift float(fromFloat16Bits:).
void ck_float16_to_float(float *y, const unsigned short *h, long n);

/// torch.manual_seed(seed); torch.rand(n) (mt19937, 24-bit uniforms), each mapped to
/// (u·2 − 1)·scale + shift in float32 (the shift skipped when 0), and rounded to float16 bits
/// when `half` is not NULL (round to nearest even; then y may be NULL). Seeded test weights of
/// billions of elements stay fast in debug builds; the Swift twin is TorchGenerator.rand.
void ck_torch_rand_affine(float *y, unsigned short *half, long n, unsigned long long seed, float scale,
                          float shift);

/// Bytes of tensor storage the process owns now, and the most it has owned since the last
/// reset: `TensorStorage` reports each owned allocation (+) and free (−). Atomic, so any thread
/// may allocate. The peak is what a forward pass really holds, apart from the allocator's slack.
void ck_tensor_bytes_add(long long delta);
long long ck_tensor_bytes_live(void);
long long ck_tensor_bytes_peak(void);
void ck_tensor_bytes_reset_peak(void);

#endif

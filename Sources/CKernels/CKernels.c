#include "CKernels.h"
#include <stdint.h>
#include <string.h>

// Each public kernel is compiled twice, for AVX2+FMA and for the baseline, and dispatched once
// on the CPU's features (target_clones' "arch=haswell" does not match AMD Zen, so we ask for the
// features themselves).
#if defined(__x86_64__)
#define AVX2_TARGET __attribute__((target("avx2,fma")))
static int has_avx2(void) {
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return cached;
}
#define DISPATCH(ret, name, params, args)                                  \
    static AVX2_TARGET ret name##_avx2 params;                             \
    static ret name##_base params;                                         \
    ret name params { return has_avx2() ? name##_avx2 args : name##_base args; }
#define VARIANTS(ret, name, params, ...) \
    static AVX2_TARGET ret name##_avx2 params __VA_ARGS__ static ret name##_base params __VA_ARGS__
#else
#define DISPATCH(ret, name, params, args) \
    static ret name##_base params;        \
    ret name params { return name##_base args; }
#define VARIANTS(ret, name, params, ...) static ret name##_base params __VA_ARGS__
#endif

static inline float exp_cephes(float x) {
    x = x < -87.33654f ? -87.33654f : x;
    x = x > 88.72283f ? 88.72283f : x;
    const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer in the low bits
    float t = x * 1.44269504088896341f + magic;
    float n = t - magic;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500E-4f;
    p = p * r + 1.3981999507E-3f;
    p = p * r + 8.3334519073E-3f;
    p = p * r + 4.1665795894E-2f;
    p = p * r + 1.6666665459E-1f;
    p = p * r + 5.0000001201E-1f;
    float y = p * r * r + r + 1.0f;
    int32_t bits;
    memcpy(&bits, &t, 4);
    bits = (bits - 0x4B400000 + 127) << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return y * scale;
}

// Eight Double lanes per sum break the add chain (the sequential loop waits on each add), and
// Double keeps the sums exact enough that the Float mean and rstd match the sequential ones.
DISPATCH(void, ck_moments, (const float *x, long n, double *sum, double *sum_squares), (x, n, sum, sum_squares))
VARIANTS(void, ck_moments, (const float *x, long n, double *sum, double *sum_squares), {
    double s[8] = {0}, s2[8] = {0};
    long i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) {
            double v = x[i + j];
            s[j] += v;
            s2[j] += v * v;
        }
    double rs = 0, rs2 = 0;
    for (int j = 0; j < 8; j++) { rs += s[j]; rs2 += s2[j]; }
    for (; i < n; i++) { double v = x[i]; rs += v; rs2 += v * v; }
    *sum = rs;
    *sum_squares = rs2;
})

DISPATCH(void, ck_norm_run_sums,
         (const float *g, const float *x, long n, float mean, float rstd, float *sum_g, float *sum_g_xhat),
         (g, x, n, mean, rstd, sum_g, sum_g_xhat))
VARIANTS(void, ck_norm_run_sums,
         (const float *g, const float *x, long n, float mean, float rstd, float *sum_g, float *sum_g_xhat), {
    float s[8] = {0}, sx[8] = {0};
    long i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) {
            s[j] += g[i + j];
            sx[j] += g[i + j] * ((x[i + j] - mean) * rstd);
        }
    float rs = 0, rsx = 0;
    for (int j = 0; j < 8; j++) { rs += s[j]; rsx += sx[j]; }
    for (; i < n; i++) { rs += g[i]; rsx += g[i] * ((x[i] - mean) * rstd); }
    *sum_g = rs;
    *sum_g_xhat = rsx;
})

DISPATCH(void, ck_layer_norm_row_backward,
         (float *dx, double *dw, double *db, const float *g, const float *x, const float *w, long d, float mean,
          float rstd),
         (dx, dw, db, g, x, w, d, mean, rstd))
VARIANTS(void, ck_layer_norm_row_backward,
         (float *dx, double *dw, double *db, const float *g, const float *x, const float *w, long d, float mean,
          float rstd), {
    double sd[8] = {0}, sdx[8] = {0};
    long i = 0;
    for (; i + 8 <= d; i += 8)
        for (int j = 0; j < 8; j++) {
            float xhat = (x[i + j] - mean) * rstd, gw = g[i + j] * (w ? w[i + j] : 1.0f);
            dw[i + j] += (double)(g[i + j] * xhat);
            db[i + j] += (double)g[i + j];
            sd[j] += (double)gw;
            sdx[j] += (double)(gw * xhat);
        }
    double sum_d = 0, sum_dx = 0;
    for (int j = 0; j < 8; j++) { sum_d += sd[j]; sum_dx += sdx[j]; }
    for (; i < d; i++) {
        float xhat = (x[i] - mean) * rstd, gw = g[i] * (w ? w[i] : 1.0f);
        dw[i] += (double)(g[i] * xhat);
        db[i] += (double)g[i];
        sum_d += (double)gw;
        sum_dx += (double)(gw * xhat);
    }
    if (!dx) return;
    float m_d = (float)(sum_d / (double)d), m_dx = (float)(sum_dx / (double)d);
    for (i = 0; i < d; i++) {
        float xhat = (x[i] - mean) * rstd, gw = g[i] * (w ? w[i] : 1.0f);
        dx[i] = rstd * (gw - m_d - xhat * m_dx);
    }
})

DISPATCH(float, ck_row_max, (const float *x, long n), (x, n))
VARIANTS(float, ck_row_max, (const float *x, long n), {
    float m[8] = {-__builtin_inff(), -__builtin_inff(), -__builtin_inff(), -__builtin_inff(),
                  -__builtin_inff(), -__builtin_inff(), -__builtin_inff(), -__builtin_inff()};
    long i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) m[j] = x[i + j] > m[j] ? x[i + j] : m[j];
    float r = m[0];
    for (int j = 1; j < 8; j++) r = m[j] > r ? m[j] : r;
    for (; i < n; i++) r = x[i] > r ? x[i] : r;
    return r;
})

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

// Eight-lane building blocks as macros: a function taking 32-byte vectors would change the
// baseline ABI, and neither compiler auto-vectorises the scalar forms with their bit casts.
#define SPLAT(v) ((v8f){v, v, v, v, v, v, v, v})
#define SELECT(mask, a, b) ((v8f)(((v8i)(a) & (mask)) | ((v8i)(b) & ~(mask))))

// out = exp(in), Cephes polynomial (about 1 ulp), inputs clamped to [-87.34, 88.72].
#define EXP8(out, in)                                                                    \
    do {                                                                                 \
        v8f x_ = (in);                                                                   \
        x_ = SELECT((v8i)(x_ < SPLAT(-87.33654f)), SPLAT(-87.33654f), x_);               \
        x_ = SELECT((v8i)(x_ > SPLAT(88.72283f)), SPLAT(88.72283f), x_);                 \
        v8f t_ = x_ * 1.44269504088896341f + 12582912.0f;                                \
        v8f n_ = t_ - 12582912.0f;                                                       \
        v8f r_ = x_ - n_ * 0.693359375f;                                                 \
        r_ = r_ - n_ * -2.12194440e-4f;                                                  \
        v8f p_ = r_ * 1.9875691500E-4f + 1.3981999507E-3f;                               \
        p_ = p_ * r_ + 8.3334519073E-3f;                                                 \
        p_ = p_ * r_ + 4.1665795894E-2f;                                                 \
        p_ = p_ * r_ + 1.6666665459E-1f;                                                 \
        p_ = p_ * r_ + 5.0000001201E-1f;                                                 \
        (out) = (p_ * r_ * r_ + r_ + 1.0f) * (v8f)(((v8i)t_ - 0x4B400000 + 127) << 23);  \
    } while (0)

// out = erf(in) as PyTorch's Vectorized<float>::erf computes it (Abramowitz & Stegun 7.1.26,
// absolute error below 1.5e-7), so GELU matches the reference's CPU kernels.
#define ERF8(out, in)                                                                     \
    do {                                                                                  \
        v8f v_ = (in);                                                                    \
        v8i sign_ = (v8i)v_ & (v8i)SPLAT(-0.0f);                                          \
        v8f a_ = (v8f)((v8i)v_ ^ sign_);                                                  \
        v8f t_ = 1.0f / (a_ * 0.3275911f + 1.0f);                                         \
        v8f r_ = ((((t_ * 1.061405429f + -1.453152027f) * t_ + 1.421413741f) * t_         \
                   + -0.284496736f) * t_ + 0.254829592f);                                 \
        v8f e_;                                                                           \
        EXP8(e_, -(v_ * v_));                                                             \
        (out) = (v8f)((v8i)(1.0f - e_ * t_ * r_) ^ sign_);                                \
    } while (0)

// Runs BODY (which maps v8f `x8` to v8f `y8`) over n values; the tail goes through a padded
// vector, so every element takes the same arithmetic path.
#define MAP8(n, LOAD, BODY, STORE)                         \
    do {                                                   \
        long i_ = 0;                                       \
        for (; i_ + 8 <= (n); i_ += 8) {                   \
            long base_ = i_, count_ = 8;                   \
            LOAD BODY STORE                                \
        }                                                  \
        if (i_ < (n)) {                                    \
            long base_ = i_, count_ = (n) - i_;            \
            LOAD BODY STORE                                \
        }                                                  \
    } while (0)

DISPATCH(float, ck_exp_shifted, (float *y, const float *x, long n, float shift), (y, x, n, shift))
VARIANTS(float, ck_exp_shifted, (float *y, const float *x, long n, float shift), {
    // exp_cephes on eight lanes with GCC/Clang vector extensions, written in the loop body (a
    // function taking 32-byte vectors would change the baseline ABI): neither compiler
    // auto-vectorises the scalar version with its bit casts.
    const v8f lo = {-87.33654f, -87.33654f, -87.33654f, -87.33654f, -87.33654f, -87.33654f, -87.33654f, -87.33654f};
    const v8f hi = {88.72283f, 88.72283f, 88.72283f, 88.72283f, 88.72283f, 88.72283f, 88.72283f, 88.72283f};
    const float magic = 12582912.0f;
    v8f sum = {0};
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        v8f x8;
        memcpy(&x8, x + i, sizeof x8);
        x8 -= shift;
        v8i below = (v8i)(x8 < lo), above = (v8i)(x8 > hi);  // lane masks: all ones where true
        x8 = (v8f)(((v8i)lo & below) | ((v8i)x8 & ~below));
        x8 = (v8f)(((v8i)hi & above) | ((v8i)x8 & ~above));
        v8f t = x8 * 1.44269504088896341f + magic;
        v8f nn = t - magic;
        v8f r = x8 - nn * 0.693359375f;
        r = r - nn * -2.12194440e-4f;
        v8f p = r * 1.9875691500E-4f + 1.3981999507E-3f;
        p = p * r + 8.3334519073E-3f;
        p = p * r + 4.1665795894E-2f;
        p = p * r + 1.6666665459E-1f;
        p = p * r + 5.0000001201E-1f;
        v8f e = (p * r * r + r + 1.0f) * (v8f)(((v8i)t - 0x4B400000 + 127) << 23);
        memcpy(y + i, &e, sizeof e);
        sum += e;
    }
    float total = ((sum[0] + sum[4]) + (sum[1] + sum[5])) + ((sum[2] + sum[6]) + (sum[3] + sum[7]));
    for (; i < n; i++) {
        float e = exp_cephes(x[i] - shift);
        y[i] = e;
        total += e;
    }
    return total;
})

#define LOAD1(src, v) v8f v = {0}; memcpy(&v, (src) + base_, count_ * sizeof(float));
#define STORE1(dst, v) memcpy((dst) + base_, &v, count_ * sizeof(float));

DISPATCH(void, ck_silu, (float *y, const float *x, long n), (y, x, n))
VARIANTS(void, ck_silu, (float *y, const float *x, long n), {
    MAP8(n, LOAD1(x, x8), v8f e8; EXP8(e8, -x8); v8f y8 = x8 / (1.0f + e8);, STORE1(y, y8));
})

DISPATCH(void, ck_silu_backward, (float *dx, const float *g, const float *x, long n), (dx, g, x, n))
VARIANTS(void, ck_silu_backward, (float *dx, const float *g, const float *x, long n), {
    MAP8(n, LOAD1(x, x8) LOAD1(g, g8),
         v8f e8; EXP8(e8, -x8); v8f s8 = 1.0f / (1.0f + e8); v8f y8 = g8 * s8 * (1.0f + x8 * (1.0f - s8));,
         STORE1(dx, y8));
})

DISPATCH(void, ck_gelu, (float *y, const float *x, long n), (y, x, n))
VARIANTS(void, ck_gelu, (float *y, const float *x, long n), {
    MAP8(n, LOAD1(x, x8), v8f f8; ERF8(f8, x8 * 0.70710678118654752f); v8f y8 = x8 * 0.5f * (1.0f + f8);,
         STORE1(y, y8));
})

DISPATCH(void, ck_gelu_backward, (float *dx, const float *g, const float *x, long n), (dx, g, x, n))
VARIANTS(void, ck_gelu_backward, (float *dx, const float *g, const float *x, long n), {
    MAP8(n, LOAD1(x, x8) LOAD1(g, g8),
         v8f f8; ERF8(f8, x8 * 0.70710678118654752f); v8f cdf8 = 0.5f * (1.0f + f8);
         v8f p8; EXP8(p8, x8 * x8 * -0.5f);
         v8f y8 = g8 * (cdf8 + x8 * p8 * 0.3989422804014327f);,
         STORE1(dx, y8));
})

DISPATCH(void, ck_scale, (float *y, long n, float s), (y, n, s))
VARIANTS(void, ck_scale, (float *y, long n, float s), {
    for (long i = 0; i < n; i++) y[i] *= s;
})

DISPATCH(void, ck_attention_head,
         (float *out, const float *q, const float *k, const float *v, long nq, long nk, long d,
          long dv, float scale, float *scratch),
         (out, q, k, v, nq, nk, d, dv, scale, scratch))
VARIANTS(void, ck_attention_head,
         (float *out, const float *q, const float *k, const float *v, long nq, long nk, long d,
          long dv, float scale, float *scratch), {
    // kᵀ [d, nk], so both products are axpy loops over a contiguous axis (they vectorise).
    float *kt = scratch, *s = scratch + nk * d;
    for (long j = 0; j < nk; j++)
        for (long c = 0; c < d; c++) kt[c * nk + j] = k[j * d + c];
    for (long i = 0; i < nq; i++) {
        const float *qi = q + i * d;
        for (long j = 0; j < nk; j++) s[j] = 0;
        for (long c = 0; c < d; c++) {
            const float qc = qi[c] * scale;
            const float *row = kt + c * nk;
            for (long j = 0; j < nk; j++) s[j] += qc * row[j];
        }
        float m = s[0];
        for (long j = 1; j < nk; j++) m = s[j] > m ? s[j] : m;
        float total = 0;
        for (long j = 0; j < nk; j++) {
            s[j] = exp_cephes(s[j] - m);
            total += s[j];
        }
        const float inv = 1.0f / total;
        float *o = out + i * dv;
        for (long c = 0; c < dv; c++) o[c] = 0;
        for (long j = 0; j < nk; j++) {
            const float p = s[j] * inv;
            const float *vj = v + j * dv;
            for (long c = 0; c < dv; c++) o[c] += p * vj[c];
        }
    }
})

// ---- seeded uniforms (torch.rand) --------------------------------------------------------------

#pragma STDC FP_CONTRACT OFF

/* IEEE binary16 bits nearest to a finite float (round to nearest even, gradual underflow,
   overflow to infinity): Sources/Tensor/DType.swift float16Bits without the NaN branch. */
static uint16_t ck_float16_bits(float value) {
    uint32_t x;
    memcpy(&x, &value, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t magnitude = x & 0x7FFFFFFFu;
    if (magnitude >= 0x477FF000u) return sign | 0x7C00;
    if (magnitude < 0x38800000u) {
        float m, shifted;
        memcpy(&m, &magnitude, 4);
        shifted = m + 0.5f;
        uint32_t bits;
        memcpy(&bits, &shifted, 4);
        return sign | (uint16_t)(bits - 0x3F000000u);
    }
    uint32_t lowest_kept = (magnitude >> 13) & 1;
    return sign | (uint16_t)((magnitude - 0x38000000u + 0x0FFFu + lowest_kept) >> 13);
}

void ck_torch_rand_affine(float *y, unsigned short *half, long n, unsigned long long seed, float scale,
                          float shift) {
    uint32_t state[624];
    state[0] = (uint32_t)seed;
    for (int i = 1; i < 624; i++) state[i] = 1812433253u * (state[i - 1] ^ (state[i - 1] >> 30)) + (uint32_t)i;
    int index = 624;
    for (long j = 0; j < n; j++) {
        if (index >= 624) {
            for (int i = 0; i < 624; i++) {
                uint32_t v = (state[i] & 0x80000000u) | (state[(i + 1) % 624] & 0x7FFFFFFFu);
                uint32_t next = state[(i + 397) % 624] ^ (v >> 1);
                if (v & 1) next ^= 0x9908B0DFu;
                state[i] = next;
            }
            index = 0;
        }
        uint32_t r = state[index++];
        r ^= r >> 11;
        r ^= (r << 7) & 0x9D2C5680u;
        r ^= (r << 15) & 0xEFC60000u;
        r ^= r >> 18;
        float u = (float)(r & 0xFFFFFFu) * (1.0f / 16777216.0f);
        float value = (u * 2.0f - 1.0f) * scale;
        if (shift != 0.0f) value = value + shift;
        if (half) half[j] = ck_float16_bits(value);
        else y[j] = value;
    }
}

void ck_float16_to_float(float *y, const unsigned short *h, long n) {
    for (long i = 0; i < n; i++) {
        uint32_t sign = (uint32_t)(h[i] & 0x8000) << 16;
        uint32_t exponent = (h[i] >> 10) & 0x1F, mantissa = h[i] & 0x3FF, bits;
        if (exponent == 0x1F) {
            bits = sign | 0x7F800000u | (mantissa << 13);
        } else if (exponent == 0) {  /* zero or subnormal: mantissa * 2^-24, exact */
            float m = (float)mantissa * (1.0f / 16777216.0f);
            memcpy(&bits, &m, 4);
            bits |= sign;
        } else {
            bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
        }
        memcpy(y + i, &bits, 4);
    }
}

// MARK: tensor memory accounting

static long long ck_live_bytes = 0;
static long long ck_peak_bytes = 0;

void ck_tensor_bytes_add(long long delta) {
    long long now = __atomic_add_fetch(&ck_live_bytes, delta, __ATOMIC_RELAXED);
    long long peak = __atomic_load_n(&ck_peak_bytes, __ATOMIC_RELAXED);
    while (now > peak &&
           !__atomic_compare_exchange_n(&ck_peak_bytes, &peak, now, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
}

long long ck_tensor_bytes_live(void) { return __atomic_load_n(&ck_live_bytes, __ATOMIC_RELAXED); }
long long ck_tensor_bytes_peak(void) { return __atomic_load_n(&ck_peak_bytes, __ATOMIC_RELAXED); }
void ck_tensor_bytes_reset_peak(void) {
    __atomic_store_n(&ck_peak_bytes, __atomic_load_n(&ck_live_bytes, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
}

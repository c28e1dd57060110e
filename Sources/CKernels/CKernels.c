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

/* Multi-scalar multiplication on BN254 G1 and G2: Pippenger, with the techniques of the fastest
 * CPU libraries each switchable (msm_cfg, ZKP_MSM_* in zkp.h) so that bench/bench_msm.py can
 * measure them one by one: signed digits, batch-affine buckets (curve_impl.h), the endomorphism
 * (GLV on G1, psi on G2: glv.h), the window size, and precomputed multiples of fixed bases.
 *
 * Signed (Booth) digits: a c-bit window of a scalar s gives the digit
 * d_w = v_w + b_{wc-1} - 2^c b_{wc+c-1}, where v_w is the unsigned window value and b_k bit k
 * of s. Summed over windows the correction terms telescope, so s = sum_w d_w 2^(wc) as long as
 * s < 2^(Wc-1), and |d_w| <= 2^(c-1): half the buckets of unsigned digits, the negative ones
 * paid for by negating y (free). The digit is a pure function of c+1 bits of s, so no recoded
 * copy of the scalars is stored and each window reads the scalars afresh (32 bytes per point
 * per window: noise next to the curve additions).
 */
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
static inline int zkp_thread_id(void) { return omp_get_thread_num(); }
#else
static inline int zkp_thread_id(void) { return 0; }
#endif

#include "field.h"
#include "glv.h"
#include "zkp.h"

volatile int zkp_alloc_failed = 0;

/* Additions queued per batch in the affine path, and the fewest buckets for which that path is
 * used (below it batches would be mostly collisions and the inversion would not amortise). */
#ifndef MSM_BATCH
/* 1024: one inversion per 1024 additions; since busy buckets defer instead of taking an XYZZ
 * addition, a longer batch no longer costs more collisions (G1 2^20 on one thread: 512 -> 1024
 * took 7-10% off) */
#define MSM_BATCH 1024
#endif
#ifndef MSM_AFFINE_MIN_BUCKETS
#define MSM_AFFINE_MIN_BUCKETS 2048
#endif
#ifndef MSM_AFFINE_GAIN
#define MSM_AFFINE_GAIN 0.65
#endif

/* r < 2^254, so W windows with W c >= 255 cover every reduced scalar (s < 2^(Wc-1)). */
#define SCALAR_BITS 255
/* GLV / psi halves are below 2^128 in magnitude (glv.h). */
#define GLV_BITS 129

int zkp_have_openmp(void) {
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

/* The techniques one MSM uses (zkp.h: ZKP_MSM_*), each switchable so that its effect can be
 * measured alone (bench/bench_msm.py). */
typedef struct {
    int sgn;    /* signed (Booth) digits: 2^(c-1) buckets instead of 2^c - 1 */
    int affine; /* batch-affine buckets when there are at least MSM_AFFINE_MIN_BUCKETS */
    int endo;   /* GLV on G1, psi on G2 (glv.h) */
    int c;      /* window bits, 0 = chosen by msm_window_bits */
} msm_cfg;

/* Width-5 NAF of a non-negative k < 2^256: digits[i] odd in [-15, 15] or 0, at most one non-zero
 * digit in any 5 consecutive, k = sum digits[i] 2^i. Returns the number of digits (<= 257).
 * One non-zero digit in 6 on average (Booth windows of 5 bits: one in 5), and only the odd
 * multiples 1..15 need a table. */
#define NAF_W 5
#define NAF_MAX 258
static int naf5_digits(int8_t *digits, const fe *k) {
    u64 v[5] = {k->l[0], k->l[1], k->l[2], k->l[3], 0};
    int n = 0;
    while (v[0] | v[1] | v[2] | v[3] | v[4]) {
        int d = 0;
        if (v[0] & 1) {
            d = (int)(v[0] & ((1u << NAF_W) - 1));
            if (d >= 1 << (NAF_W - 1)) d -= 1 << NAF_W;
            if (d > 0) { /* v -= d */
                u64 borrow = v[0] < (u64)d;
                v[0] -= (u64)d;
                for (int i = 1; i < 5 && borrow; i++) borrow = v[i]-- == 0;
            } else { /* v += -d */
                v[0] += (u64)(-d);
                u64 carry = v[0] < (u64)(-d);
                for (int i = 1; i < 5 && carry; i++) carry = ++v[i] == 0;
            }
        }
        digits[n++] = (int8_t)d;
        for (int i = 0; i < 4; i++) v[i] = (v[i] >> 1) | (v[i + 1] << 63);
        v[4] >>= 1;
    }
    return n;
}

/* Booth digit of window w (bits [wc - 1, wc + c) of s, bit -1 being 0). */
ZKP_INLINE int booth_digit(const fe *s, int w, int c) {
    int start = w * c - 1;
    u64 v;
    if (start < 0) {
        v = s->l[0] << 1;
    } else {
        int limb = start >> 6, off = start & 63;
        if (limb > 3) return 0;
        v = s->l[limb] >> off;
        if (off + c + 1 > 64 && limb < 3) v |= s->l[limb + 1] << (64 - off);
    }
    v &= ((u64)1 << (c + 1)) - 1;
    return (int)(v >> 1) + (int)(v & 1) - (int)((v >> c) << c);
}

/* Unsigned digit of window w: bits [wc, wc + c) of s. */
ZKP_INLINE int plain_digit(const fe *s, int w, int c) {
    int start = w * c, limb = start >> 6, off = start & 63;
    if (limb > 3) return 0;
    u64 v = s->l[limb] >> off;
    if (off + c > 64 && limb < 3) v |= s->l[limb + 1] << (64 - off);
    return (int)(v & (((u64)1 << c) - 1));
}

ZKP_INLINE int msm_digit(const fe *s, int w, int c, int sgn) { return sgn ? booth_digit(s, w, c) : plain_digit(s, w, c); }

ZKP_INLINE size_t msm_buckets(int c, int sgn) { return sgn ? (size_t)1 << (c - 1) : ((size_t)1 << c) - 1; }

/* Windows covering scalars below 2^(bits-1): Booth digits need W c >= bits, plain ones
 * W c >= bits - 1. */
ZKP_INLINE int msm_windows(int bits, int c, int sgn) { return (bits - (sgn ? 0 : 1) + c - 1) / c; }

ZKP_INLINE int msm_use_affine(size_t nb, const msm_cfg *cfg) { return cfg->affine && nb >= MSM_AFFINE_MIN_BUCKETS; }

/* Window size for an MSM whose one task runs over n points: minimise
 * windows * (points + reduction), a bucket reduction costing ~2 full additions per bucket and
 * a full addition ~1.4 mixed ones, a batched affine addition ~0.65 of a mixed one. The bucket
 * array of a thread is capped at 512 KiB (half this machine's L2) for XYZZ buckets, where every
 * addition waits for its bucket (measured at 2^20 on G1: c = 12 beat c = 15-16 by ~25%), and
 * at 2 MiB for batched affine buckets, which are prefetched when an addition is queued and
 * read a batch later (G1 2^20 on one thread: c = 15-16 10% faster than c = 13). */
static int msm_window_bits(size_t n, size_t point_bytes, int bits, const msm_cfg *cfg) {
#ifdef MSM_FORCE_C
    if (n > 4096) return MSM_FORCE_C;
#endif
    int best_c = 1;
    double best = 1e300;
    for (int c = 1; c <= 16; c++) {
        int W = msm_windows(bits, c, cfg->sgn);
        size_t nb = msm_buckets(c, cfg->sgn);
        const int affine = msm_use_affine(nb, cfg);
        if (c > 1 && nb * point_bytes > ((size_t)(affine ? 2048 : 512) << 10)) break;
        double per_point = affine ? MSM_AFFINE_GAIN : 1.0;
        double cost = (double)W * ((double)n * per_point + 2.8 * (double)nb);
        if (cost < best) {
            best = cost;
            best_c = c;
        }
    }
    return best_c;
}

/* Estimated longest-running thread for an MSM of n points split into `chunks` chunks with
 * cfg's windows on T threads, from the digit density of a sample of the scalars: real
 * witnesses are mostly small scalars, which put nearly all the work into the lowest windows,
 * and then one chunk per thread balances better than one task per window. */
static double msm_makespan(const fe *scalars, size_t n, int bits, const msm_cfg *cfg, int chunks, int T) {
    const int c = cfg->c;
    int W = msm_windows(bits, c, cfg->sgn);
    size_t nb = msm_buckets(c, cfg->sgn), per = (n + chunks - 1) / chunks;
    double per_point = msm_use_affine(nb, cfg) ? MSM_AFFINE_GAIN : 1.0;
    size_t samples = n < 256 ? n : 256, stride = n / samples;
    double total = 0, heaviest = 0;
    for (int w = 0; w < W; w++) {
        size_t nz = 0;
        for (size_t s = 0; s < samples; s++) nz += msm_digit(&scalars[s * stride], w, c, cfg->sgn) != 0;
        double task = (double)nz / (double)samples * (double)per * per_point + (nz ? 2.8 * (double)nb : 0.0);
        total += task * chunks;
        if (task > heaviest) heaviest = task;
    }
    double fair = total / T;
    return fair > heaviest ? fair : heaviest;
}

/* The techniques used when the caller asks for none in particular. */
static msm_cfg msm_default_cfg(void) {
    msm_cfg cfg = {1, 1, 0, 0};
    return cfg;
}

/* Copy of the scalars reduced below r, or NULL when they already are (the usual case). */
static fe *reduced_scalars(const fe *s, size_t n, int *failed) {
    size_t i = 0;
    while (i < n && !fe_geq(&s[i], &FR_P)) i++;
    if (i == n) return NULL;
    fe *copy = (fe *)malloc(n * sizeof(fe));
    if (!copy) {
        *failed = 1;
        return NULL;
    }
    memcpy(copy, s, n * sizeof(fe));
    for (; i < n; i++) {
        while (fe_geq(&copy[i], &FR_P)) fe_sub_p(&copy[i], &copy[i], &FR_P, &FR_P);
    }
    return copy;
}

#define FONE_FQ(x) ((x) = FQ_ONE)
#define FONE_FQ2(x) ((x).c0 = FQ_ONE, memset(&(x).c1, 0, sizeof(fe)))

#include "field_ifma.h"
#ifdef ZKP_HAVE_IFMA /* the batched affine flush on AVX-512 IFMA (msm_ifma.h) */
#define CURVE_SIMD_FLUSH ZKP_CAT(CURVE, simd_flush)
#define CURVE_SIMD_BUF_BYTES ZKP_CAT(CURVE, simd_buf_bytes)
#define CURVE_SIMD_TO ZKP_CAT(FPFX, to_rp)
#define CURVE_SIMD_FROM ZKP_CAT(FPFX, from_rp)
#endif
#define CURVE g1
#define FT fe
#define FPFX fq
#define FONE FONE_FQ
#include "curve_impl.h"
#ifdef ZKP_HAVE_IFMA
#define VPFX fv
#include "msm_ifma.h"
#undef VPFX
#endif
#undef CURVE
#undef FT
#undef FPFX
#undef FONE

#define CURVE g2
#define FT fe2
#define FPFX fq2
#define FONE FONE_FQ2
#include "curve_impl.h"
#ifdef ZKP_HAVE_IFMA
#define VPFX fv2
#include "msm_ifma.h"
#undef VPFX
#undef CURVE_SIMD_FLUSH
#undef CURVE_SIMD_BUF_BYTES
#undef CURVE_SIMD_TO
#undef CURVE_SIMD_FROM
#endif
#undef CURVE
#undef FT
#undef FPFX
#undef FONE

/* beta (Montgomery form), a cube root of unity in Fq: phi(x, y) = (beta x, y) = lambda P with
 * lambda = 0x30644e72...36636f23 (glv.h, prover/groth16/phase2.py). */
static const fe GLV_BETA = {{0x3350c88e13e80b9cULL, 0x7dce557cdb5e56b9ULL, 0x6001b4b8b615564aULL, 0x2682e617020217e0ULL}};

/* psi's coefficients (Montgomery form): xi^((q-1)/3) and xi^((q-1)/2), xi = 9 + u. */
static const fe2 PSI_X = {{{0xb5773b104563ab30ULL, 0x347f91c8a9aa6454ULL, 0x7a007127242e0991ULL, 0x1956bcd8118214ecULL}},
                          {{0x6e849f1ea0aa4757ULL, 0xaa1c7b6d89f89141ULL, 0xb6e713cdfae0ca3aULL, 0x26694fbb4e82ebc3ULL}}};
static const fe2 PSI_Y = {{{0xe4bbdd0c2936b629ULL, 0xbb30f162e133bacbULL, 0x31a9d1b6f9645366ULL, 0x253570bea500f8ddULL}},
                          {{0xa1d77ce45ffe77c7ULL, 0x07affd117826d1dbULL, 0x6d16bd27bb7edc6bULL, 0x2c87200285defeccULL}}};

static void g1_endo(g1_aff *r, const g1_aff *p) {
    fq_mul(&r->x, &p->x, &GLV_BETA);
    r->y = p->y;
}

/* conj(a) c */
static inline void fq2_conj_mul(fe2 *r, const fe2 *a, const fe2 *c) {
    fe2 t;
    t.c0 = a->c0;
    fq_neg(&t.c1, &a->c1);
    fq2_mul(r, &t, c);
}

static void g2_endo(g2_aff *r, const g2_aff *p) {
    fq2_conj_mul(&r->x, &p->x, &PSI_X);
    fq2_conj_mul(&r->y, &p->y, &PSI_Y);
}

static void fq_from_mont(fe *r, const fe *a) {
    static const fe one = {{1, 0, 0, 0}};
    fq_mul(r, a, &one);
}

/* The techniques for flags (ZKP_MSM_*, or ZKP_MSM_AUTO for the default) and window c. */
static msm_cfg msm_cfg_from(int flags, int c) {
    if (flags < 0) {
        msm_cfg cfg = msm_default_cfg();
        cfg.c = c;
        return cfg;
    }
    msm_cfg cfg = {(flags & ZKP_MSM_SIGNED) != 0, (flags & ZKP_MSM_AFFINE) != 0, (flags & ZKP_MSM_ENDO) != 0, c};
    return cfg;
}

/* Sizes where the default takes the endomorphism (bench/bench_msm.py, BENCHMARKS.md). It keeps
 * the number of additions (2n points, half the windows) and halves the bucket reductions; it
 * pays where the doubled point count moves a thread's window up into the batch-affine range
 * (about 2^12 .. 2^17 points). Above, the split, the images and the 2n scalars' traffic cost more
 * than the reductions saved on this 2-core machine (2^18 G1: 1.19 against 1.15 core-seconds). */
#ifndef MSM_ENDO_MIN_POINTS
#define MSM_ENDO_MIN_POINTS 4096
#endif
#ifndef MSM_ENDO_MAX_POINTS
#define MSM_ENDO_MAX_POINTS (1 << 17)
#endif

/* Window passes of a table: the shift between its rows (glv.h bits with the endomorphism). */
static int msm_table_shift(const msm_cfg *cfg, int tw) {
    int W = msm_windows(cfg->endo ? GLV_BITS : SCALAR_BITS, cfg->c, cfg->sgn);
    return (W + tw - 1) / tw * cfg->c;
}

/* One entry point per group: msm_gX_run(bases, scalars, n, nthreads, flags, c, table, tw, out),
 * table NULL or built by zkp_msm_table_gX with the same flags, c and tw. */
#define MSM_ENTRY(CURVE_, NAME, LATTICE)                                                                        \
    static int NAME(const uint64_t *bases, const uint64_t *scalars, size_t n, int nthreads, int flags, int c,  \
                    const uint64_t *table, int tw, uint64_t *out) {                                            \
        if (c < 0 || c > 20) return -2;                                                                        \
        int failed = 0;                                                                                        \
        fe *red = reduced_scalars((const fe *)scalars, n, &failed);                                            \
        if (failed) return -1;                                                                                 \
        const fe *s = red ? red : (const fe *)scalars;                                                         \
        const CURVE_##_aff *b = (const CURVE_##_aff *)bases, *tab = (const CURVE_##_aff *)table;               \
        msm_cfg cfg = msm_cfg_from(flags, c);                                                                  \
        if (flags < 0) cfg.endo = n >= MSM_ENDO_MIN_POINTS && n <= MSM_ENDO_MAX_POINTS;                        \
        zkp_alloc_failed = 0;                                                                                  \
        CURVE_##_xyzz acc;                                                                                     \
        int done = 0;                                                                                          \
        if (cfg.endo)                                                                                          \
            done = CURVE_##_msm_endo(&acc, tab ? tab : b, s, n, &LATTICE, cfg, tab, tw, nthreads) == 0;        \
        if (!done && tab && cfg.endo) { /* a split that does not fit: no table for the plain path */          \
            free(red);                                                                                         \
            return -1;                                                                                         \
        }                                                                                                      \
        if (!done) {                                                                                           \
            zkp_alloc_failed = 0;                                                                              \
            CURVE_##_msm_in in = {tab ? tab : b, NULL, s, NULL, n, n, SCALAR_BITS, tab, tw};                  \
            CURVE_##_msm_run(&acc, &in, cfg, nthreads);                                                        \
        }                                                                                                      \
        free(red);                                                                                             \
        if (zkp_alloc_failed) return -1;                                                                       \
        CURVE_##_aff a;                                                                                        \
        int finite = CURVE_##_to_affine(&a, &acc);                                                             \
        const fe *coords = (const fe *)&a;                                                                     \
        for (size_t i = 0; i < sizeof(a) / sizeof(fe); i++) fq_from_mont((fe *)out + i, &coords[i]);          \
        return finite;                                                                                         \
    }

MSM_ENTRY(g1, msm_g1_run, GLV_G1_LATTICE)
MSM_ENTRY(g2, msm_g2_run, GLV_G2_LATTICE)

int zkp_msm_g1_cfg(const uint64_t *bases, const uint64_t *scalars, size_t n, int nthreads, int flags, int c,
                   uint64_t *out) {
    return msm_g1_run(bases, scalars, n, nthreads, flags, c, NULL, 1, out);
}

int zkp_msm_g2_cfg(const uint64_t *bases, const uint64_t *scalars, size_t n, int nthreads, int flags, int c,
                   uint64_t *out) {
    return msm_g2_run(bases, scalars, n, nthreads, flags, c, NULL, 1, out);
}

int zkp_msm_g1(const uint64_t *bases, const uint64_t *scalars, size_t n, int nthreads, uint64_t *out) {
    return msm_g1_run(bases, scalars, n, nthreads, ZKP_MSM_AUTO, 0, NULL, 1, out);
}

int zkp_msm_g2(const uint64_t *bases, const uint64_t *scalars, size_t n, int nthreads, uint64_t *out) {
    return msm_g2_run(bases, scalars, n, nthreads, ZKP_MSM_AUTO, 0, NULL, 1, out);
}

size_t zkp_msm_table_points(size_t n, int flags, int tw) { return (flags & ZKP_MSM_ENDO ? 2 * n : n) * (size_t)tw; }

int zkp_msm_table_g1(const uint64_t *bases, size_t n, int flags, int c, int tw, int nthreads, uint64_t *table) {
    if (c < 1 || c > 20 || tw < 1 || flags < 0) return -2;
    msm_cfg cfg = msm_cfg_from(flags, c);
    return g1_table_build((g1_aff *)table, (const g1_aff *)bases, n, cfg.endo, tw, msm_table_shift(&cfg, tw),
                          nthreads);
}

int zkp_msm_table_g2(const uint64_t *bases, size_t n, int flags, int c, int tw, int nthreads, uint64_t *table) {
    if (c < 1 || c > 20 || tw < 1 || flags < 0) return -2;
    msm_cfg cfg = msm_cfg_from(flags, c);
    return g2_table_build((g2_aff *)table, (const g2_aff *)bases, n, cfg.endo, tw, msm_table_shift(&cfg, tw),
                          nthreads);
}

int zkp_msm_g1_table(const uint64_t *table, const uint64_t *scalars, size_t n, int nthreads, int flags, int c,
                     int tw, uint64_t *out) {
    if (c < 1 || tw < 1 || flags < 0) return -2;
    return msm_g1_run(table, scalars, n, nthreads, flags, c, table, tw, out);
}

int zkp_msm_g2_table(const uint64_t *table, const uint64_t *scalars, size_t n, int nthreads, int flags, int c,
                     int tw, uint64_t *out) {
    if (c < 1 || tw < 1 || flags < 0) return -2;
    return msm_g2_run(table, scalars, n, nthreads, flags, c, table, tw, out);
}

int zkp_glv_split(int g2, const uint64_t *scalars, size_t n, uint64_t *halves, uint8_t *signs) {
    const glv_lattice *L = g2 ? &GLV_G2_LATTICE : &GLV_G1_LATTICE;
    const fe *s = (const fe *)scalars;
    fe *h = (fe *)halves;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        int n1, n2;
        bad |= glv_split(L, &s[i], &h[2 * i], &n1, &h[2 * i + 1], &n2);
        signs[2 * i] = (uint8_t)n1;
        signs[2 * i + 1] = (uint8_t)n2;
    }
    return bad ? -1 : 0;
}

int zkp_series_g1(const uint64_t *start, const uint64_t *step, size_t n, int nthreads, uint64_t *out) {
    return g1_series((g1_aff *)out, (const g1_aff *)start, (const g1_aff *)step, n, nthreads);
}

int zkp_series_g2(const uint64_t *start, const uint64_t *step, size_t n, int nthreads, uint64_t *out) {
    return g2_series((g2_aff *)out, (const g2_aff *)start, (const g2_aff *)step, n, nthreads);
}

/* Fixed-base batches (key generation): see G(fixed_base) in curve_impl.h. */
int zkp_fixed_base_g1(const uint64_t *base, const uint64_t *scalars, size_t n, int nthreads, uint64_t *out) {
    int failed = 0;
    fe *red = reduced_scalars((const fe *)scalars, n, &failed);
    if (failed) return -1;
    int rc = g1_fixed_base((g1_aff *)out, (const g1_aff *)base, red ? red : (const fe *)scalars, n, nthreads);
    free(red);
    return rc;
}

int zkp_fixed_base_g2(const uint64_t *base, const uint64_t *scalars, size_t n, int nthreads, uint64_t *out) {
    int failed = 0;
    fe *red = reduced_scalars((const fe *)scalars, n, &failed);
    if (failed) return -1;
    int rc = g2_fixed_base((g2_aff *)out, (const g2_aff *)base, red ? red : (const fe *)scalars, n, nthreads);
    free(red);
    return rc;
}

/* Phase-2 ceremony kernels: see G(lincomb) and G(scale) in curve_impl.h. */
int zkp_lincomb_g1(const uint64_t *bases, const uint64_t *ptr, const uint32_t *idx, const uint64_t *scalars,
                   size_t nout, int nthreads, uint64_t *out) {
    return g1_lincomb((g1_aff *)out, (const g1_aff *)bases, ptr, idx, (const fe *)scalars, nout, nthreads);
}

int zkp_lincomb_g2(const uint64_t *bases, const uint64_t *ptr, const uint32_t *idx, const uint64_t *scalars,
                   size_t nout, int nthreads, uint64_t *out) {
    return g2_lincomb((g2_aff *)out, (const g2_aff *)bases, ptr, idx, (const fe *)scalars, nout, nthreads);
}

int zkp_scale_g1(const uint64_t *points, const uint64_t *scalar, size_t n, int nthreads, uint64_t *out) {
    return g1_scale((g1_aff *)out, (const g1_aff *)points, (const fe *)scalar, n, nthreads);
}

int zkp_scale_g2(const uint64_t *points, const uint64_t *scalar, size_t n, int nthreads, uint64_t *out) {
    return g2_scale((g2_aff *)out, (const g2_aff *)points, (const fe *)scalar, n, nthreads);
}

void zkp_fq_from_mont(uint64_t *values, size_t n, int nthreads) {
    fe *v = (fe *)values;
    long long N = (long long)n;
    int nt = nthreads < 1 ? 1 : nthreads;
#pragma omp parallel for num_threads(nt) schedule(static) if (n >= 4096)
    for (long long i = 0; i < N; i++) fq_from_mont(&v[i], &v[i]);
}

/* GLV for the contribution's rescaling of L and H (G1 only): k P = k1 P + k2 phi(P) with
 * phi(x, y) = (beta x, y) = lambda P, k1 and k2 of ~127 bits (decomposed by the caller,
 * prover/groth16/phase2.py): 128 doublings instead of 255, with GLV_BETA above. */

typedef struct {
    const g1_aff *in;
    fe k1, k2;
    int neg1, neg2;
} glv_ctx;

/* One product the plain way (XYZZ, 5-bit Booth windows on both halves): the fallback for the
 * points the batch below cannot take (infinity, or an exceptional addition). */
static void glv_one(g1_xyzz *r, const g1_aff *p, const glv_ctx *x) {
    enum { C = 5, W = 26, D = 1 << (C - 1) }; /* 26 windows of 5 bits cover |k_i| < 2^129 */
    g1_set_inf(r);
    if (g1_aff_is_inf(p)) return;
    g1_xyzz t1[D], t2[D];
    g1_window_table(t1, p);
    for (int d = 0; d < D; d++) {
        t2[d] = t1[d];
        fq_mul(&t2[d].x, &t2[d].x, &GLV_BETA); /* x = X / ZZ, so phi scales X alone */
    }
    for (int w = W - 1; w >= 0; w--) {
        for (int j = 0; j < C; j++) g1_dbl(r);
        g1_add_digit(r, t1, booth_digit(&x->k1, w, C), x->neg1);
        g1_add_digit(r, t2, booth_digit(&x->k2, w, C), x->neg2);
    }
}

/* The batch path. Every point is multiplied by the same k1, k2, so every point takes the same
 * sequence of doublings and additions: B points go through it in lockstep, in affine
 * coordinates, each step's B denominators inverted together (Montgomery's trick: 3
 * multiplications each plus one inversion per step). An affine doubling then costs about 7
 * multiplications against 9 in XYZZ, an addition 6 against 14, and no normalisation is left at
 * the end. Digits are width-5 NAF (one non-zero digit in 6 on average, odd multiples 1..15
 * tabulated per point, phi of the table by one multiplication of x).
 *
 * The accumulator before each addition is m P for an m fixed by the scalar, so the exceptional
 * cases (m P = +-t P) depend on the scalar alone for a point of order r; any point that meets a
 * zero denominator anyway (infinity, a point off the curve) is flagged and redone by glv_one. */
#define GLV_TABLE (1 << (NAF_W - 2))
#ifndef GLV_BATCH
#define GLV_BATCH 1024
#endif

typedef struct {
    fe *pre; /* prefix products of the denominators */
    fe *den;
    uint8_t *bad;
    size_t n;
} glv_batch;

/* Denominators den[0..n) -> their inverses in place (zero ones flagged bad and taken as 1).
 * Two interleaved prefix chains (even and odd i) joined by one inversion: a single chain
 * runs at the multiplication's latency (~83 cycles here), two independent ones at its
 * throughput (~57), and the chain is a third of the work of every batched step. */
static void batch_invert(glv_batch *b) {
    fe acc[2] = {FQ_ONE, FQ_ONE};
    for (size_t i = 0; i < b->n; i++) {
        if (fe_is_zero(&b->den[i])) {
            b->bad[i] = 1;
            b->den[i] = FQ_ONE;
        }
        b->pre[i] = acc[i & 1];
        fq_mul(&acc[i & 1], &acc[i & 1], &b->den[i]);
    }
    fe t, ia[2];
    fq_mul(&t, &acc[0], &acc[1]);
    fq_inv(&t, &t);
    fq_mul(&ia[0], &t, &acc[1]);
    fq_mul(&ia[1], &t, &acc[0]);
    for (size_t i = b->n; i-- > 0;) {
        fe inv;
        fq_mul(&inv, &ia[i & 1], &b->pre[i]);
        fq_mul(&ia[i & 1], &ia[i & 1], &b->den[i]);
        b->den[i] = inv;
    }
}

/* The per-point tails below take two points per iteration, each stage written for both
 * before the next: the three or four multiplications of one point depend on each other, and
 * the out-of-order window (a few hundred instructions, ~130 per multiplication) only overlaps
 * independent ones that sit next to each other. */

/* p[u] = (x3, lambda (x1 - x3) - y1) with x3 = lambda^2 - x1 - x2[u], for the m <= 2 points of
 * one iteration: the tail shared by the doubling (x2 = x1) and the addition. */
static inline void batch_tail(g1_aff *p[2], const fe *x2[2], const fe l[2], int m) {
    fe t[2], x3[2];
    for (int u = 0; u < m; u++) fq_sqr(&x3[u], &l[u]);
    for (int u = 0; u < m; u++) {
        fq_sub(&x3[u], &x3[u], &p[u]->x);
        fq_sub(&x3[u], &x3[u], x2[u]);
        fq_sub(&t[u], &p[u]->x, &x3[u]);
    }
    for (int u = 0; u < m; u++) fq_mul(&t[u], &l[u], &t[u]);
    for (int u = 0; u < m; u++) {
        fq_sub(&p[u]->y, &t[u], &p[u]->y);
        p[u]->x = x3[u];
    }
}

/* r[i] = 2 r[i] (affine). */
static void batch_dbl(g1_aff *r, size_t stride, glv_batch *b) {
    for (size_t i = 0; i < b->n; i++) fq_dbl(&b->den[i], &r[i * stride].y);
    batch_invert(b);
    for (size_t i = 0; i < b->n; i += 2) {
        const int m = i + 1 < b->n ? 2 : 1;
        g1_aff *p[2] = {&r[i * stride], &r[(i + m - 1) * stride]};
        const fe *x2[2] = {&p[0]->x, &p[1]->x};
        fe l[2], t[2];
        for (int u = 0; u < m; u++) fq_sqr(&t[u], &p[u]->x);
        for (int u = 0; u < m; u++) {
            fq_dbl(&l[u], &t[u]);
            fq_add(&l[u], &l[u], &t[u]);
        }
        for (int u = 0; u < m; u++) fq_mul(&l[u], &l[u], &b->den[i + u]); /* 3 x^2 / 2y */
        batch_tail(p, x2, l, m);
    }
}

/* r[i] += (q[i].x, neg ? -q[i].y : q[i].y) (affine; q[i] at q + i * qstride). */
static void batch_add(g1_aff *r, size_t stride, const g1_aff *q, size_t qstride, int neg, glv_batch *b) {
    for (size_t i = 0; i < b->n; i++) fq_sub(&b->den[i], &q[i * qstride].x, &r[i * stride].x);
    batch_invert(b);
    for (size_t i = 0; i < b->n; i += 2) {
        const int m = i + 1 < b->n ? 2 : 1;
        g1_aff *p[2] = {&r[i * stride], &r[(i + m - 1) * stride]};
        const g1_aff *o[2] = {&q[i * qstride], &q[(i + m - 1) * qstride]};
        const fe *x2[2] = {&o[0]->x, &o[1]->x};
        fe l[2];
        for (int u = 0; u < m; u++) {
            if (neg)
                fq_add(&l[u], &o[u]->y, &p[u]->y), fq_neg(&l[u], &l[u]);
            else
                fq_sub(&l[u], &o[u]->y, &p[u]->y);
        }
        for (int u = 0; u < m; u++) fq_mul(&l[u], &l[u], &b->den[i + u]);
        batch_tail(p, x2, l, m);
    }
}

typedef struct {
    const glv_ctx *x;
    int8_t naf[2][NAF_MAX];
    int len;
} glv_plan;

/* out[lo..hi) = k in[lo..hi), n = hi - lo <= GLV_BATCH; buffers: tab (2 GLV_TABLE n points),
 * pre, den (n each), bad (n). */
static void glv_batch_run(g1_aff *out, const g1_aff *in, size_t n, const glv_plan *plan, g1_aff *tab, fe *pre,
                          fe *den, uint8_t *bad) {
    glv_batch b = {pre, den, bad, n};
    const size_t TS = 2 * GLV_TABLE; /* per point: k P for odd k < 2^(w-1), then phi of them */
    memset(bad, 0, n);
    for (size_t i = 0; i < n; i++) {
        tab[i * TS] = in[i];
        if (g1_aff_is_inf(&in[i])) { /* a stand-in (the generator) keeps the batch's denominators non-zero */
            bad[i] = 1;
            tab[i * TS].x = FQ_ONE;
            fq_dbl(&tab[i * TS].y, &FQ_ONE);
        }
    }
    /* 2P into out (scratch for now), then (2j+1) P = (2j-1) P + 2P */
    for (size_t i = 0; i < n; i++) out[i] = tab[i * TS];
    batch_dbl(out, 1, &b);
    for (int j = 1; j < GLV_TABLE; j++) {
        for (size_t i = 0; i < n; i++) tab[i * TS + j] = tab[i * TS + j - 1];
        batch_add(tab + j, TS, out, 1, 0, &b);
    }
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < GLV_TABLE; j++) {
            g1_aff *t = &tab[i * TS + GLV_TABLE + j];
            *t = tab[i * TS + j];
            fq_mul(&t->x, &t->x, &GLV_BETA);
        }
    int started = 0;
    for (int pos = plan->len - 1; pos >= 0; pos--) {
        if (started) batch_dbl(out, 1, &b);
        for (int h = 0; h < 2; h++) {
            int d = plan->naf[h][pos];
            if (d == 0) continue;
            int neg = (d < 0) != (h ? plan->x->neg2 : plan->x->neg1);
            size_t off = (size_t)h * GLV_TABLE + (size_t)((d < 0 ? -d : d) - 1) / 2;
            if (!started) {
                for (size_t i = 0; i < n; i++) {
                    out[i] = tab[i * TS + off];
                    if (neg) fq_neg(&out[i].y, &out[i].y);
                }
                started = 1;
            } else {
                batch_add(out, 1, tab + off, TS, neg, &b);
            }
        }
    }
    if (!started) memset(out, 0, n * sizeof(g1_aff));
    for (size_t i = 0; i < n; i++) {
        if (!bad[i]) continue;
        g1_xyzz r;
        glv_one(&r, &in[i], plan->x);
        g1_to_affine(&out[i], &r);
    }
}

int zkp_scale_g1_glv(const uint64_t *points, const uint64_t *k1, int neg1, const uint64_t *k2, int neg2, size_t n,
                     int nthreads, uint64_t *out) {
    glv_ctx ctx;
    ctx.in = (const g1_aff *)points;
    memcpy(&ctx.k1, k1, sizeof(fe));
    memcpy(&ctx.k2, k2, sizeof(fe));
    ctx.neg1 = neg1;
    ctx.neg2 = neg2;
    glv_plan plan;
    memset(&plan, 0, sizeof(plan));
    plan.x = &ctx;
    int l1 = naf5_digits(plan.naf[0], &ctx.k1), l2 = naf5_digits(plan.naf[1], &ctx.k2);
    plan.len = l1 > l2 ? l1 : l2;
    size_t nchunks = (n + GLV_BATCH - 1) / GLV_BATCH;
    int T = nthreads < 1 ? 1 : nthreads, failed = 0;
    if (zkp_ifma_usable()) { /* scale_ifma.c; the points it flags are redone as below */
        uint8_t *bad = (uint8_t *)calloc(n ? n : 1, 1);
        failed = !bad || zkp_scale_g1_glv_ifma(points, n, plan.naf[0], plan.naf[1], plan.len, neg1, neg2, T, out, bad);
#pragma omp parallel for schedule(dynamic, 64) num_threads(T) if (!failed)
        for (long i = 0; i < (long)n; i++) {
            if (failed || !bad[i]) continue;
            g1_xyzz r;
            glv_one(&r, &ctx.in[i], &ctx);
            g1_to_affine((g1_aff *)out + i, &r);
        }
        free(bad);
        return failed ? -1 : 0;
    }
#pragma omp parallel num_threads(T)
    {
        g1_aff *tab = (g1_aff *)malloc((size_t)GLV_BATCH * 2 * GLV_TABLE * sizeof(g1_aff));
        fe *pre = (fe *)malloc(GLV_BATCH * sizeof(fe)), *den = (fe *)malloc(GLV_BATCH * sizeof(fe));
        uint8_t *bad = (uint8_t *)malloc(GLV_BATCH);
        if (!tab || !pre || !den || !bad) {
#pragma omp atomic write
            failed = 1;
        } else {
#pragma omp for schedule(dynamic)
            for (long ci = 0; ci < (long)nchunks; ci++) {
                size_t lo = (size_t)ci * GLV_BATCH, hi = lo + GLV_BATCH < n ? lo + GLV_BATCH : n;
                glv_batch_run((g1_aff *)out + lo, ctx.in + lo, hi - lo, &plan, tab, pre, den, bad);
            }
        }
        free(tab);
        free(pre);
        free(den);
        free(bad);
    }
    return failed ? -1 : 0;
}

/* The powers-of-tau kernels (ptau_impl.h), here after GLV_BETA: G1 twiddle products use GLV. */
#define CURVE g1
#define FT fe
#define FPFX fq
#define FONE FONE_FQ
#define PTAU_GLV_BETA GLV_BETA
#include "ptau_impl.h"
#undef PTAU_GLV_BETA
#undef CURVE
#undef FT
#undef FPFX
#undef FONE

#define CURVE g2
#define FT fe2
#define FPFX fq2
#define FONE FONE_FQ2
#include "ptau_impl.h"
#undef CURVE
#undef FT
#undef FPFX
#undef FONE

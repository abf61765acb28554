/* Fq arithmetic on several elements at once with AVX-512 IFMA (vpmadd52luq / vpmadd52huq).
 *
 * An element is five 52-bit limbs, one vector per limb (structure of arrays), each lane an
 * independent element. Montgomery form with R' = 2^260 (five 52-bit limbs), not the R = 2^256
 * of field.h: fv_load / fv_store convert. Values are kept lazily below a small multiple of p
 * (the bound of each function is stated); since 2^260 / p > 84, a Montgomery product of a and b
 * with a b < 84 p^2 is below (a b + 2^260 p) / 2^260 < 2p without a final subtraction. Limbs
 * accumulate in 64-bit lanes, so carries are propagated once at the end of a product (and for
 * the lowest limb of each round, which the reduction shifts out).
 *
 * ZKP_IFMA_YMM=1 selects 4 lanes of 256 bits instead of 8 of 512: slower on Zen 4 (an 8-lane
 * product ~115 cycles, a 4-lane one ~75; the whole rescaling 6.7 against 9.0 us per point).
 */
#ifndef ZKP_FIELD_IFMA_H
#define ZKP_FIELD_IFMA_H

#if defined(__AVX512IFMA__) && defined(__AVX512VL__) && defined(__AVX512DQ__)
#define ZKP_HAVE_IFMA 1
#include <immintrin.h>
#include <stdint.h>

#ifndef ZKP_IFMA_YMM
#define ZKP_IFMA_YMM 0
#endif

#if ZKP_IFMA_YMM
typedef __m256i vw;
typedef __mmask8 vmask;
#define FV_LANES 4
#define V_SET1(x) _mm256_set1_epi64x((long long)(x))
#define V_ZERO() _mm256_setzero_si256()
#define V_ADD(a, b) _mm256_add_epi64((a), (b))
#define V_SUB(a, b) _mm256_sub_epi64((a), (b))
#define V_AND(a, b) _mm256_and_si256((a), (b))
#define V_OR(a, b) _mm256_or_si256((a), (b))
#define V_SRAI(a, n) _mm256_srai_epi64((a), (n))
#define V_SRLI(a, n) _mm256_srli_epi64((a), (n))
#define V_MADLO(acc, a, b) _mm256_madd52lo_epu64((acc), (a), (b))
#define V_MADHI(acc, a, b) _mm256_madd52hi_epu64((acc), (a), (b))
#define V_NEGMASK(a) _mm256_movepi64_mask(a)
#define V_ZEROMASK(a) _mm256_cmpeq_epi64_mask((a), V_ZERO())
#define V_BLEND(m, a, b) _mm256_mask_blend_epi64((m), (a), (b))
#define V_LOAD(p) _mm256_load_si256((const __m256i *)(p))
#define V_STORE(p, v) _mm256_store_si256((__m256i *)(p), (v))
#else
typedef __m512i vw;
typedef __mmask8 vmask;
#define FV_LANES 8
#define V_SET1(x) _mm512_set1_epi64((long long)(x))
#define V_ZERO() _mm512_setzero_si512()
#define V_ADD(a, b) _mm512_add_epi64((a), (b))
#define V_SUB(a, b) _mm512_sub_epi64((a), (b))
#define V_AND(a, b) _mm512_and_si512((a), (b))
#define V_OR(a, b) _mm512_or_si512((a), (b))
#define V_SRAI(a, n) _mm512_srai_epi64((a), (n))
#define V_SRLI(a, n) _mm512_srli_epi64((a), (n))
#define V_MADLO(acc, a, b) _mm512_madd52lo_epu64((acc), (a), (b))
#define V_MADHI(acc, a, b) _mm512_madd52hi_epu64((acc), (a), (b))
#define V_NEGMASK(a) _mm512_movepi64_mask(a)
#define V_ZEROMASK(a) _mm512_cmpeq_epi64_mask((a), V_ZERO())
#define V_BLEND(m, a, b) _mm512_mask_blend_epi64((m), (a), (b))
#define V_LOAD(p) _mm512_load_si512((const void *)(p))
#define V_STORE(p, v) _mm512_store_si512((void *)(p), (v))
#endif
#define FV_ALL ((vmask)((1u << FV_LANES) - 1))

#define FV_INLINE static inline __attribute__((always_inline))

typedef struct {
    vw l[5];
} fv;

/* Constants, plain integers in 52-bit limbs (generated in Python from the BN254 modulus). */
static const uint64_t FV_P[5] = {0x08c16d87cfd47ULL, 0x916871ca8d3c2ULL, 0x181585d97816aULL, 0xa029b85045b68ULL,
                                 0x030644e72e131ULL};
static const uint64_t FV_2P[5] = {0x1182db0f9fa8eULL, 0x22d0e3951a784ULL, 0x302b0bb2f02d5ULL, 0x405370a08b6d0ULL,
                                  0x060c89ce5c263ULL};
static const uint64_t FV_4P[5] = {0x2305b61f3f51cULL, 0x45a1c72a34f08ULL, 0x60561765e05aaULL, 0x80a6e14116da0ULL,
                                  0x0c19139cb84c6ULL};
static const uint64_t FV_PINV = 0x20782e4866389ULL; /* -p^-1 mod 2^52 */
/* 2^260 mod p: one in the R' form */
static const uint64_t FV_ONE[5] = {0x20880f6fce4b4ULL, 0x49baa989a8455ULL, 0x18f014a498908ULL, 0x724f85a9201d8ULL,
                                   0x01f16424e1bb7ULL};
/* 2^264 mod p: Montgomery product by it turns x 2^256 into x 2^260 */
static const uint64_t FV_C264[5] = {0xb0f2afaec667aULL, 0xed9626b0fffbdULL, 0x9e2a0fcad825aULL, 0xe357276f48b70ULL,
                                    0x00d791464ef86ULL};
/* 2^256 mod p: Montgomery product by it turns x 2^260 into x 2^256 */
static const uint64_t FV_C256[5] = {0xd438dc58f0d9dULL, 0x28f5c70b3dd35ULL, 0x879462c0a78ebULL, 0xdf2f666ea36f7ULL,
                                    0x00e0a77c19a07ULL};
#define FV_MASK52 0xfffffffffffffULL

FV_INLINE void fv_set1(fv *r, const uint64_t c[5]) {
    for (int j = 0; j < 5; j++) r->l[j] = V_SET1(c[j]);
}

/* Signed carry propagation: limbs 0..3 into [0, 2^52), the top limb keeps the rest (its sign
 * is the sign of the value). */
FV_INLINE void fv_norm(fv *r) {
    const vw M = V_SET1(FV_MASK52);
    for (int j = 0; j < 4; j++) {
        r->l[j + 1] = V_ADD(r->l[j + 1], V_SRAI(r->l[j], 52));
        r->l[j] = V_AND(r->l[j], M);
    }
}

/* r = a b / 2^260 mod p + c, below 2p + bound(c) when a b < 84 p^2 (limbs of a, b
 * normalised; c, may be NULL, is added limb by limb before the one carry pass, so its limbs may
 * be unnormalised or negative as long as the sum is not). */
FV_INLINE void fv_mul_add(fv *r, const fv *a, const fv *b, const fv *c) {
    const vw inv = V_SET1(FV_PINV);
    vw p[5];
    for (int j = 0; j < 5; j++) p[j] = V_SET1(FV_P[j]);
    vw t[6];
    for (int j = 0; j < 6; j++) t[j] = V_ZERO();
    for (int i = 0; i < 5; i++) {
        const vw bi = b->l[i];
        for (int j = 0; j < 5; j++) t[j] = V_MADLO(t[j], a->l[j], bi);
        for (int j = 0; j < 5; j++) t[j + 1] = V_MADHI(t[j + 1], a->l[j], bi);
        /* m depends on t0 mod 2^52 only: the instruction reads the low 52 bits */
        const vw m = V_MADLO(V_ZERO(), t[0], inv);
        for (int j = 0; j < 5; j++) t[j] = V_MADLO(t[j], m, p[j]);
        for (int j = 0; j < 5; j++) t[j + 1] = V_MADHI(t[j + 1], m, p[j]);
        /* t0 is now a multiple of 2^52: shift the accumulator down one limb */
        t[1] = V_ADD(t[1], V_SRLI(t[0], 52));
        for (int j = 0; j < 5; j++) t[j] = t[j + 1];
        t[5] = V_ZERO();
    }
    for (int j = 0; j < 5; j++) r->l[j] = c ? V_ADD(t[j], c->l[j]) : t[j];
    fv_norm(r);
}

FV_INLINE void fv_mul(fv *r, const fv *a, const fv *b) { fv_mul_add(r, a, b, 0); }

/* r = a^2 / 2^260 mod p + c (as fv_mul_add): the product first, its 10 cross terms once and
 * doubled (85 multiply-adds against 105), then the five reduction rounds. */
FV_INLINE void fv_sqr_add(fv *r, const fv *a, const fv *c) {
    const vw inv = V_SET1(FV_PINV);
    vw t[10];
    for (int k = 0; k < 10; k++) t[k] = V_ZERO();
    for (int i = 0; i < 5; i++)
        for (int j = i + 1; j < 5; j++) {
            t[i + j] = V_MADLO(t[i + j], a->l[i], a->l[j]);
            t[i + j + 1] = V_MADHI(t[i + j + 1], a->l[i], a->l[j]);
        }
    for (int k = 1; k < 9; k++) t[k] = V_ADD(t[k], t[k]);
    for (int i = 0; i < 5; i++) {
        t[2 * i] = V_MADLO(t[2 * i], a->l[i], a->l[i]);
        t[2 * i + 1] = V_MADHI(t[2 * i + 1], a->l[i], a->l[i]);
    }
    for (int i = 0; i < 5; i++) {
        const vw m = V_MADLO(V_ZERO(), t[i], inv);
        for (int j = 0; j < 5; j++) {
            const vw pj = V_SET1(FV_P[j]);
            t[i + j] = V_MADLO(t[i + j], m, pj);
            t[i + j + 1] = V_MADHI(t[i + j + 1], m, pj);
        }
        t[i + 1] = V_ADD(t[i + 1], V_SRLI(t[i], 52));
    }
    for (int j = 0; j < 5; j++) r->l[j] = c ? V_ADD(t[5 + j], c->l[j]) : t[5 + j];
    fv_norm(r);
}

FV_INLINE void fv_sqr(fv *r, const fv *a) { fv_sqr_add(r, a, 0); }

/* r = a + b (no reduction: the bound is the sum of the bounds). */
FV_INLINE void fv_add(fv *r, const fv *a, const fv *b) {
    for (int j = 0; j < 5; j++) r->l[j] = V_ADD(a->l[j], b->l[j]);
    fv_norm(r);
}

/* r = a - b + k p, for a multiple k p (limbs kp) at least b's bound: non-negative, below
 * bound(a) + k p. */
FV_INLINE void fv_sub_k(fv *r, const fv *a, const fv *b, const uint64_t kp[5]) {
    for (int j = 0; j < 5; j++) r->l[j] = V_ADD(V_SUB(a->l[j], b->l[j]), V_SET1(kp[j]));
    fv_norm(r);
}

/* r = k p - a limb by limb, without the carry pass (an addend for fv_mul_add). */
FV_INLINE void fv_neg_k_raw(fv *r, const fv *a, const uint64_t kp[5]) {
    for (int j = 0; j < 5; j++) r->l[j] = V_SUB(V_SET1(kp[j]), a->l[j]);
}

/* r = k p - a (kp the limbs of k p, at least a's bound). */
FV_INLINE void fv_neg_k(fv *r, const fv *a, const uint64_t kp[5]) {
    fv_neg_k_raw(r, a, kp);
    fv_norm(r);
}

/* r = a - b + 2p for b <= 2p. */
FV_INLINE void fv_sub(fv *r, const fv *a, const fv *b) { fv_sub_k(r, a, b, FV_2P); }

/* r = a - c if a >= c, else a (c = p or 2p: a < 2c gives r < c). */
FV_INLINE void fv_red(fv *r, const fv *a, const uint64_t c[5]) {
    fv d;
    for (int j = 0; j < 5; j++) d.l[j] = V_SUB(a->l[j], V_SET1(c[j]));
    fv_norm(&d);
    const vmask keep = V_NEGMASK(d.l[4]);
    for (int j = 0; j < 5; j++) r->l[j] = V_BLEND(keep, d.l[j], a->l[j]);
}

/* Below 4p -> below 2p. */
FV_INLINE void fv_red2(fv *r, const fv *a) { fv_red(r, a, FV_2P); }

/* Below 4p -> the canonical representative (< p). */
FV_INLINE void fv_canon(fv *r, const fv *a) {
    fv_red(r, a, FV_2P);
    fv_red(r, r, FV_P);
}

/* Lanes holding 0 mod p (a below 4p). */
FV_INLINE vmask fv_is_zero(const fv *a) {
    fv c;
    fv_canon(&c, a);
    vw o = V_OR(V_OR(c.l[0], c.l[1]), V_OR(V_OR(c.l[2], c.l[3]), c.l[4]));
    return V_ZEROMASK(o);
}

/* r = m ? b : a, per lane. */
FV_INLINE void fv_select(fv *r, vmask m, const fv *a, const fv *b) {
    for (int j = 0; j < 5; j++) r->l[j] = V_BLEND(m, a->l[j], b->l[j]);
}

/* Four 64-bit limbs <-> five 52-bit limbs of one integer below 2^256. */
FV_INLINE void fv_split52(uint64_t o[5], const uint64_t x[4]) {
    o[0] = x[0] & FV_MASK52;
    o[1] = ((x[0] >> 52) | (x[1] << 12)) & FV_MASK52;
    o[2] = ((x[1] >> 40) | (x[2] << 24)) & FV_MASK52;
    o[3] = ((x[2] >> 28) | (x[3] << 36)) & FV_MASK52;
    o[4] = x[3] >> 16;
}

FV_INLINE void fv_join64(uint64_t o[4], const uint64_t x[5]) {
    o[0] = x[0] | (x[1] << 52);
    o[1] = (x[1] >> 12) | (x[2] << 40);
    o[2] = (x[2] >> 24) | (x[3] << 28);
    o[3] = (x[3] >> 36) | (x[4] << 16);
}

/* Raw lanes (plain integers below 2^256 at src + i * stride u64s, no conversion). */
FV_INLINE void fv_load_raw(fv *r, const uint64_t *src, size_t stride) {
    uint64_t limbs[5][FV_LANES] __attribute__((aligned(64)));
    for (int i = 0; i < FV_LANES; i++) {
        uint64_t o[5];
        fv_split52(o, src + i * stride);
        for (int j = 0; j < 5; j++) limbs[j][i] = o[j];
    }
    for (int j = 0; j < 5; j++) r->l[j] = V_LOAD(limbs[j]);
}

FV_INLINE void fv_store_raw(uint64_t *dst, size_t stride, const fv *a) {
    uint64_t limbs[5][FV_LANES] __attribute__((aligned(64)));
    for (int j = 0; j < 5; j++) V_STORE(limbs[j], a->l[j]);
    for (int i = 0; i < FV_LANES; i++) {
        uint64_t o[5];
        for (int j = 0; j < 5; j++) o[j] = limbs[j][i];
        fv_join64(dst + i * stride, o);
    }
}

/* Lanes from field elements in field.h's form (x 2^256 mod p) to the R' form (below 2p). */
FV_INLINE void fv_load(fv *r, const uint64_t *src, size_t stride) {
    fv t, c;
    fv_load_raw(&t, src, stride);
    fv_set1(&c, FV_C264);
    fv_mul(r, &t, &c);
}

/* The inverse of fv_load, canonical output (a below 2p). */
FV_INLINE void fv_store(uint64_t *dst, size_t stride, const fv *a) {
    fv t, c;
    fv_set1(&c, FV_C256);
    fv_mul(&t, a, &c);
    fv_red(&t, &t, FV_P);
    fv_store_raw(dst, stride, &t);
}

#endif /* IFMA */
#endif

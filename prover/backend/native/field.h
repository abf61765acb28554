/* BN254 field arithmetic: Fq (base field), Fr (scalar field), Fq2 = Fq[u]/(u^2 + 1).
 *
 * Elements are four little-endian 64-bit limbs. Multiplication is CIOS Montgomery with
 * R = 2^256 using unsigned __int128 for the 64x64 -> 128-bit products. Both BN254 moduli have
 * their top limb below 2^62, so the "no-carry" CIOS variant applies (gnark's observation): the
 * running carry of each outer round fits in the top limb and the extra carry word of textbook
 * CIOS is never needed. Results are fully reduced (< p) after every operation, which keeps
 * equality tests and the final conversions trivial; lazy reduction would save a little more but
 * makes every formula harder to check.
 *
 * Representation is the caller's business: mont_mul(a, b) = a*b/R, so
 *   Montgomery x Montgomery -> Montgomery (curve arithmetic, .zkey coordinates), and
 *   standard   x Montgomery -> standard   (NTT data with Montgomery twiddles, witness * coeff).
 */
#ifndef ZKP_FIELD_H
#define ZKP_FIELD_H

#include <stdint.h>
#include <string.h>

typedef uint64_t u64;
typedef unsigned __int128 u128;

typedef struct {
    u64 l[4];
} fe;

typedef struct {
    fe c0, c1;
} fe2;

#define ZKP_INLINE static inline __attribute__((always_inline))

/* ---- constants (generated from the moduli in prover/field/bn254.py) ---- */
static const fe FQ_P = {{0x3c208c16d87cfd47ULL, 0x97816a916871ca8dULL, 0xb85045b68181585dULL, 0x30644e72e131a029ULL}};
static const u64 FQ_INV = 0x87d20782e4866389ULL; /* -q^-1 mod 2^64 */
static const fe FQ_ONE = {{0xd35d438dc58f0d9dULL, 0x0a78eb28f5c70b3dULL, 0x666ea36f7879462cULL, 0x0e0a77c19a07df2fULL}}; /* R mod q */
static const fe FQ_R2 = {{0xf32cfc5b538afa89ULL, 0xb5e71911d44501fbULL, 0x47ab1eff0a417ff6ULL, 0x06d89f71cab8351fULL}};

static const fe FR_P = {{0x43e1f593f0000001ULL, 0x2833e84879b97091ULL, 0xb85045b68181585dULL, 0x30644e72e131a029ULL}};
static const u64 FR_INV = 0xc2e1f593efffffffULL;
static const fe FR_ONE = {{0xac96341c4ffffffbULL, 0x36fc76959f60cd29ULL, 0x666ea36f7879462eULL, 0x0e0a77c19a07df2fULL}};
static const fe FR_R2 = {{0x1bb8e645ae216da7ULL, 0x53fe3ab1e35c59e3ULL, 0x8c49833d53bb8085ULL, 0x0216d0b17f4e44a5ULL}};
/* w_28 = 5^((r-1)/2^28) in Montgomery form: ffjavascript's 2^28-th root of unity. */
static const fe FR_W28 = {{0x636e735580d13d9cULL, 0xa22bf3742445ffd6ULL, 0x56452ac01eb203d8ULL, 0x1860ef942963f9e7ULL}};

/* ---- generic 256-bit helpers ---- */
ZKP_INLINE int fe_is_zero(const fe *a) { return (a->l[0] | a->l[1] | a->l[2] | a->l[3]) == 0; }

ZKP_INLINE int fe_eq(const fe *a, const fe *b) {
    return ((a->l[0] ^ b->l[0]) | (a->l[1] ^ b->l[1]) | (a->l[2] ^ b->l[2]) | (a->l[3] ^ b->l[3])) == 0;
}

/* a >= p ? */
ZKP_INLINE int fe_geq(const fe *a, const fe *p) {
    for (int i = 3; i >= 0; i--) {
        if (a->l[i] != p->l[i]) return a->l[i] > p->l[i];
    }
    return 1;
}

/* Carry chains. GCC (before 14) turns u128 carry arithmetic into long and partly vectorised
 * code; the x86 intrinsics give plain adc/sbb. Other targets use the portable u128 form. */
#if defined(__x86_64__)
#include <x86intrin.h>
#define ZKP_ADC(c, a, b, out) _addcarry_u64((c), (a), (b), (unsigned long long *)(out))
#define ZKP_SBB(c, a, b, out) _subborrow_u64((c), (a), (b), (unsigned long long *)(out))
#else
ZKP_INLINE unsigned char zkp_adc(unsigned char c, u64 a, u64 b, u64 *out) {
    u128 x = (u128)a + b + c;
    *out = (u64)x;
    return (unsigned char)(x >> 64);
}
ZKP_INLINE unsigned char zkp_sbb(unsigned char c, u64 a, u64 b, u64 *out) {
    u128 x = (u128)a - b - c;
    *out = (u64)x;
    return (unsigned char)((x >> 64) & 1);
}
#define ZKP_ADC(c, a, b, out) zkp_adc((c), (a), (b), (out))
#define ZKP_SBB(c, a, b, out) zkp_sbb((c), (a), (b), (out))
#endif

/* r = a - p if a >= p (a < 2p). Branch-free: the condition is data-dependent and a
 * mispredicted branch here costs as much as half a multiplication. GCC turns the C select
 * into a branch, so x86-64 gets SUB/SBB + CMOVC. */
#if defined(__x86_64__)
ZKP_INLINE void fe_reduce_once(fe *r, const fe *a, const fe *p) {
    u64 s0 = a->l[0], s1 = a->l[1], s2 = a->l[2], s3 = a->l[3];
    __asm__("subq %[p0], %[s0]\n\t"
            "sbbq %[p1], %[s1]\n\t"
            "sbbq %[p2], %[s2]\n\t"
            "sbbq %[p3], %[s3]\n\t"
            "cmovcq %[a0], %[s0]\n\t"
            "cmovcq %[a1], %[s1]\n\t"
            "cmovcq %[a2], %[s2]\n\t"
            "cmovcq %[a3], %[s3]\n\t"
            : [s0] "+&r"(s0), [s1] "+&r"(s1), [s2] "+&r"(s2), [s3] "+&r"(s3)
            : [a0] "r"(a->l[0]), [a1] "r"(a->l[1]), [a2] "r"(a->l[2]), [a3] "r"(a->l[3]), [p0] "m"(p->l[0]),
              [p1] "m"(p->l[1]), [p2] "m"(p->l[2]), [p3] "m"(p->l[3])
            : "cc");
    r->l[0] = s0;
    r->l[1] = s1;
    r->l[2] = s2;
    r->l[3] = s3;
}
#else
ZKP_INLINE void fe_reduce_once(fe *r, const fe *a, const fe *p) {
    u64 t0, t1, t2, t3;
    unsigned char b = 0;
    b = ZKP_SBB(b, a->l[0], p->l[0], &t0);
    b = ZKP_SBB(b, a->l[1], p->l[1], &t1);
    b = ZKP_SBB(b, a->l[2], p->l[2], &t2);
    b = ZKP_SBB(b, a->l[3], p->l[3], &t3);
    u64 keep = (u64)0 - (u64)b; /* b = 1: a < p, keep a */
    r->l[0] = (a->l[0] & keep) | (t0 & ~keep);
    r->l[1] = (a->l[1] & keep) | (t1 & ~keep);
    r->l[2] = (a->l[2] & keep) | (t2 & ~keep);
    r->l[3] = (a->l[3] & keep) | (t3 & ~keep);
}
#endif

ZKP_INLINE void fe_add_p(fe *r, const fe *a, const fe *b, const fe *p) {
    fe s;
    unsigned char c = 0;
    c = ZKP_ADC(c, a->l[0], b->l[0], &s.l[0]);
    c = ZKP_ADC(c, a->l[1], b->l[1], &s.l[1]);
    c = ZKP_ADC(c, a->l[2], b->l[2], &s.l[2]);
    (void)ZKP_ADC(c, a->l[3], b->l[3], &s.l[3]);
    /* p < 2^254 so a + b < 2^255: no carry out of the top limb */
    fe_reduce_once(r, &s, p);
}

ZKP_INLINE void fe_sub_p(fe *r, const fe *a, const fe *b, const fe *p) {
    u64 s0, s1, s2, s3;
    unsigned char bw = 0;
    bw = ZKP_SBB(bw, a->l[0], b->l[0], &s0);
    bw = ZKP_SBB(bw, a->l[1], b->l[1], &s1);
    bw = ZKP_SBB(bw, a->l[2], b->l[2], &s2);
    bw = ZKP_SBB(bw, a->l[3], b->l[3], &s3);
    u64 mask = (u64)0 - (u64)bw; /* add p back if we borrowed */
    unsigned char c = 0;
    c = ZKP_ADC(c, s0, p->l[0] & mask, &r->l[0]);
    c = ZKP_ADC(c, s1, p->l[1] & mask, &r->l[1]);
    c = ZKP_ADC(c, s2, p->l[2] & mask, &r->l[2]);
    (void)ZKP_ADC(c, s3, p->l[3] & mask, &r->l[3]);
}

ZKP_INLINE void fe_neg_p(fe *r, const fe *a, const fe *p) {
    u64 nz = (a->l[0] | a->l[1] | a->l[2] | a->l[3]) ? ~(u64)0 : 0; /* -0 = 0, not p */
    unsigned char bw = 0;
    bw = ZKP_SBB(bw, p->l[0] & nz, a->l[0], &r->l[0]);
    bw = ZKP_SBB(bw, p->l[1] & nz, a->l[1], &r->l[1]);
    bw = ZKP_SBB(bw, p->l[2] & nz, a->l[2], &r->l[2]);
    (void)ZKP_SBB(bw, p->l[3] & nz, a->l[3], &r->l[3]);
}

/* x86-64 with BMI2 + ADX: the same CIOS no-carry algorithm as below, hand-scheduled with MULX
 * and two independent carry chains (ADCX on CF for the high halves, ADOX on OF for the low
 * halves), about twice the speed of what GCC makes of the u128 version. The four outer rounds
 * rotate through five registers instead of shifting t down a limb. */
#if defined(__x86_64__) && defined(__BMI2__) && defined(__ADX__) && !defined(ZKP_NO_ASM)
#define ZKP_MUL_ASM 1
ZKP_INLINE void fe_mul_p(fe *r, const fe *a, const fe *b, const fe *p, u64 inv) {
    u64 t0, t1, t2, t3, t4, lo, hi;
    __asm__(
        "movq 0(%[b]), %%rdx\n\t"
        "mulxq 0(%[a]), %[t0], %[t1]\n\t"
        "mulxq 8(%[a]), %[lo], %[t2]\n\t"
        "addq %[lo], %[t1]\n\t"
        "mulxq 16(%[a]), %[lo], %[t3]\n\t"
        "adcq %[lo], %[t2]\n\t"
        "mulxq 24(%[a]), %[lo], %[t4]\n\t"
        "adcq %[lo], %[t3]\n\t"
        "adcq $0, %[t4]\n\t"
        "movq %[t0], %%rdx\n\t"
        "imulq %[inv], %%rdx\n\t"
        "xorl %%eax, %%eax\n\t"
        "mulxq 0(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t0]\n\t"
        "adcxq %[hi], %[t1]\n\t"
        "mulxq 8(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t1]\n\t"
        "adcxq %[hi], %[t2]\n\t"
        "mulxq 16(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t2]\n\t"
        "adcxq %[hi], %[t3]\n\t"
        "mulxq 24(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t3]\n\t"
        "adcxq %%rax, %[hi]\n\t"
        "adoxq %%rax, %[hi]\n\t"
        "addq %[hi], %[t4]\n\t"
        "movq 8(%[b]), %%rdx\n\t"
        "xorl %%eax, %%eax\n\t"
        "mulxq 0(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t1]\n\t"
        "adcxq %[hi], %[t2]\n\t"
        "mulxq 8(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t2]\n\t"
        "adcxq %[hi], %[t3]\n\t"
        "mulxq 16(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t3]\n\t"
        "adcxq %[hi], %[t4]\n\t"
        "mulxq 24(%[a]), %[lo], %[t0]\n\t"
        "adoxq %[lo], %[t4]\n\t"
        "adcxq %%rax, %[t0]\n\t"
        "adoxq %%rax, %[t0]\n\t"
        "movq %[t1], %%rdx\n\t"
        "imulq %[inv], %%rdx\n\t"
        "xorl %%eax, %%eax\n\t"
        "mulxq 0(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t1]\n\t"
        "adcxq %[hi], %[t2]\n\t"
        "mulxq 8(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t2]\n\t"
        "adcxq %[hi], %[t3]\n\t"
        "mulxq 16(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t3]\n\t"
        "adcxq %[hi], %[t4]\n\t"
        "mulxq 24(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t4]\n\t"
        "adcxq %%rax, %[hi]\n\t"
        "adoxq %%rax, %[hi]\n\t"
        "addq %[hi], %[t0]\n\t"
        "movq 16(%[b]), %%rdx\n\t"
        "xorl %%eax, %%eax\n\t"
        "mulxq 0(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t2]\n\t"
        "adcxq %[hi], %[t3]\n\t"
        "mulxq 8(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t3]\n\t"
        "adcxq %[hi], %[t4]\n\t"
        "mulxq 16(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t4]\n\t"
        "adcxq %[hi], %[t0]\n\t"
        "mulxq 24(%[a]), %[lo], %[t1]\n\t"
        "adoxq %[lo], %[t0]\n\t"
        "adcxq %%rax, %[t1]\n\t"
        "adoxq %%rax, %[t1]\n\t"
        "movq %[t2], %%rdx\n\t"
        "imulq %[inv], %%rdx\n\t"
        "xorl %%eax, %%eax\n\t"
        "mulxq 0(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t2]\n\t"
        "adcxq %[hi], %[t3]\n\t"
        "mulxq 8(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t3]\n\t"
        "adcxq %[hi], %[t4]\n\t"
        "mulxq 16(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t4]\n\t"
        "adcxq %[hi], %[t0]\n\t"
        "mulxq 24(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t0]\n\t"
        "adcxq %%rax, %[hi]\n\t"
        "adoxq %%rax, %[hi]\n\t"
        "addq %[hi], %[t1]\n\t"
        "movq 24(%[b]), %%rdx\n\t"
        "xorl %%eax, %%eax\n\t"
        "mulxq 0(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t3]\n\t"
        "adcxq %[hi], %[t4]\n\t"
        "mulxq 8(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t4]\n\t"
        "adcxq %[hi], %[t0]\n\t"
        "mulxq 16(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t0]\n\t"
        "adcxq %[hi], %[t1]\n\t"
        "mulxq 24(%[a]), %[lo], %[t2]\n\t"
        "adoxq %[lo], %[t1]\n\t"
        "adcxq %%rax, %[t2]\n\t"
        "adoxq %%rax, %[t2]\n\t"
        "movq %[t3], %%rdx\n\t"
        "imulq %[inv], %%rdx\n\t"
        "xorl %%eax, %%eax\n\t"
        "mulxq 0(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t3]\n\t"
        "adcxq %[hi], %[t4]\n\t"
        "mulxq 8(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t4]\n\t"
        "adcxq %[hi], %[t0]\n\t"
        "mulxq 16(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t0]\n\t"
        "adcxq %[hi], %[t1]\n\t"
        "mulxq 24(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t1]\n\t"
        "adcxq %%rax, %[hi]\n\t"
        "adoxq %%rax, %[hi]\n\t"
        "addq %[hi], %[t2]\n\t"
        : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4), [lo] "=&r"(lo),
          [hi] "=&r"(hi)
        : [a] "r"(a->l), [b] "r"(b->l), [p] "r"(p->l), [inv] "m"(inv), "m"(*a), "m"(*b), "m"(*p)
        : "rax", "rdx", "cc");
    fe t = {{t4, t0, t1, t2}};
    fe_reduce_once(r, &t, p);
}
#else
/* CIOS Montgomery multiplication, no-carry variant (top limb of p < 2^63 - 1). */
ZKP_INLINE void fe_mul_p(fe *r, const fe *a, const fe *b, const fe *p, u64 inv) {
    u64 t0, t1, t2, t3, A, C, m;
    u128 x;
    const u64 a0 = a->l[0], a1 = a->l[1], a2 = a->l[2], a3 = a->l[3];
    const u64 p0 = p->l[0], p1 = p->l[1], p2 = p->l[2], p3 = p->l[3];

    /* round 0 */
    u64 bi = b->l[0];
    x = (u128)a0 * bi; t0 = (u64)x; A = (u64)(x >> 64);
    x = (u128)a1 * bi + A; t1 = (u64)x; A = (u64)(x >> 64);
    x = (u128)a2 * bi + A; t2 = (u64)x; A = (u64)(x >> 64);
    x = (u128)a3 * bi + A; t3 = (u64)x; A = (u64)(x >> 64);
    m = t0 * inv;
    x = (u128)m * p0 + t0; C = (u64)(x >> 64);
    x = (u128)m * p1 + t1 + C; t0 = (u64)x; C = (u64)(x >> 64);
    x = (u128)m * p2 + t2 + C; t1 = (u64)x; C = (u64)(x >> 64);
    x = (u128)m * p3 + t3 + C; t2 = (u64)x; C = (u64)(x >> 64);
    t3 = C + A;

#define ZKP_CIOS_ROUND(I)                                                  \
    bi = b->l[I];                                                          \
    x = (u128)a0 * bi + t0; t0 = (u64)x; A = (u64)(x >> 64);               \
    m = t0 * inv;                                                          \
    x = (u128)m * p0 + t0; C = (u64)(x >> 64);                             \
    x = (u128)a1 * bi + t1 + A; t1 = (u64)x; A = (u64)(x >> 64);           \
    x = (u128)m * p1 + t1 + C; t0 = (u64)x; C = (u64)(x >> 64);            \
    x = (u128)a2 * bi + t2 + A; t2 = (u64)x; A = (u64)(x >> 64);           \
    x = (u128)m * p2 + t2 + C; t1 = (u64)x; C = (u64)(x >> 64);            \
    x = (u128)a3 * bi + t3 + A; t3 = (u64)x; A = (u64)(x >> 64);           \
    x = (u128)m * p3 + t3 + C; t2 = (u64)x; C = (u64)(x >> 64);            \
    t3 = C + A;

    ZKP_CIOS_ROUND(1)
    ZKP_CIOS_ROUND(2)
    ZKP_CIOS_ROUND(3)
#undef ZKP_CIOS_ROUND

    fe t = {{t0, t1, t2, t3}};
    fe_reduce_once(r, &t, p);
}

#endif

/* ---- Fq ---- */
ZKP_INLINE void fq_add(fe *r, const fe *a, const fe *b) { fe_add_p(r, a, b, &FQ_P); }
ZKP_INLINE void fq_sub(fe *r, const fe *a, const fe *b) { fe_sub_p(r, a, b, &FQ_P); }
ZKP_INLINE void fq_neg(fe *r, const fe *a) { fe_neg_p(r, a, &FQ_P); }
ZKP_INLINE void fq_mul(fe *r, const fe *a, const fe *b) { fe_mul_p(r, a, b, &FQ_P, FQ_INV); }
ZKP_INLINE void fq_sqr(fe *r, const fe *a) { fe_mul_p(r, a, a, &FQ_P, FQ_INV); }
ZKP_INLINE void fq_dbl(fe *r, const fe *a) { fe_add_p(r, a, a, &FQ_P); }
ZKP_INLINE int fq_is_zero(const fe *a) { return fe_is_zero(a); }
ZKP_INLINE int fq_eq(const fe *a, const fe *b) { return fe_eq(a, b); }

/* ---- Fr ---- */
ZKP_INLINE void fr_add(fe *r, const fe *a, const fe *b) { fe_add_p(r, a, b, &FR_P); }
ZKP_INLINE void fr_sub(fe *r, const fe *a, const fe *b) { fe_sub_p(r, a, b, &FR_P); }
ZKP_INLINE void fr_neg(fe *r, const fe *a) { fe_neg_p(r, a, &FR_P); }
ZKP_INLINE void fr_mul(fe *r, const fe *a, const fe *b) { fe_mul_p(r, a, b, &FR_P, FR_INV); }

/* x^e for a 256-bit exponent e (plain integer limbs), Montgomery in and out. Not constant
 * time: only used on public values (inversions of curve coordinates, twiddle seeds). */
static inline void fe_pow_p(fe *r, const fe *x, const u64 e[4], const fe *p, u64 inv, const fe *one) {
    fe acc = *one, base = *x;
    for (int i = 0; i < 4; i++) {
        u64 w = e[i];
        for (int j = 0; j < 64; j++) {
            if (w & 1) fe_mul_p(&acc, &acc, &base, p, inv);
            fe_mul_p(&base, &base, &base, p, inv);
            w >>= 1;
        }
    }
    *r = acc;
}

static inline void fq_inv(fe *r, const fe *a) {
    u64 e[4] = {FQ_P.l[0] - 2, FQ_P.l[1], FQ_P.l[2], FQ_P.l[3]};
    fe_pow_p(r, a, e, &FQ_P, FQ_INV, &FQ_ONE);
}

static inline void fr_inv(fe *r, const fe *a) {
    u64 e[4] = {FR_P.l[0] - 2, FR_P.l[1], FR_P.l[2], FR_P.l[3]};
    fe_pow_p(r, a, e, &FR_P, FR_INV, &FR_ONE);
}

static inline void fr_pow_u64(fe *r, const fe *x, u64 e) {
    u64 ee[4] = {e, 0, 0, 0};
    fe_pow_p(r, x, ee, &FR_P, FR_INV, &FR_ONE);
}

/* ---- Fq2 = Fq[u]/(u^2 + 1), elements c0 + c1*u ---- */
static inline void fq2_add(fe2 *r, const fe2 *a, const fe2 *b) {
    fq_add(&r->c0, &a->c0, &b->c0);
    fq_add(&r->c1, &a->c1, &b->c1);
}
static inline void fq2_sub(fe2 *r, const fe2 *a, const fe2 *b) {
    fq_sub(&r->c0, &a->c0, &b->c0);
    fq_sub(&r->c1, &a->c1, &b->c1);
}
static inline void fq2_dbl(fe2 *r, const fe2 *a) {
    fq_dbl(&r->c0, &a->c0);
    fq_dbl(&r->c1, &a->c1);
}
static inline void fq2_neg(fe2 *r, const fe2 *a) {
    fq_neg(&r->c0, &a->c0);
    fq_neg(&r->c1, &a->c1);
}
/* Karatsuba with lazy reduction: three 256x256 -> 512-bit products and two Montgomery
 * reductions (instead of three full Montgomery multiplications):
 *   c0 = REDC(a0 b0 + (q^2 - a1 b1)),  c1 = REDC((a0 + a1)(b0 + b1) - a0 b0 - a1 b1).
 * Both REDC inputs are below 2 q^2 < q R, so each result is below 2q before the final
 * conditional subtraction. G2 MSMs spend three quarters of their time here. */
#ifdef ZKP_MUL_ASM
static const u64 FQ_P2[8] = {0x3b5458a2275d69b1ULL, 0xa602072d09eac101ULL, 0x4a50189c6d96cadcULL, 0x04689e957a1242c8ULL, 0x26edfa5c34c6b38dULL, 0xb00b855116375606ULL, 0x599a6f7c0348d21cULL, 0x0925c4b8763cbf9cULL};

/* out = a * b, 512 bits (a, b < 2^255). */
ZKP_INLINE void wide_mul(u64 out[8], const fe *a, const fe *b) {
    u64 t0, t1, t2, t3, t4, lo, hi;
    __asm__(
        "movq 0(%[b]), %%rdx\n\t"
        "mulxq 0(%[a]), %[t0], %[t1]\n\t"
        "mulxq 8(%[a]), %[lo], %[t2]\n\t"
        "addq %[lo], %[t1]\n\t"
        "mulxq 16(%[a]), %[lo], %[t3]\n\t"
        "adcq %[lo], %[t2]\n\t"
        "mulxq 24(%[a]), %[lo], %[t4]\n\t"
        "adcq %[lo], %[t3]\n\t"
        "adcq $0, %[t4]\n\t"
        "movq %[t0], 0(%[o])\n\t"
        "movq 8(%[b]), %%rdx\n\t"
        "xorl %%eax, %%eax\n\t"
        "mulxq 0(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t1]\n\t"
        "adcxq %[hi], %[t2]\n\t"
        "mulxq 8(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t2]\n\t"
        "adcxq %[hi], %[t3]\n\t"
        "mulxq 16(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t3]\n\t"
        "adcxq %[hi], %[t4]\n\t"
        "mulxq 24(%[a]), %[lo], %[t0]\n\t"
        "adoxq %[lo], %[t4]\n\t"
        "adcxq %%rax, %[t0]\n\t"
        "adoxq %%rax, %[t0]\n\t"
        "movq %[t1], 8(%[o])\n\t"
        "movq 16(%[b]), %%rdx\n\t"
        "xorl %%eax, %%eax\n\t"
        "mulxq 0(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t2]\n\t"
        "adcxq %[hi], %[t3]\n\t"
        "mulxq 8(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t3]\n\t"
        "adcxq %[hi], %[t4]\n\t"
        "mulxq 16(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t4]\n\t"
        "adcxq %[hi], %[t0]\n\t"
        "mulxq 24(%[a]), %[lo], %[t1]\n\t"
        "adoxq %[lo], %[t0]\n\t"
        "adcxq %%rax, %[t1]\n\t"
        "adoxq %%rax, %[t1]\n\t"
        "movq %[t2], 16(%[o])\n\t"
        "movq 24(%[b]), %%rdx\n\t"
        "xorl %%eax, %%eax\n\t"
        "mulxq 0(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t3]\n\t"
        "adcxq %[hi], %[t4]\n\t"
        "mulxq 8(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t4]\n\t"
        "adcxq %[hi], %[t0]\n\t"
        "mulxq 16(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t0]\n\t"
        "adcxq %[hi], %[t1]\n\t"
        "mulxq 24(%[a]), %[lo], %[t2]\n\t"
        "adoxq %[lo], %[t1]\n\t"
        "adcxq %%rax, %[t2]\n\t"
        "adoxq %%rax, %[t2]\n\t"
        "movq %[t3], 24(%[o])\n\t"
        "movq %[t4], 32(%[o])\n\t"
        "movq %[t0], 40(%[o])\n\t"
        "movq %[t1], 48(%[o])\n\t"
        "movq %[t2], 56(%[o])\n\t"
        : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4), [lo] "=&r"(lo),
          [hi] "=&r"(hi), "=m"(*(u64(*)[8])out)
        : [a] "r"(a->l), [b] "r"(b->l), [o] "r"(out), "m"(*a), "m"(*b)
        : "rax", "rdx", "cc");
}

/* r = t / R mod q for t < q R, result fully reduced. */
ZKP_INLINE void fq_redc(fe *r, const u64 t[8]) {
    u64 r0, r1, r2, r3, r4, lo, hi;
    const u64 inv = FQ_INV;
    __asm__(
        "xorl %%ecx, %%ecx\n\t"
        "movq 0(%[t]), %[r0]\n\t"
        "movq 8(%[t]), %[r1]\n\t"
        "movq 16(%[t]), %[r2]\n\t"
        "movq 24(%[t]), %[r3]\n\t"
        "movq 32(%[t]), %[r4]\n\t"
        "movq %[r0], %%rdx\n\t"
        "imulq %[inv], %%rdx\n\t"
        "xorl %%eax, %%eax\n\t"
        "mulxq 0(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[r0]\n\t"
        "adcxq %[hi], %[r1]\n\t"
        "mulxq 8(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[r1]\n\t"
        "adcxq %[hi], %[r2]\n\t"
        "mulxq 16(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[r2]\n\t"
        "adcxq %[hi], %[r3]\n\t"
        "mulxq 24(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[r3]\n\t"
        "adcxq %%rax, %[hi]\n\t"
        "adoxq %%rax, %[hi]\n\t"
        "addq %%rcx, %[hi]\n\t"
        "addq %[hi], %[r4]\n\t"
        "movl $0, %%ecx\n\t"
        "adcq $0, %%rcx\n\t"
        "movq 40(%[t]), %[r0]\n\t"
        "movq %[r1], %%rdx\n\t"
        "imulq %[inv], %%rdx\n\t"
        "xorl %%eax, %%eax\n\t"
        "mulxq 0(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[r1]\n\t"
        "adcxq %[hi], %[r2]\n\t"
        "mulxq 8(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[r2]\n\t"
        "adcxq %[hi], %[r3]\n\t"
        "mulxq 16(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[r3]\n\t"
        "adcxq %[hi], %[r4]\n\t"
        "mulxq 24(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[r4]\n\t"
        "adcxq %%rax, %[hi]\n\t"
        "adoxq %%rax, %[hi]\n\t"
        "addq %%rcx, %[hi]\n\t"
        "addq %[hi], %[r0]\n\t"
        "movl $0, %%ecx\n\t"
        "adcq $0, %%rcx\n\t"
        "movq 48(%[t]), %[r1]\n\t"
        "movq %[r2], %%rdx\n\t"
        "imulq %[inv], %%rdx\n\t"
        "xorl %%eax, %%eax\n\t"
        "mulxq 0(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[r2]\n\t"
        "adcxq %[hi], %[r3]\n\t"
        "mulxq 8(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[r3]\n\t"
        "adcxq %[hi], %[r4]\n\t"
        "mulxq 16(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[r4]\n\t"
        "adcxq %[hi], %[r0]\n\t"
        "mulxq 24(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[r0]\n\t"
        "adcxq %%rax, %[hi]\n\t"
        "adoxq %%rax, %[hi]\n\t"
        "addq %%rcx, %[hi]\n\t"
        "addq %[hi], %[r1]\n\t"
        "movl $0, %%ecx\n\t"
        "adcq $0, %%rcx\n\t"
        "movq 56(%[t]), %[r2]\n\t"
        "movq %[r3], %%rdx\n\t"
        "imulq %[inv], %%rdx\n\t"
        "xorl %%eax, %%eax\n\t"
        "mulxq 0(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[r3]\n\t"
        "adcxq %[hi], %[r4]\n\t"
        "mulxq 8(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[r4]\n\t"
        "adcxq %[hi], %[r0]\n\t"
        "mulxq 16(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[r0]\n\t"
        "adcxq %[hi], %[r1]\n\t"
        "mulxq 24(%[p]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[r1]\n\t"
        "adcxq %%rax, %[hi]\n\t"
        "adoxq %%rax, %[hi]\n\t"
        "addq %%rcx, %[hi]\n\t"
        "addq %[hi], %[r2]\n\t"
        "movl $0, %%ecx\n\t"
        "adcq $0, %%rcx\n\t"
        : [r0] "=&r"(r0), [r1] "=&r"(r1), [r2] "=&r"(r2), [r3] "=&r"(r3), [r4] "=&r"(r4), [lo] "=&r"(lo),
          [hi] "=&r"(hi)
        : [t] "r"(t), [p] "r"(FQ_P.l), [inv] "m"(inv), "m"(*(const u64(*)[8])t), "m"(FQ_P)
        : "rax", "rcx", "rdx", "cc");
    fe x = {{r4, r0, r1, r2}};
    fe_reduce_once(r, &x, &FQ_P);
}

ZKP_INLINE void wide_add(u64 r[8], const u64 a[8], const u64 b[8]) {
    unsigned char c = 0;
    for (int i = 0; i < 8; i++) c = ZKP_ADC(c, a[i], b[i], &r[i]);
}

ZKP_INLINE void wide_sub(u64 r[8], const u64 a[8], const u64 b[8]) {
    unsigned char c = 0;
    for (int i = 0; i < 8; i++) c = ZKP_SBB(c, a[i], b[i], &r[i]);
}

static inline void fq2_mul(fe2 *r, const fe2 *a, const fe2 *b) {
    u64 t0[8], t1[8], t2[8], u[8];
    fe sa, sb;
    unsigned char c = 0;
    /* unreduced sums (< 2q < 2^255) */
    c = ZKP_ADC(0, a->c0.l[0], a->c1.l[0], &sa.l[0]);
    c = ZKP_ADC(c, a->c0.l[1], a->c1.l[1], &sa.l[1]);
    c = ZKP_ADC(c, a->c0.l[2], a->c1.l[2], &sa.l[2]);
    (void)ZKP_ADC(c, a->c0.l[3], a->c1.l[3], &sa.l[3]);
    c = ZKP_ADC(0, b->c0.l[0], b->c1.l[0], &sb.l[0]);
    c = ZKP_ADC(c, b->c0.l[1], b->c1.l[1], &sb.l[1]);
    c = ZKP_ADC(c, b->c0.l[2], b->c1.l[2], &sb.l[2]);
    (void)ZKP_ADC(c, b->c0.l[3], b->c1.l[3], &sb.l[3]);
    wide_mul(t0, &a->c0, &b->c0);
    wide_mul(t1, &a->c1, &b->c1);
    wide_mul(t2, &sa, &sb);
    wide_sub(t2, t2, t0);
    wide_sub(t2, t2, t1);
    fq_redc(&r->c1, t2);
    wide_sub(u, FQ_P2, t1);
    wide_add(u, u, t0);
    fq_redc(&r->c0, u);
}
#else
static inline void fq2_mul(fe2 *r, const fe2 *a, const fe2 *b) {
    fe t0, t1, sa, sb, m;
    fq_mul(&t0, &a->c0, &b->c0);
    fq_mul(&t1, &a->c1, &b->c1);
    fq_add(&sa, &a->c0, &a->c1);
    fq_add(&sb, &b->c0, &b->c1);
    fq_mul(&m, &sa, &sb);
    fq_sub(&r->c0, &t0, &t1);
    fq_sub(&m, &m, &t0);
    fq_sub(&r->c1, &m, &t1);
}
#endif
/* (a0 + a1 u)^2 = (a0 + a1)(a0 - a1) + 2 a0 a1 u: 2 base multiplications. */
static inline void fq2_sqr(fe2 *r, const fe2 *a) {
    fe s, d, m;
    fq_add(&s, &a->c0, &a->c1);
    fq_sub(&d, &a->c0, &a->c1);
    fq_mul(&m, &a->c0, &a->c1);
    fq_mul(&r->c0, &s, &d);
    fq_dbl(&r->c1, &m);
}
static inline int fq2_is_zero(const fe2 *a) { return fe_is_zero(&a->c0) && fe_is_zero(&a->c1); }
static inline int fq2_eq(const fe2 *a, const fe2 *b) { return fe_eq(&a->c0, &b->c0) && fe_eq(&a->c1, &b->c1); }

static inline void fq2_inv(fe2 *r, const fe2 *a) {
    fe t0, t1, n;
    fq_sqr(&t0, &a->c0);
    fq_sqr(&t1, &a->c1);
    fq_add(&n, &t0, &t1);
    fq_inv(&n, &n);
    fq_mul(&r->c0, &a->c0, &n);
    fq_mul(&t1, &a->c1, &n);
    fq_neg(&r->c1, &t1);
}

#endif

/* BN254 optimal ate pairing, for the Groth16 verifier's product check.
 *
 * Tower (the one snarkjs, gnark and the EVM precompile use):
 *   Fq2  = Fq[u]  / (u^2 + 1)         field.h
 *   Fq6  = Fq2[v] / (v^3 - xi), xi = 9 + u
 *   Fq12 = Fq6[w] / (w^2 - v)
 * so w^6 = xi. py_ecc writes Fq12 as Fq[w] / (w^12 - 18 w^6 + 82) with the same w, which makes
 * u = w^6 - 9 and v = w^2: the test maps one representation to the other and compares exactly.
 *
 * G2 points live on the D-type twist y^2 = x^3 + 3/xi over Fq2 and are untwisted by
 * (x, y) -> (x w^2, y w^3), py_ecc's map. The Miller loop runs over the signed digits of 6x+2
 * (x = 0x44e992b44a6909f1) with T in homogeneous projective coordinates and finishes with the
 * lines through pi(Q) and -pi^2(Q). Lines are scaled by factors in Fq2 and the signed digits leave
 * vertical lines out; both only change the Miller value by factors in Fq6, which the easy part of
 * the final exponentiation (p^6 - 1) sends to 1, so the reduced pairing is exactly py_ecc's.
 *
 * The final exponentiation is (p^6 - 1)(p^2 + 1) followed by (p^4 - p^2 + 1)/r written in base p:
 * l0 + l1 p + l2 p^2 + p^3 with l0 = -36x^3 - 30x^2 - 18x - 2, l1 = -36x^3 - 18x^2 - 12x + 1,
 * l2 = 6x^2 + 1. After the easy part the value is in the cyclotomic subgroup, where inversion is
 * conjugation and squaring has a cheaper form, so f^x, f^(x^2), f^(x^3) cost three 63-step
 * exponentiations and the rest is a few products. This computes the exponent exactly, not a
 * multiple of it: the result equals py_ecc's final_exponentiate bit for bit.
 *
 * Inputs are affine points in the .zkey layout (Montgomery form, all-zero = infinity). Nothing
 * here is constant time: verification only handles public values.
 */
#include <stdlib.h>
#include <string.h>

#include "field.h"
#include "pairing.h"

typedef struct {
    fe2 c0, c1, c2;
} fe6;

typedef struct {
    fe6 c0, c1;
} fe12;

typedef struct {
    fe x, y;
} g1_point;

typedef struct {
    fe2 x, y;
} g2_point;

typedef struct {
    fe2 x, y, z; /* homogeneous: (x/z, y/z) */
} g2_proj;

/* A line evaluated at P: c0 + c1 w + c2 w^3 (w^3 = v w), the only non-zero coefficients. */
typedef struct {
    fe2 c0, c1, c2;
} line_t;

/* ---- constants, Montgomery form (checked against Python by tests/unit/test_native_pairing.py) ---- */

/* the BN parameter x; the Miller loop runs over 6x + 2 */
#define BN_X 0x44e992b44a6909f1ULL

/* b' = 3 / xi, the twist's curve constant */
static const fe2 TWIST_B = {
    {{0x3bf938e377b802a8ULL, 0x020b1b273633535dULL, 0x26b7edf049755260ULL, 0x2514c6324384a86dULL}},
    {{0x38e7ecccd1dcff67ULL, 0x65f0b37d93ce0d3eULL, 0xd749d0dd22ac00aaULL, 0x0141b9ce4a688d4dULL}},
};

/* FROB1[j] = xi^(j (p - 1) / 6): (a w^j)^p = conj(a) FROB1[j] w^j */
static const fe2 FROB1[6] = {
    {{{0}}, {{0}}}, /* coefficient 0 needs none */
    {{{0xaf9ba69633144907ULL, 0xca6b1d7387afb78aULL, 0x11bded5ef08a2087ULL, 0x02f34d751a1f3a7cULL}},
     {{0xa222ae234c492d72ULL, 0xd00f02a4565de15bULL, 0xdc2ff3a253dfc926ULL, 0x10a75716b3899551ULL}}},
    {{{0xb5773b104563ab30ULL, 0x347f91c8a9aa6454ULL, 0x7a007127242e0991ULL, 0x1956bcd8118214ecULL}},
     {{0x6e849f1ea0aa4757ULL, 0xaa1c7b6d89f89141ULL, 0xb6e713cdfae0ca3aULL, 0x26694fbb4e82ebc3ULL}}},
    {{{0xe4bbdd0c2936b629ULL, 0xbb30f162e133bacbULL, 0x31a9d1b6f9645366ULL, 0x253570bea500f8ddULL}},
     {{0xa1d77ce45ffe77c7ULL, 0x07affd117826d1dbULL, 0x6d16bd27bb7edc6bULL, 0x2c87200285defeccULL}}},
    {{{0x7361d77f843abe92ULL, 0xa5bb2bd3273411fbULL, 0x9c941f314b3e2399ULL, 0x15df9cddbb9fd3ecULL}},
     {{0x5dddfd154bd8c949ULL, 0x62cb29a5a4445b60ULL, 0x37bc870a0c7dd2b9ULL, 0x24830a9d3171f0fdULL}}},
    {{{0xc970692f41690fe7ULL, 0xe240342127694b0bULL, 0x32bee66b83c459e8ULL, 0x12aabced0ab08841ULL}},
     {{0x0d485d2340aebfa9ULL, 0x05193418ab2fcc57ULL, 0xd3b0a40b8a4910f5ULL, 0x2f21ebb535d2925aULL}}},
};

/* FROB2[j] = xi^(j (p^2 - 1) / 6), which lies in Fq: (a w^j)^(p^2) = a FROB2[j] w^j.
 * FROB2[3] = -1. */
static const fe FROB2[6] = {
    {{0}},
    {{0xca8d800500fa1bf2ULL, 0xf0c5d61468b39769ULL, 0x0e201271ad0d4418ULL, 0x04290f65bad856e6ULL}},
    {{0x3350c88e13e80b9cULL, 0x7dce557cdb5e56b9ULL, 0x6001b4b8b615564aULL, 0x2682e617020217e0ULL}},
    {{0x68c3488912edefaaULL, 0x8d087f6872aabf4fULL, 0x51e1a24709081231ULL, 0x2259d6b14729c0faULL}},
    {{0x71930c11d782e155ULL, 0xa6bb947cffbe3323ULL, 0xaa303344d4741444ULL, 0x2c3b3f0d26594943ULL}},
    {{0x08cfc388c494f1abULL, 0x19b315148d1373d4ULL, 0x584e90fdcb6c0213ULL, 0x09e1685bdf2f8849ULL}},
};

/* ---- Fq2 helpers beyond field.h ---- */

static inline void fq2_conj(fe2 *r, const fe2 *a) {
    r->c0 = a->c0;
    fq_neg(&r->c1, &a->c1);
}

static inline void fq2_mul_fq(fe2 *r, const fe2 *a, const fe *s) {
    fq_mul(&r->c0, &a->c0, s);
    fq_mul(&r->c1, &a->c1, s);
}

/* 9a by additions: a multiplication would cost more than the four additions */
static inline void fq_mul9(fe *r, const fe *a) {
    fe t;
    fq_dbl(&t, a);
    fq_dbl(&t, &t);
    fq_dbl(&t, &t);
    fq_add(r, &t, a);
}

/* r = xi a = (9 a0 - a1) + (a0 + 9 a1) u */
static inline void fq2_mul_xi(fe2 *r, const fe2 *a) {
    fe t0, t1;
    fq_mul9(&t0, &a->c0);
    fq_mul9(&t1, &a->c1);
    fq_sub(&t0, &t0, &a->c1);
    fq_add(&t1, &t1, &a->c0);
    r->c0 = t0;
    r->c1 = t1;
}

static inline void fq2_set_one(fe2 *r) {
    r->c0 = FQ_ONE;
    memset(&r->c1, 0, sizeof(fe));
}

/* ---- Fq6 ---- */

static inline void fq6_add(fe6 *r, const fe6 *a, const fe6 *b) {
    fq2_add(&r->c0, &a->c0, &b->c0);
    fq2_add(&r->c1, &a->c1, &b->c1);
    fq2_add(&r->c2, &a->c2, &b->c2);
}

static inline void fq6_sub(fe6 *r, const fe6 *a, const fe6 *b) {
    fq2_sub(&r->c0, &a->c0, &b->c0);
    fq2_sub(&r->c1, &a->c1, &b->c1);
    fq2_sub(&r->c2, &a->c2, &b->c2);
}

static inline void fq6_neg(fe6 *r, const fe6 *a) {
    fq2_neg(&r->c0, &a->c0);
    fq2_neg(&r->c1, &a->c1);
    fq2_neg(&r->c2, &a->c2);
}

/* r = a v: the coefficients shift up and the top one wraps around times xi */
static inline void fq6_mul_v(fe6 *r, const fe6 *a) {
    fe2 t;
    fq2_mul_xi(&t, &a->c2);
    r->c2 = a->c1;
    r->c1 = a->c0;
    r->c0 = t;
}

/* Karatsuba: 6 Fq2 products instead of 9. */
static void fq6_mul(fe6 *r, const fe6 *a, const fe6 *b) {
    fe2 t0, t1, t2, s, u, c0, c1, c2;
    fq2_mul(&t0, &a->c0, &b->c0);
    fq2_mul(&t1, &a->c1, &b->c1);
    fq2_mul(&t2, &a->c2, &b->c2);

    fq2_add(&s, &a->c1, &a->c2);
    fq2_add(&u, &b->c1, &b->c2);
    fq2_mul(&c0, &s, &u);
    fq2_sub(&c0, &c0, &t1);
    fq2_sub(&c0, &c0, &t2);
    fq2_mul_xi(&c0, &c0);
    fq2_add(&c0, &c0, &t0); /* a0 b0 + xi (a1 b2 + a2 b1) */

    fq2_add(&s, &a->c0, &a->c1);
    fq2_add(&u, &b->c0, &b->c1);
    fq2_mul(&c1, &s, &u);
    fq2_sub(&c1, &c1, &t0);
    fq2_sub(&c1, &c1, &t1);
    fq2_mul_xi(&s, &t2);
    fq2_add(&c1, &c1, &s); /* a0 b1 + a1 b0 + xi a2 b2 */

    fq2_add(&s, &a->c0, &a->c2);
    fq2_add(&u, &b->c0, &b->c2);
    fq2_mul(&c2, &s, &u);
    fq2_sub(&c2, &c2, &t0);
    fq2_sub(&c2, &c2, &t2);
    fq2_add(&c2, &c2, &t1); /* a0 b2 + a2 b0 + a1 b1 */

    r->c0 = c0;
    r->c1 = c1;
    r->c2 = c2;
}

/* Squaring with 3 squarings and 2 products: besides a0^2 and a2^2, the square of
 * a0 - a1 + a2 recovers a1^2 + 2 a0 a2 once 2 a0 a1 and 2 a1 a2 are known. */
static void fq6_sqr(fe6 *r, const fe6 *a) {
    fe2 s0, s1, s2, s3, s4, t;
    fq2_sqr(&s0, &a->c0);
    fq2_mul(&s1, &a->c0, &a->c1);
    fq2_dbl(&s1, &s1);
    fq2_sub(&t, &a->c0, &a->c1);
    fq2_add(&t, &t, &a->c2);
    fq2_sqr(&s2, &t);
    fq2_mul(&s3, &a->c1, &a->c2);
    fq2_dbl(&s3, &s3);
    fq2_sqr(&s4, &a->c2);

    fq2_add(&t, &s1, &s2);
    fq2_add(&t, &t, &s3);
    fq2_sub(&t, &t, &s0);
    fq2_sub(&r->c2, &t, &s4);
    fq2_mul_xi(&t, &s3);
    fq2_add(&r->c0, &s0, &t);
    fq2_mul_xi(&t, &s4);
    fq2_add(&r->c1, &s1, &t);
}

static inline void fq6_mul_fq2(fe6 *r, const fe6 *a, const fe2 *s) {
    fq2_mul(&r->c0, &a->c0, s);
    fq2_mul(&r->c1, &a->c1, s);
    fq2_mul(&r->c2, &a->c2, s);
}

/* r = a (b0 + b1 v): the shape of a line's w coefficient, 5 Fq2 products. */
static void fq6_mul_01(fe6 *r, const fe6 *a, const fe2 *b0, const fe2 *b1) {
    fe2 t0, t1, s, u, c0, c1, c2;
    fq2_mul(&t0, &a->c0, b0);
    fq2_mul(&t1, &a->c1, b1);

    fq2_mul(&c0, &a->c2, b1);
    fq2_mul_xi(&c0, &c0);
    fq2_add(&c0, &c0, &t0); /* a0 b0 + xi a2 b1 */

    fq2_add(&s, &a->c0, &a->c1);
    fq2_add(&u, b0, b1);
    fq2_mul(&c1, &s, &u);
    fq2_sub(&c1, &c1, &t0);
    fq2_sub(&c1, &c1, &t1); /* a0 b1 + a1 b0 */

    fq2_mul(&c2, &a->c2, b0);
    fq2_add(&c2, &c2, &t1); /* a1 b1 + a2 b0 */

    r->c0 = c0;
    r->c1 = c1;
    r->c2 = c2;
}

/* Inverse through the norm to Fq2: a (t0 + t1 v + t2 v^2) lies in Fq2 for the adjugate t below. */
static void fq6_inv(fe6 *r, const fe6 *a) {
    fe2 t0, t1, t2, s, n;
    fq2_sqr(&t0, &a->c0);
    fq2_mul(&s, &a->c1, &a->c2);
    fq2_mul_xi(&s, &s);
    fq2_sub(&t0, &t0, &s); /* a0^2 - xi a1 a2 */
    fq2_sqr(&t1, &a->c2);
    fq2_mul_xi(&t1, &t1);
    fq2_mul(&s, &a->c0, &a->c1);
    fq2_sub(&t1, &t1, &s); /* xi a2^2 - a0 a1 */
    fq2_sqr(&t2, &a->c1);
    fq2_mul(&s, &a->c0, &a->c2);
    fq2_sub(&t2, &t2, &s); /* a1^2 - a0 a2 */

    fq2_mul(&n, &a->c2, &t1);
    fq2_mul(&s, &a->c1, &t2);
    fq2_add(&n, &n, &s);
    fq2_mul_xi(&n, &n);
    fq2_mul(&s, &a->c0, &t0);
    fq2_add(&n, &n, &s);
    fq2_inv(&n, &n);
    fq2_mul(&r->c0, &t0, &n);
    fq2_mul(&r->c1, &t1, &n);
    fq2_mul(&r->c2, &t2, &n);
}

/* ---- Fq12 ---- */

static inline void fq12_set_one(fe12 *r) {
    memset(r, 0, sizeof(*r));
    r->c0.c0.c0 = FQ_ONE;
}

static int fq12_is_one(const fe12 *a) {
    fe12 one;
    fq12_set_one(&one);
    return memcmp(a, &one, sizeof(one)) == 0; /* every coefficient is fully reduced */
}

/* Karatsuba over Fq6: 3 products. */
static void fq12_mul(fe12 *r, const fe12 *a, const fe12 *b) {
    fe6 t0, t1, s, u;
    fq6_mul(&t0, &a->c0, &b->c0);
    fq6_mul(&t1, &a->c1, &b->c1);
    fq6_add(&s, &a->c0, &a->c1);
    fq6_add(&u, &b->c0, &b->c1);
    fq6_mul(&s, &s, &u);
    fq6_sub(&s, &s, &t0);
    fq6_sub(&r->c1, &s, &t1);
    fq6_mul_v(&t1, &t1);
    fq6_add(&r->c0, &t0, &t1);
}

/* (a + b w)^2 = (a + b)(a + b v) - ab - ab v + 2ab w: 2 Fq6 products. */
static void fq12_sqr(fe12 *r, const fe12 *x) {
    fe6 ab, s, t;
    fq6_mul(&ab, &x->c0, &x->c1);
    fq6_add(&s, &x->c0, &x->c1);
    fq6_mul_v(&t, &x->c1);
    fq6_add(&t, &t, &x->c0);
    fq6_mul(&s, &s, &t);
    fq6_sub(&s, &s, &ab);
    fq6_mul_v(&t, &ab);
    fq6_sub(&r->c0, &s, &t);
    fq6_add(&r->c1, &ab, &ab);
}

/* a^(p^6): w -> -w */
static inline void fq12_conj(fe12 *r, const fe12 *a) {
    r->c0 = a->c0;
    fq6_neg(&r->c1, &a->c1);
}

/* (a + b w)^-1 = (a - b w) / (a^2 - b^2 v) */
static void fq12_inv(fe12 *r, const fe12 *x) {
    fe6 t, s;
    fq6_sqr(&t, &x->c0);
    fq6_sqr(&s, &x->c1);
    fq6_mul_v(&s, &s);
    fq6_sub(&t, &t, &s);
    fq6_inv(&t, &t);
    fq6_mul(&r->c0, &x->c0, &t);
    fq6_mul(&s, &x->c1, &t);
    fq6_neg(&r->c1, &s);
}

/* The Fq2 coefficient of w^j, j < 6: w^0..w^5 are c0.c0, c1.c0, c0.c1, c1.c1, c0.c2, c1.c2. */
static inline fe2 *fq12_coeff(fe12 *a, int j) {
    fe6 *half = (j & 1) ? &a->c1 : &a->c0;
    return j < 2 ? &half->c0 : (j < 4 ? &half->c1 : &half->c2);
}

/* a^p */
static void fq12_frob1(fe12 *r, const fe12 *a) {
    fe12 t = *a;
    for (int j = 0; j < 6; j++) {
        fe2 *c = fq12_coeff(&t, j);
        fq2_conj(c, c);
        if (j) fq2_mul(c, c, &FROB1[j]);
    }
    *r = t;
}

/* a^(p^2) */
static void fq12_frob2(fe12 *r, const fe12 *a) {
    fe12 t = *a;
    for (int j = 1; j < 6; j++) {
        fe2 *c = fq12_coeff(&t, j);
        fq2_mul_fq(c, c, &FROB2[j]);
    }
    *r = t;
}

/* (a0 + a1 s)^2 in Fq4 = Fq2[s] / (s^2 - xi) */
static inline void fq4_sqr(fe2 *r0, fe2 *r1, const fe2 *a0, const fe2 *a1) {
    fe2 t0, t1, s;
    fq2_sqr(&t0, a0);
    fq2_sqr(&t1, a1);
    fq2_add(&s, a0, a1);
    fq2_sqr(&s, &s);
    fq2_sub(&s, &s, &t0);
    fq2_sub(r1, &s, &t1);
    fq2_mul_xi(&t1, &t1);
    fq2_add(r0, &t0, &t1);
}

/* r = 3x - 2y, r = 3x + 2y */
static inline void fq2_3x_minus_2y(fe2 *r, const fe2 *x, const fe2 *y) {
    fe2 t;
    fq2_sub(&t, x, y);
    fq2_dbl(&t, &t);
    fq2_add(r, &t, x);
}
static inline void fq2_3x_plus_2y(fe2 *r, const fe2 *x, const fe2 *y) {
    fe2 t;
    fq2_add(&t, x, y);
    fq2_dbl(&t, &t);
    fq2_add(r, &t, x);
}

/* Squaring in the cyclotomic subgroup (elements with a^(p^6 + 1) = 1 and a^(p^4 - p^2 + 1)
 * = 1, which the easy part guarantees), Granger-Scott: view Fq12 as Fq4[w] / (w^3 - s) with
 * s = w^3, a = A + B w + C w^2; then
 *   a^2 = (3 A^2 - 2 conj A) + (3 s C^2 + 2 conj B) w + (3 B^2 - 2 conj C) w^2,
 * conj being the Fq4/Fq2 conjugation. 9 Fq2 squarings instead of 12 Fq2 products. */
static void fq12_cyc_sqr(fe12 *r, const fe12 *a) {
    /* A = c0.c0 + c1.c1 s, B = c1.c0 + c0.c2 s, C = c0.c1 + c1.c2 s */
    fe2 a0, a1, b0, b1, c0, c1;
    fq4_sqr(&a0, &a1, &a->c0.c0, &a->c1.c1);
    fq4_sqr(&b0, &b1, &a->c1.c0, &a->c0.c2);
    fq4_sqr(&c0, &c1, &a->c0.c1, &a->c1.c2);
    fe12 t;
    fq2_3x_minus_2y(&t.c0.c0, &a0, &a->c0.c0);
    fq2_3x_plus_2y(&t.c1.c1, &a1, &a->c1.c1);
    fq2_mul_xi(&c1, &c1); /* s C^2 = xi c1 + c0 s */
    fq2_3x_plus_2y(&t.c1.c0, &c1, &a->c1.c0);
    fq2_3x_minus_2y(&t.c0.c2, &c0, &a->c0.c2);
    fq2_3x_minus_2y(&t.c0.c1, &b0, &a->c0.c1);
    fq2_3x_plus_2y(&t.c1.c2, &b1, &a->c1.c2);
    *r = t;
}

/* ---- signed digits ---- */

/* Non-adjacent form of n, least significant digit first; returns the digit count. Fewer non-zero
 * digits than binary (22 against 37 for 6x + 2), and a -1 digit costs the same as a +1 digit:
 * adding -Q in the Miller loop, multiplying by the conjugate in the cyclotomic subgroup. */
static int naf(u128 n, signed char *digits) {
    int len = 0;
    while (n) {
        signed char d = 0;
        if (n & 1) {
            d = (n & 3) == 1 ? 1 : -1;
            n = d == 1 ? n - 1 : n + 1;
        }
        digits[len++] = d;
        n >>= 1;
    }
    return len;
}

/* r = a^x for a in the cyclotomic subgroup */
static void cyc_exp_x(fe12 *r, const fe12 *a) {
    signed char d[66];
    int len = naf(BN_X, d);
    fe12 acc = *a, ainv;
    fq12_conj(&ainv, a);
    for (int i = len - 2; i >= 0; i--) {
        fq12_cyc_sqr(&acc, &acc);
        if (d[i] > 0) fq12_mul(&acc, &acc, a);
        if (d[i] < 0) fq12_mul(&acc, &acc, &ainv);
    }
    *r = acc;
}

/* r = a^6 (cyclotomic) */
static void cyc_pow6(fe12 *r, const fe12 *a) {
    fe12 t;
    fq12_cyc_sqr(&t, a);
    fq12_mul(&t, &t, a);
    fq12_cyc_sqr(r, &t);
}

static void final_exponentiation(fe12 *r, const fe12 *f) {
    fe12 m, t, a, b, c, e0, e1, e2;
    /* easy part: m = f^((p^6 - 1)(p^2 + 1)) */
    fq12_inv(&t, f);
    fq12_conj(&m, f);
    fq12_mul(&m, &m, &t);
    fq12_frob2(&t, &m);
    fq12_mul(&m, &m, &t);

    /* hard part: m^(l0 + l1 p + l2 p^2 + p^3) */
    cyc_exp_x(&a, &m); /* m^x */
    cyc_exp_x(&b, &a); /* m^(x^2) */
    cyc_exp_x(&c, &b); /* m^(x^3) */

    /* t = (c^6 b^3 a^2)^-6 = m^(-36x^3 - 18x^2 - 12x), shared by l0 and l1 */
    cyc_pow6(&t, &c);
    fq12_cyc_sqr(&e0, &b);
    fq12_mul(&e0, &e0, &b);
    fq12_mul(&t, &t, &e0);
    fq12_cyc_sqr(&e0, &a);
    fq12_mul(&t, &t, &e0);
    cyc_pow6(&t, &t);
    fq12_conj(&t, &t);

    fq12_mul(&e1, &t, &m); /* m^l1 */

    fq12_cyc_sqr(&e0, &b);
    fq12_mul(&e0, &e0, &a);
    cyc_pow6(&e0, &e0);
    fq12_conj(&e0, &e0);
    fq12_mul(&e0, &e0, &t); /* m^(-36x^3 - 30x^2 - 18x) */
    fq12_cyc_sqr(&e2, &m);
    fq12_conj(&e2, &e2);
    fq12_mul(&e0, &e0, &e2); /* m^l0 */

    cyc_pow6(&e2, &b);
    fq12_mul(&e2, &e2, &m); /* m^l2 */

    fq12_frob1(&e1, &e1);
    fq12_frob2(&e2, &e2);
    fq12_frob2(&t, &m);
    fq12_frob1(&t, &t); /* m^(p^3) */
    fq12_mul(&e0, &e0, &e1);
    fq12_mul(&e0, &e0, &e2);
    fq12_mul(r, &e0, &t);
}

/* ---- Miller loop ---- */

/* P's contribution to every line, computed once per pair */
typedef struct {
    fe neg_x, neg_3x, y;
} p_terms;

/* f *= c0 + c1 w + c2 w^3. With f = F0 + F1 w and the line g + h w (g = c0, h = c1 + c2 v),
 * Karatsuba over Fq6: F0 g + F1 h v + ((F0 + F1)(g + h) - F0 g - F1 h) w, 13 Fq2 products. */
static void fq12_mul_line(fe12 *f, const line_t *l) {
    fe6 t0, t1, s;
    fe2 g1;
    fq6_mul_fq2(&t0, &f->c0, &l->c0);
    fq6_mul_01(&t1, &f->c1, &l->c1, &l->c2);
    fq6_add(&s, &f->c0, &f->c1);
    fq2_add(&g1, &l->c0, &l->c1);
    fq6_mul_01(&s, &s, &g1, &l->c2);
    fq6_sub(&s, &s, &t0);
    fq6_sub(&f->c1, &s, &t1);
    fq6_mul_v(&t1, &t1);
    fq6_add(&f->c0, &t0, &t1);
}

/* T = 2T and the tangent at T evaluated at P. With B = Y^2, C = Z^2, E = 3b'C (b' the twist
 * constant) and the curve equation Y^2 Z = X^3 + b'Z^3, the tangent times 2YZ^2/Z is
 *   2YZ y_P - 3X^2 x_P w + (B - E) w^3,
 * and the doubled point (x3 = x (y^2 - 9b') / 4y^2 and its y, scaled by 8Y^3 Z) is
 *   X3 = 2XY (B - 3E), Y3 = (B + 3E)^2 - 12 E^2, Z3 = 8 Y^3 Z. */
static void dbl_step(g2_proj *t, line_t *l, const p_terms *p, const fe2 *b3) {
    fe2 B, C, E, E3, XX, H, XY, s;
    fq2_sqr(&B, &t->y);
    fq2_sqr(&C, &t->z);
    fq2_mul(&E, b3, &C);
    fq2_sqr(&XX, &t->x);
    fq2_add(&H, &t->y, &t->z);
    fq2_sqr(&H, &H);
    fq2_sub(&H, &H, &B);
    fq2_sub(&H, &H, &C); /* 2YZ */
    fq2_mul(&XY, &t->x, &t->y);

    fq2_mul_fq(&l->c0, &H, &p->y);
    fq2_mul_fq(&l->c1, &XX, &p->neg_3x);
    fq2_sub(&l->c2, &B, &E);

    fq2_dbl(&E3, &E);
    fq2_add(&E3, &E3, &E);
    fq2_sub(&s, &B, &E3);
    fq2_mul(&t->x, &XY, &s);
    fq2_dbl(&t->x, &t->x);
    fq2_add(&s, &B, &E3);
    fq2_sqr(&s, &s);
    fq2_sqr(&E, &E);
    fq2_dbl(&E3, &E);
    fq2_add(&E3, &E3, &E);
    fq2_dbl(&E3, &E3);
    fq2_dbl(&E3, &E3); /* 12 E^2 */
    fq2_sub(&t->y, &s, &E3);
    fq2_mul(&t->z, &B, &H);
    fq2_dbl(&t->z, &t->z);
    fq2_dbl(&t->z, &t->z);
}

/* T = T + Q (Q affine) and the line through them at P. With theta = Y - y_Q Z and
 * eta = X - x_Q Z (slope theta/eta), the line times eta is
 *   eta y_P - theta x_P w + (theta x_Q - eta y_Q) w^3,
 * and with D = eta^3, F = X eta^2, G = theta^2 Z + D - 2F the sum is
 *   X3 = eta G, Y3 = theta (F - G) - D Y, Z3 = Z D.
 * Returns 0 and leaves T alone when eta = 0 (T = +-Q), which the formulas cannot handle. */
static int add_step(g2_proj *t, line_t *l, const g2_point *q, const p_terms *p) {
    fe2 th, et, C, D, F, G, s;
    fq2_mul(&th, &q->y, &t->z);
    fq2_sub(&th, &t->y, &th);
    fq2_mul(&et, &q->x, &t->z);
    fq2_sub(&et, &t->x, &et);
    if (fq2_is_zero(&et)) return 0;

    fq2_mul_fq(&l->c0, &et, &p->y);
    fq2_mul_fq(&l->c1, &th, &p->neg_x);
    fq2_mul(&l->c2, &th, &q->x);
    fq2_mul(&s, &et, &q->y);
    fq2_sub(&l->c2, &l->c2, &s);

    fq2_sqr(&C, &et);
    fq2_mul(&D, &et, &C);
    fq2_mul(&F, &t->x, &C);
    fq2_sqr(&G, &th);
    fq2_mul(&G, &G, &t->z);
    fq2_add(&G, &G, &D);
    fq2_sub(&G, &G, &F);
    fq2_sub(&G, &G, &F);
    fq2_mul(&t->x, &et, &G);
    fq2_sub(&s, &F, &G);
    fq2_mul(&s, &th, &s);
    fq2_mul(&C, &D, &t->y);
    fq2_sub(&t->y, &s, &C);
    fq2_mul(&t->z, &t->z, &D);
    return 1;
}

static inline void twist_b3(fe2 *b3) {
    fq2_dbl(b3, &TWIST_B);
    fq2_add(b3, b3, &TWIST_B);
}

/* The product of the Miller values of n pairs, none at infinity, sharing the squarings of f.
 * The G2 points must be in the order-r subgroup (see zkp_g2_in_subgroup); on other points the
 * steps can meet T = +-Q and the value means nothing. */
static void miller_loop(fe12 *f, const g1_point *ps, const g2_point *qs, size_t n, g2_proj *ts, p_terms *pt) {
    signed char d[70];
    int len = naf((u128)BN_X * 6 + 2, d);
    fe2 b3;
    twist_b3(&b3);
    for (size_t i = 0; i < n; i++) {
        ts[i].x = qs[i].x;
        ts[i].y = qs[i].y;
        fq2_set_one(&ts[i].z);
        fq_neg(&pt[i].neg_x, &ps[i].x);
        fq_dbl(&pt[i].neg_3x, &pt[i].neg_x);
        fq_add(&pt[i].neg_3x, &pt[i].neg_3x, &pt[i].neg_x);
        pt[i].y = ps[i].y;
    }
    fq12_set_one(f);
    line_t l;
    for (int k = len - 2; k >= 0; k--) {
        if (k != len - 2) fq12_sqr(f, f); /* f = 1 on the first step */
        for (size_t i = 0; i < n; i++) {
            dbl_step(&ts[i], &l, &pt[i], &b3);
            fq12_mul_line(f, &l);
            if (d[k]) {
                g2_point q = qs[i];
                if (d[k] < 0) fq2_neg(&q.y, &q.y);
                add_step(&ts[i], &l, &q, &pt[i]);
                fq12_mul_line(f, &l);
            }
        }
    }
    /* the two Frobenius lines: pi(Q) = (conj(x) FROB1[2], conj(y) FROB1[3]) on the twist, and
     * -pi^2(Q) = (x FROB2[2], y) because FROB2[3] = -1 */
    for (size_t i = 0; i < n; i++) {
        g2_point q1, q2;
        fq2_conj(&q1.x, &qs[i].x);
        fq2_mul(&q1.x, &q1.x, &FROB1[2]);
        fq2_conj(&q1.y, &qs[i].y);
        fq2_mul(&q1.y, &q1.y, &FROB1[3]);
        fq2_mul_fq(&q2.x, &qs[i].x, &FROB2[2]);
        q2.y = qs[i].y;
        add_step(&ts[i], &l, &q1, &pt[i]);
        fq12_mul_line(f, &l);
        add_step(&ts[i], &l, &q2, &pt[i]);
        fq12_mul_line(f, &l);
    }
}

/* ---- input checks ---- */

static int fe_reduced(const fe *a) { return !fe_geq(a, &FQ_P); }

/* -1: a coordinate >= q or a point off its curve; 0: infinity; 1: a finite point */
static int g1_check(const g1_point *p) {
    if (fe_is_zero(&p->x) && fe_is_zero(&p->y)) return 0;
    if (!fe_reduced(&p->x) || !fe_reduced(&p->y)) return -1;
    fe l, r, b;
    fq_sqr(&l, &p->y);
    fq_sqr(&r, &p->x);
    fq_mul(&r, &r, &p->x);
    fq_dbl(&b, &FQ_ONE);
    fq_add(&b, &b, &FQ_ONE); /* 3 */
    fq_add(&r, &r, &b);
    return fq_eq(&l, &r) ? 1 : -1;
}

static int g2_check(const g2_point *p) {
    if (fq2_is_zero(&p->x) && fq2_is_zero(&p->y)) return 0;
    if (!fe_reduced(&p->x.c0) || !fe_reduced(&p->x.c1) || !fe_reduced(&p->y.c0) || !fe_reduced(&p->y.c1))
        return -1;
    fe2 l, r;
    fq2_sqr(&l, &p->y);
    fq2_sqr(&r, &p->x);
    fq2_mul(&r, &r, &p->x);
    fq2_add(&r, &r, &TWIST_B);
    return fq2_eq(&l, &r) ? 1 : -1;
}

/* [r]Q = O? Double-and-add over the bits of r with the same formulas as the Miller loop (the
 * line is computed and dropped); unlike there, every special case is handled, because a point
 * outside the subgroup can have small order. */
static int g2_order_divides_r(const g2_point *q) {
    static const p_terms none; /* lines are discarded */
    fe2 b3;
    twist_b3(&b3);
    line_t l;
    g2_proj t = {q->x, q->y, {FQ_ONE, {{0}}}};
    int inf = 0;
    int top = 255;
    while (!((FR_P.l[top >> 6] >> (top & 63)) & 1)) top--;
    for (int bit = top - 1; bit >= 0; bit--) {
        if (!inf) {
            dbl_step(&t, &l, &none, &b3);
            inf = fq2_is_zero(&t.z); /* 2T = O: T had order 2 */
        }
        if ((FR_P.l[bit >> 6] >> (bit & 63)) & 1) {
            if (inf) {
                t.x = q->x;
                t.y = q->y;
                fq2_set_one(&t.z);
                inf = 0;
            } else if (!add_step(&t, &l, q, &none)) {
                /* T = +-Q: T + Q is 2Q or O */
                fe2 yq;
                fq2_mul(&yq, &q->y, &t.z);
                if (fq2_eq(&yq, &t.y)) {
                    dbl_step(&t, &l, &none, &b3);
                    inf = fq2_is_zero(&t.z);
                } else {
                    inf = 1;
                }
            }
        }
    }
    return inf;
}

/* ---- entry points ---- */

static void fq12_from_std(fe12 *r, const uint64_t *in) {
    fe *c = (fe *)r;
    for (int i = 0; i < 12; i++) {
        memcpy(&c[i], in + 4 * i, sizeof(fe));
        fq_mul(&c[i], &c[i], &FQ_R2);
    }
}

static void fq12_to_std(uint64_t *out, const fe12 *a) {
    static const fe one = {{1, 0, 0, 0}};
    const fe *c = (const fe *)a;
    for (int i = 0; i < 12; i++) {
        fe t;
        fq_mul(&t, &c[i], &one);
        memcpy(out + 4 * i, &t, sizeof(fe));
    }
}

/* Product of the Miller values of the finite pairs (skipping any pair with a point at infinity,
 * whose pairing is 1). 0, -1 for a bad point, -2 when out of memory. */
static int miller_product(fe12 *f, const uint64_t *g1, const uint64_t *g2, size_t n) {
    const g1_point *ps = (const g1_point *)g1;
    const g2_point *qs = (const g2_point *)g2;
    g1_point *pf = malloc((n + 1) * sizeof(*pf));
    g2_point *qf = malloc((n + 1) * sizeof(*qf));
    g2_proj *ts = malloc((n + 1) * sizeof(*ts));
    p_terms *pt = malloc((n + 1) * sizeof(*pt));
    int rc = 0;
    size_t m = 0;
    if (!pf || !qf || !ts || !pt) {
        rc = -2;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        int a = g1_check(&ps[i]), b = g2_check(&qs[i]);
        if (a < 0 || b < 0) {
            rc = -1;
            goto done;
        }
        if (a && b) {
            pf[m] = ps[i];
            qf[m] = qs[i];
            m++;
        }
    }
    miller_loop(f, pf, qf, m, ts, pt);
done:
    free(pf);
    free(qf);
    free(ts);
    free(pt);
    return rc;
}

int zkp_pairing_product_is_one(const uint64_t *g1, const uint64_t *g2, size_t n) {
    fe12 f;
    int rc = miller_product(&f, g1, g2, n);
    if (rc < 0) return rc;
    final_exponentiation(&f, &f);
    return fq12_is_one(&f);
}

int zkp_pairing_product(const uint64_t *g1, const uint64_t *g2, size_t n, uint64_t out[48]) {
    fe12 f;
    int rc = miller_product(&f, g1, g2, n);
    if (rc < 0) return rc;
    final_exponentiation(&f, &f);
    fq12_to_std(out, &f);
    return 0;
}

int zkp_final_exponentiation(const uint64_t in[48], uint64_t out[48]) {
    for (int i = 0; i < 12; i++) {
        if (!fe_reduced((const fe *)(in + 4 * i))) return -1;
    }
    fe12 f;
    fq12_from_std(&f, in);
    final_exponentiation(&f, &f);
    fq12_to_std(out, &f);
    return 0;
}

int zkp_g2_in_subgroup(const uint64_t *g2, size_t n) {
    const g2_point *qs = (const g2_point *)g2;
    for (size_t i = 0; i < n; i++) {
        int c = g2_check(&qs[i]);
        if (c < 0 || (c > 0 && !g2_order_divides_r(&qs[i]))) return 0;
    }
    return 1;
}

void zkp_pairing_constants(uint64_t *bn_x, uint64_t out[ZKP_PAIRING_NCONST * 4]) {
    static const fe one = {{1, 0, 0, 0}};
    fe c[ZKP_PAIRING_NCONST];
    int k = 0;
    c[k++] = TWIST_B.c0;
    c[k++] = TWIST_B.c1;
    for (int j = 1; j < 6; j++) {
        c[k++] = FROB1[j].c0;
        c[k++] = FROB1[j].c1;
    }
    for (int j = 1; j < 6; j++) c[k++] = FROB2[j];
    for (int i = 0; i < ZKP_PAIRING_NCONST; i++) {
        fe t;
        fq_mul(&t, &c[i], &one);
        memcpy(out + 4 * i, &t, sizeof(fe));
    }
    *bn_x = BN_X;
}

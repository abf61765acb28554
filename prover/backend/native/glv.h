/* Scalar decomposition for MSMs with an endomorphism (GLV on G1, GLS-style psi on G2).
 *
 * An endomorphism e with e(P) = m P for every P in the group turns k P into k1 P + k2 e(P) with
 * k = k1 + k2 m (mod r) and |k1|, |k2| < 2^127: an MSM over 2n points with half-length scalars,
 * so half the windows and half the bucket reductions for the same number of additions.
 *
 *   G1: phi(x, y) = (beta x, y), m = lambda, a cube root of unity in Fr.
 *   G2: psi = untwist-Frobenius-twist, psi(x, y) = (conj(x) gx, conj(y) gy) with
 *       gx = xi^((q-1)/3), gy = xi^((q-1)/2), xi = 9 + u; m = q mod r = 6 x^2 (x the BN seed).
 *
 * Decomposition (Babai rounding in a short basis (a1, b1), (a2, b2) of the lattice
 * {(a, b): a + b m = 0 mod r}): c1 = floor(k g1 / 2^256), c2 = floor(k g2 / 2^256) with
 * g1 ~ 2^256 b2 / r and g2 ~ -2^256 b1 / r, then k1 = k - c1 a1 - c2 a2 and
 * k2 = -c1 b1 - c2 b2. The floors are off the exact rounding by at most one, which keeps both
 * halves below 2^128 in magnitude. k1 and k2 are computed modulo 2^192 (basis entries stored in
 * two's complement): the true values are far below 2^191, so the residues are exact. On G2 the
 * basis is (m, -1), (0, 0): k2 = floor(k / m), k1 = k - k2 m.
 *
 * tests/test_msm_techniques.py derives every constant here afresh (cube roots, Frobenius
 * coefficients, the short basis) and checks the split and both endomorphisms against them.
 */
#ifndef ZKP_GLV_H
#define ZKP_GLV_H

#include "field.h"

typedef struct {
    fe g1, g2;                       /* rounding multipliers, 2^256 b2 / r and -2^256 b1 / r */
    u64 a1[3], b1[3], a2[3], b2[3]; /* short basis, two's complement mod 2^192 */
} glv_lattice;

static const glv_lattice GLV_G1_LATTICE = {
    {{0x5398fd0300ff6565ULL, 0x4ccef014a773d2d2ULL, 0x0000000000000002ULL, 0}},
    {{0xd91d232ec7e0b3d7ULL, 0x0000000000000002ULL, 0, 0}},
    {0x8211bbeb7d4f1128ULL, 0x6f4d8248eeb859fcULL, 0},
    {0x762cda976b2dec1dULL, 0xffffffffffffffffULL, 0xffffffffffffffffULL},
    {0x89d3256894d213e3ULL, 0, 0},
    {0x0be4e1541221250bULL, 0x6f4d8248eeb859fdULL, 0},
};

static const glv_lattice GLV_G2_LATTICE = {
    {{0x2cb62031c8e01941ULL, 0x4ccef014a773d2d5ULL, 0x0000000000000002ULL, 0}},
    {{0, 0, 0, 0}},
    {0xf83e9682e87cfd46ULL, 0x6f4d8248eeb859fbULL, 0},
    {0xffffffffffffffffULL, 0xffffffffffffffffULL, 0xffffffffffffffffULL},
    {0, 0, 0},
    {0, 0, 0},
};

/* floor(k g / 2^256) mod 2^192 (k, g < 2^256). */
static inline void glv_mulhi(u64 out[3], const fe *k, const fe *g) {
    u64 p[8] = {0};
    for (int i = 0; i < 4; i++) {
        u64 carry = 0;
        for (int j = 0; j < 4; j++) {
            u128 t = (u128)k->l[i] * g->l[j] + p[i + j] + carry;
            p[i + j] = (u64)t;
            carry = (u64)(t >> 64);
        }
        p[i + 4] = carry;
    }
    out[0] = p[4];
    out[1] = p[5];
    out[2] = p[6];
}

/* acc -= a b (mod 2^192). */
static inline void glv_submul(u64 acc[3], const u64 a[3], const u64 b[3]) {
    u64 p[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        u64 carry = 0;
        for (int j = 0; i + j < 3; j++) {
            u128 t = (u128)a[i] * b[j] + p[i + j] + carry;
            p[i + j] = (u64)t;
            carry = (u64)(t >> 64);
        }
    }
    unsigned char borrow = 0;
    for (int i = 0; i < 3; i++) borrow = ZKP_SBB(borrow, acc[i], p[i], &acc[i]);
}

/* A two's complement value mod 2^192 as magnitude (4 limbs) and sign; 0 when it is below
 * 2^128 in magnitude, -1 otherwise (never, for the lattices above; checked anyway). */
static inline int glv_magnitude(fe *mag, int *neg, const u64 v[3]) {
    u64 m[3] = {v[0], v[1], v[2]};
    *neg = (int)(v[2] >> 63);
    if (*neg) {
        unsigned char borrow = 0;
        for (int i = 0; i < 3; i++) borrow = ZKP_SBB(borrow, 0, v[i], &m[i]);
    }
    mag->l[0] = m[0];
    mag->l[1] = m[1];
    mag->l[2] = 0;
    mag->l[3] = 0;
    return m[2] ? -1 : 0;
}

/* k (standard form, < r) = k1 + k2 m mod r; magnitudes and signs out. 0, or -1 if a half does
 * not fit 128 bits. */
static inline int glv_split(const glv_lattice *L, const fe *k, fe *k1, int *neg1, fe *k2, int *neg2) {
    u64 c1[3], c2[3];
    glv_mulhi(c1, k, &L->g1);
    glv_mulhi(c2, k, &L->g2);
    u64 h1[3] = {k->l[0], k->l[1], k->l[2]}, h2[3] = {0, 0, 0};
    glv_submul(h1, c1, L->a1);
    glv_submul(h1, c2, L->a2);
    glv_submul(h2, c1, L->b1);
    glv_submul(h2, c2, L->b2);
    return glv_magnitude(k1, neg1, h1) | glv_magnitude(k2, neg2, h2);
}

#endif

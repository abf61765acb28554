/* Flat C interface of the BN254 pairing (pairing.c) for the Python module (module.c).
 *
 * Points use the layouts of prover/field/arrays.py: g1 (n, 2, 4) and g2 (n, 2, 2, 4) affine
 * coordinates in Montgomery form, all-zero = infinity (a pair with a point at infinity
 * contributes 1). Fq12 values cross as 12 standard-form Fq elements in tower order c0.c0.c0,
 * c0.c0.c1, c0.c1.c0, ..., c1.c2.c1 (Fq12 = Fq6[w] / (w^2 - v), Fq6 = Fq2[v] / (v^3 - (9 + u)),
 * Fq2 = Fq[u] / (u^2 + 1)).
 */
#ifndef ZKP_PAIRING_H
#define ZKP_PAIRING_H

#include <stddef.h>
#include <stdint.h>

/* 1 if prod_i e(g1_i, g2_i) = 1, else 0. The G2 points must be in the order-r subgroup
 * (zkp_g2_in_subgroup); that is not checked here. -1 when a coordinate is not below q or a
 * point is off its curve, -2 when out of memory. */
int zkp_pairing_product_is_one(const uint64_t *g1, const uint64_t *g2, size_t n);

/* The same product written to out (48 limbs); 0, -1 or -2 as above. */
int zkp_pairing_product(const uint64_t *g1, const uint64_t *g2, size_t n, uint64_t out[48]);

/* out = in^((q^12 - 1) / r), standard form in and out; -1 if an input coefficient is >= q. */
int zkp_final_exponentiation(const uint64_t in[48], uint64_t out[48]);

/* 1 if every point is on the twist and of order dividing r (infinity passes), else 0. */
int zkp_g2_in_subgroup(const uint64_t *g2, size_t n);

/* The constants the pairing is built on, in standard form, for the tests to recompute: the twist
 * constant b' = 3/(9+u) (2 elements), xi^(j(q-1)/6) for j = 1..5 (10), xi^(j(q^2-1)/6) for
 * j = 1..5 (5); and the BN parameter x. */
#define ZKP_PAIRING_NCONST 17
void zkp_pairing_constants(uint64_t *bn_x, uint64_t out[ZKP_PAIRING_NCONST * 4]);

#endif

/* Flat C interface between the native kernels (msm.c, ntt.c) and the Python module (module.c).
 * All element buffers use the layouts of prover/field/arrays.py. */
#ifndef ZKP_H
#define ZKP_H

#include <stddef.h>
#include <stdint.h>

/* Set by a kernel when a malloc failed; module.c raises MemoryError. */
extern volatile int zkp_alloc_failed;

/* MSM: bases (n, 2, 4) [G1] or (n, 2, 2, 4) [G2] Montgomery; scalars (n, 4) standard.
 * Writes the affine result in standard form to out (64 or 128 bytes) and returns 1, or
 * returns 0 for the point at infinity (out zeroed), -1 on allocation failure. */
int zkp_msm_g1(const uint64_t *bases, const uint64_t *scalars, size_t n, int nthreads, uint64_t *out);
int zkp_msm_g2(const uint64_t *bases, const uint64_t *scalars, size_t n, int nthreads, uint64_t *out);

/* out[i] = start + i * step for i < n: affine Montgomery points in, (n, 2, 4) / (n, 2, 2, 4)
 * out. Distinct valid points quickly, for tests and benchmarks. 0, or -1 on allocation failure. */
int zkp_series_g1(const uint64_t *start, const uint64_t *step, size_t n, int nthreads, uint64_t *out);
int zkp_series_g2(const uint64_t *start, const uint64_t *step, size_t n, int nthreads, uint64_t *out);

/* out[i] = scalars[i] * base for one affine Montgomery base (key generation); out in the
 * (n, 2, 4) / (n, 2, 2, 4) layout. Returns 0, or -1 on allocation failure. */
int zkp_fixed_base_g1(const uint64_t *base, const uint64_t *scalars, size_t n, int nthreads, uint64_t *out);
int zkp_fixed_base_g2(const uint64_t *base, const uint64_t *scalars, size_t n, int nthreads, uint64_t *out);

/* In-place NTT of 2^log_n standard-form Fr elements, natural order in and out. coset: NULL or
 * a standard-form generator g (forward: coefficient i times g^i first; inverse: the exact
 * inverse). Returns 0, or -1 on allocation failure. */
int zkp_ntt(uint64_t *values, int log_n, int inverse, const uint64_t *coset, int nthreads);

/* The Groth16 H step (see prover/backend/interface.py): sparse A and B in CSR form over rows
 * 0..n_rows-1 (vals are coefficients in Montgomery form), witness standard form; writes
 * 2^log_n standard-form H evaluations to out. Returns 0 or -1 on allocation failure. */
int zkp_quotient(const uint64_t *a_ptr, const uint32_t *a_cols, const uint64_t *a_vals,
                 const uint64_t *b_ptr, const uint32_t *b_cols, const uint64_t *b_vals, size_t n_rows,
                 const uint64_t *witness, int log_n, uint64_t *out, int nthreads);

/* values[i] <- values[i] * R^-1 mod r in place (zkey coefficient v = c R^2 -> Montgomery c R). */
void zkp_fr_mont_reduce(uint64_t *values, size_t n, int nthreads);

/* Phase-2 ceremony (prover/groth16/phase2.py). lincomb: out[j] = sum over k in
 * [ptr[j], ptr[j+1]) of scalars[k] * bases[idx[k]], nout outputs, indices checked by the caller.
 * scale: out[i] = scalar * points[i]. Points affine Montgomery, scalars standard form < r.
 * Both return 0, or -1 on allocation failure. */
int zkp_lincomb_g1(const uint64_t *bases, const uint64_t *ptr, const uint32_t *idx, const uint64_t *scalars,
                   size_t nout, int nthreads, uint64_t *out);
int zkp_lincomb_g2(const uint64_t *bases, const uint64_t *ptr, const uint32_t *idx, const uint64_t *scalars,
                   size_t nout, int nthreads, uint64_t *out);
int zkp_scale_g1(const uint64_t *points, const uint64_t *scalar, size_t n, int nthreads, uint64_t *out);
int zkp_scale_g2(const uint64_t *points, const uint64_t *scalar, size_t n, int nthreads, uint64_t *out);

/* out[i] = (k1 + k2 lambda) points[i] on G1 (GLV; |k1|, |k2| < 2^128 given as magnitudes, 4 limbs,
 * and signs). 0, or -1 on allocation failure. */
int zkp_scale_g1_glv(const uint64_t *points, const uint64_t *k1, int neg1, const uint64_t *k2, int neg2, size_t n,
                     int nthreads, uint64_t *out);

/* values[i] <- values[i] * R^-1 mod q in place (Montgomery Fq coordinates to standard form). */
void zkp_fq_from_mont(uint64_t *values, size_t n, int nthreads);

/* A witness program (circuits/native_witness.py): the builder's arrays, read as they are.
 * Combination k: terms [ends[k], ends[k+1]) of wires and coefficient indices (cidx16 or
 * cidx32, the other NULL) into coefs (Montgomery). Step i: kind 0 MUL out = A*B, 1 COPY out = A,
 * 2 HINT run hint a[i]: op hop (circuits/hints.py), inputs hdeps[hdep_ends[h]..], outputs
 * hcount wires from hfirst. abc: 3 combinations per constraint. All indices in range. */
typedef struct {
    const int64_t *ends;
    const uint32_t *wires;
    const uint16_t *cidx16;
    const uint32_t *cidx32;
    const uint64_t *coefs;
    uint32_t coef_one;
    int64_t coef_minus_one; /* -1 when the circuit has no coefficient r - 1 */
    size_t n_lcs, n_wires;
    const uint8_t *kind;
    const int32_t *a, *b;
    const uint32_t *out;
    size_t n_steps;
    const int32_t *hop;
    const uint32_t *hfirst, *hcount;
    const int64_t *hdep_ends;
    const int32_t *hdeps;
    size_t n_hints;
    const int32_t *abc;
    size_t n_constraints;
    const uint32_t *input_wires;
    size_t n_inputs;
} zkp_witness_prog;

enum { ZKP_WITNESS_OK = 0, ZKP_WITNESS_UNSET = 1, ZKP_WITNESS_UNSATISFIED = 2, ZKP_WITNESS_UNFILLED = 3,
       ZKP_WITNESS_NOMEM = -1 };

/* Fill values (n_wires x 4 limbs; the input wires hold their standard-form values) and leave
 * every wire in standard form. plan: n_steps words, the running order; computed here when
 * plan_ready is 0 (it depends on the program alone, so a caller keeps it for later runs). Returns a ZKP_WITNESS_* code; *where is the wire read before
 * set (UNSET), the first violated constraint (UNSATISFIED, only when check) or a wire no step
 * fills (UNFILLED). */
/* Zeroed memory on huge pages where the kernel gives them (the values buffer); free() it. */
void *zkp_witness_alloc(size_t bytes);

int zkp_witness_run(const zkp_witness_prog *p, uint32_t *plan, int plan_ready, uint64_t *values, int check,
                    int64_t *where);

/* 1 if built with OpenMP (multi-threaded), else 0. */
int zkp_have_openmp(void);


/* Powers-of-tau kernels (prover/groth16/powersoftau.py). BLAKE2b over snarkjs's 216-byte
 * partial-hash state (blake2b.c); out[i] = scalars[i] * points[i]; an inverse FFT of 2^log_n
 * affine points in place, twiddles[j] = w^-j (j < n/2, standard form; G1: GLV-split, 9 words
 * each, see ptau_impl.h), outputs times n_inv. */
#define ZKP_BLAKE2B_STATE 216
void zkp_blake2b_init(uint8_t *state);
void zkp_blake2b_update(uint8_t *state, const uint8_t *data, size_t n);
void zkp_blake2b_final(const uint8_t *state, uint8_t *out);
int zkp_mul_each_g1(const uint64_t *points, const uint64_t *scalars, size_t n, int nthreads, uint64_t *out);
int zkp_mul_each_g2(const uint64_t *points, const uint64_t *scalars, size_t n, int nthreads, uint64_t *out);
int zkp_ifft_g1(uint64_t *points, int log_n, const uint64_t *twiddles, const uint64_t *n_inv, int nthreads);
int zkp_ifft_g2(uint64_t *points, int log_n, const uint64_t *twiddles, const uint64_t *n_inv, int nthreads);

#endif

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

/* The same MSMs with the techniques chosen by the caller (benchmarks, tests): flags is an OR of
 * ZKP_MSM_* or ZKP_MSM_AUTO (what zkp_msm_g1/g2 use), c the window bits or 0 for the tuned
 * choice. Returns as zkp_msm_g1, or -2 for a window outside 0..20. */
enum { ZKP_MSM_AUTO = -1, ZKP_MSM_SIGNED = 1, ZKP_MSM_AFFINE = 2, ZKP_MSM_ENDO = 4 };
int zkp_msm_g1_cfg(const uint64_t *bases, const uint64_t *scalars, size_t n, int nthreads, int flags, int c,
                   uint64_t *out);
int zkp_msm_g2_cfg(const uint64_t *bases, const uint64_t *scalars, size_t n, int nthreads, int flags, int c,
                   uint64_t *out);

/* Precomputed multiples of fixed bases (a key's, kept resident): zkp_msm_table_gX writes
 * zkp_msm_table_points(n, flags, tw) affine points, tw rows, row j = 2^(j k c) times the bases
 * (and their endomorphism images with ZKP_MSM_ENDO), k = ceil(windows / tw); an MSM with the
 * same flags (>= 0), c (>= 1) and tw then makes k passes instead of one per window (no
 * doublings between the rows' windows, k bucket reductions). Build: 0, -1 out of memory, -2
 * bad arguments; MSM: as zkp_msm_g1, -2 bad arguments. */
size_t zkp_msm_table_points(size_t n, int flags, int tw);
int zkp_msm_table_g1(const uint64_t *bases, size_t n, int flags, int c, int tw, int nthreads, uint64_t *table);
int zkp_msm_table_g2(const uint64_t *bases, size_t n, int flags, int c, int tw, int nthreads, uint64_t *table);
int zkp_msm_g1_table(const uint64_t *table, const uint64_t *scalars, size_t n, int nthreads, int flags, int c,
                     int tw, uint64_t *out);
int zkp_msm_g2_table(const uint64_t *table, const uint64_t *scalars, size_t n, int nthreads, int flags, int c,
                     int tw, uint64_t *out);

/* The endomorphism split of glv.h for n standard-form scalars below r: halves (n, 2, 4) as
 * magnitudes, signs (n, 2) 1 for negative. 0, or -1 if a half does not fit 128 bits. */
int zkp_glv_split(int g2, const uint64_t *scalars, size_t n, uint64_t *halves, uint8_t *signs);

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

/* The Groth16 H step (see prover/backend/interface.py) straight from the key's coefficient
 * records (n_records x 44 bytes, snarkjs .zkey section 4 layout: matrix, constraint, signal u32,
 * value c R^2 mod r), read in place; witness n_vars standard-form values; writes 2^log_n
 * standard-form H evaluations to out. Returns 0, -1 on allocation failure, -2 for a bad domain
 * size, -3 when a record names a matrix, row or signal out of range. */
int zkp_quotient(const uint8_t *records, size_t n_records, const uint64_t *witness, size_t n_vars, int log_n,
                 uint64_t *out, int nthreads);

/* Index of the first record (layout as above) with matrix > 1, constraint >= n_rows or
 * signal >= n_vars, or -1 when all are in range. */
long long zkp_coeffs_check(const uint8_t *records, size_t n_records, size_t n_vars, size_t n_rows);

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

/* zkp_scale_g1_glv's AVX-512 IFMA path (scale_ifma.c): the same products given the NAF digits of
 * k1, k2 (len each); bad[i] = 1 for the points the caller must redo the generic way. 0, or -1
 * on allocation failure or without IFMA (not compiled in, or not on this CPU).
 * zkp_ifma_usable: compiled in, supported by the CPU and not disabled by ZKPROVER_NO_IFMA. */
int zkp_scale_g1_glv_ifma(const uint64_t *points, size_t n, const int8_t *naf1, const int8_t *naf2, int len,
                          int neg1, int neg2, int nthreads, uint64_t *out, uint8_t *bad);
int zkp_ifma_usable(void);
int zkp_ifma_compiled(void);
/* The IFMA field operations on n (a multiple of the lane count) plain integers below 2^256,
 * for tests: the raw (unreduced) results, or -1 without IFMA or for a bad op / n. */
enum { ZKP_IFMA_MUL, ZKP_IFMA_ADD, ZKP_IFMA_SUB, ZKP_IFMA_CANON, ZKP_IFMA_IS_ZERO, ZKP_IFMA_ROUNDTRIP, ZKP_IFMA_SQR };
int zkp_ifma_field(int op, const uint64_t *a, const uint64_t *b, size_t n, uint64_t *out);

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

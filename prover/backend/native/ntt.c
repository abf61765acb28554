/* NTT over BN254 Fr and the Groth16 H step.
 *
 * The public NTT keeps data in standard form: twiddles and every other constant are kept in
 * Montgomery form, and mont_mul(standard x, Montgomery c) = x*c in standard form, so no
 * conversion pass is ever needed on the vectors themselves. The H step reads the key's
 * coefficients (c R^2) as they are, which puts its vectors in Montgomery form; one reduction at
 * the very end brings H back to standard form.
 *
 * Two radix-2 kernels share one twiddle table per size (T[j] = w_n^j, j < n/2, built once):
 *   dit: bit-reversed input -> natural output (Cooley-Tukey),
 *   dif: natural input -> bit-reversed output (Gentleman-Sande).
 * The stages whose butterflies stay inside an aligned block of NTT_BLOCK elements (512 KiB,
 * half an L2) run block by block, so those log2(NTT_BLOCK) stages cost one pass over memory;
 * the remaining stages are full passes split evenly across threads.
 *
 * The public NTT bit-reverses once and runs dit. The H step runs dif (inverse roots) -> coset
 * multiply in bit-reversed order -> dit (forward roots) and never bit-reverses at all.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "field.h"
#include "zkp.h"

#define NTT_BLOCK ((size_t)1 << 14)
#define MAX_LOG 28
/* below this size a transform runs on one thread: fork/join costs more than it saves */
#define PAR_MIN ((size_t)1 << 12)

/* Tables are built under a lock and never freed (the module lives as long as the process),
 * so a transform running without the GIL can never see a table disappear under it. */
static pthread_mutex_t tables_lock = PTHREAD_MUTEX_INITIALIZER;
static fe *fwd_tables[MAX_LOG + 1];
static fe *coset_tables[MAX_LOG + 1]; /* H step: n^-1 * w_2n^rev(i), bit-reversed order */

/* Reverse the low `bits` bits of i: swap halves, bytes, nibbles, pairs and bits of a 64-bit word
 * (a handful of instructions instead of a loop over the bits). */
static inline size_t bitrev(size_t i, int bits) {
    if (bits == 0) return 0;
    uint64_t x = __builtin_bswap64((uint64_t)i);
    x = ((x >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((x & 0x0F0F0F0F0F0F0F0FULL) << 4);
    x = ((x >> 2) & 0x3333333333333333ULL) | ((x & 0x3333333333333333ULL) << 2);
    x = ((x >> 1) & 0x5555555555555555ULL) | ((x & 0x5555555555555555ULL) << 1);
    return (size_t)(x >> (64 - bits));
}

/* out[i] = s * g^i for i < m (all Montgomery). */
static void powers(fe *out, size_t m, const fe *s, const fe *g, int nt) {
    int T = m >= PAR_MIN ? nt : 1;
#pragma omp parallel num_threads(T)
    {
        int tid = 0, tn = 1;
#ifdef _OPENMP
        tid = omp_get_thread_num();
        tn = omp_get_num_threads();
#endif
        size_t per = (m + tn - 1) / tn, lo = tid * per, hi = lo + per > m ? m : lo + per;
        if (lo < hi) {
            fe cur;
            fr_pow_u64(&cur, g, lo);
            fr_mul(&cur, &cur, s);
            for (size_t i = lo; i < hi; i++) {
                out[i] = cur;
                fr_mul(&cur, &cur, g);
            }
        }
    }
}

/* a[i] *= s * g^i (a standard, s and g Montgomery). */
static void scale_powers(fe *a, size_t m, const fe *s, const fe *g, int nt) {
    int T = m >= PAR_MIN ? nt : 1;
#pragma omp parallel num_threads(T)
    {
        int tid = 0, tn = 1;
#ifdef _OPENMP
        tid = omp_get_thread_num();
        tn = omp_get_num_threads();
#endif
        size_t per = (m + tn - 1) / tn, lo = tid * per, hi = lo + per > m ? m : lo + per;
        if (lo < hi) {
            fe cur;
            fr_pow_u64(&cur, g, lo);
            fr_mul(&cur, &cur, s);
            for (size_t i = lo; i < hi; i++) {
                fr_mul(&a[i], &a[i], &cur);
                fr_mul(&cur, &cur, g);
            }
        }
    }
}

/* Primitive 2^k-th root of unity, Montgomery form (w_28 squared 28 - k times). */
static void root_of_unity(fe *w, int k) {
    *w = FR_W28;
    for (int i = k; i < MAX_LOG; i++) fr_mul(w, w, w);
}

static fe from_int(u64 v) {
    fe x = {{v, 0, 0, 0}}, r;
    fr_mul(&r, &x, &FR_R2);
    return r;
}

/* Returns the tables for size 2^k (building them on first use), or -1 on allocation failure.
 * There is no inverse table: w^-j = -w^(n/2 - j), so the inverse transforms read the forward
 * table backwards and swap the roles of + and - in the butterfly (half the twiddle memory:
 * 256 MiB saved at 2^24). */
static int get_tables(int k, const fe **fwd, const fe **coset, int nt) {
    int rc = 0;
    size_t n = (size_t)1 << k, half = n / 2 ? n / 2 : 1;
    pthread_mutex_lock(&tables_lock);
    if (!fwd_tables[k]) {
        fe *f = (fe *)malloc(half * sizeof(fe));
        if (!f) {
            rc = -1;
            goto out;
        }
        fe w;
        root_of_unity(&w, k);
        powers(f, half, &FR_ONE, &w, nt);
        fwd_tables[k] = f;
    }
    if (coset && !coset_tables[k] && k < MAX_LOG) {
        fe *tmp = (fe *)malloc(n * sizeof(fe)), *c = (fe *)malloc(n * sizeof(fe));
        if (!tmp || !c) {
            free(tmp);
            free(c);
            rc = -1;
            goto out;
        }
        fe g, ninv = from_int(n);
        root_of_unity(&g, k + 1);
        fr_inv(&ninv, &ninv);
        powers(tmp, n, &ninv, &g, nt);
        for (size_t i = 0; i < n; i++) c[bitrev(i, k)] = tmp[i];
        free(tmp);
        coset_tables[k] = c;
    }
    *fwd = fwd_tables[k];
    if (coset) *coset = coset_tables[k];
out:
    pthread_mutex_unlock(&tables_lock);
    return rc;
}

ZKP_INLINE void bfly_dit(fe *x, fe *y, const fe *w) {
    fe t;
    fr_mul(&t, y, w);
    fr_sub(y, x, &t);
    fr_add(x, x, &t);
}

ZKP_INLINE void bfly_dif(fe *x, fe *y, const fe *w) {
    fe t;
    fr_sub(&t, x, y);
    fr_add(x, x, y);
    fr_mul(y, &t, w);
}

ZKP_INLINE void bfly_plain(fe *x, fe *y) {
    fe t;
    fr_sub(&t, x, y);
    fr_add(x, x, y);
    *y = t;
}

/* Butterflies with twiddle -w (inverse transforms, w = T[n/2 - idx] = -w^-idx). */
ZKP_INLINE void bfly_dit_neg(fe *x, fe *y, const fe *w) {
    fe t;
    fr_mul(&t, y, w);
    fr_add(y, x, &t);
    fr_sub(x, x, &t);
}

ZKP_INLINE void bfly_dif_neg(fe *x, fe *y, const fe *w) {
    fe t;
    fr_sub(&t, y, x);
    fr_add(x, x, y);
    fr_mul(y, &t, w);
}

/* The butterfly at twiddle index idx (0 < idx < half) of a transform by w (inv = 0) or by
 * w^-1 (inv = 1); T is the forward table of `half` entries. */
ZKP_INLINE void bfly(fe *x, fe *y, const fe *T, size_t idx, size_t half, int dit, int inv) {
    if (!inv) {
        if (dit)
            bfly_dit(x, y, &T[idx]);
        else
            bfly_dif(x, y, &T[idx]);
    } else {
        if (dit)
            bfly_dit_neg(x, y, &T[half - idx]);
        else
            bfly_dif_neg(x, y, &T[half - idx]);
    }
}

/* One stage of half-length h on a block x of size m (a multiple of 2h), twiddle stride step. */
static inline void stage_block(fe *x, size_t m, size_t h, size_t step, size_t half, const fe *T, int dit,
                               int inv) {
    if (h == 1) {
        for (size_t i = 0; i < m; i += 2) bfly_plain(&x[i], &x[i + 1]);
        return;
    }
    for (size_t i = 0; i < m; i += 2 * h) {
        bfly_plain(&x[i], &x[i + h]);
        for (size_t j = 1; j < h; j++) bfly(&x[i + j], &x[i + j + h], T, j * step, half, dit, inv);
    }
}

/* A stage whose butterflies span more than one block: split the n/2 butterflies evenly. */
static void stage_full(fe *a, size_t n, int logh, const fe *T, int dit, int inv, int nt) {
    size_t h = (size_t)1 << logh, step = n / (2 * h), half = n / 2;
    long long K = (long long)half;
#pragma omp parallel for num_threads(nt) schedule(static) if (n >= PAR_MIN)
    for (long long kk = 0; kk < K; kk++) {
        size_t k = (size_t)kk, j = k & (h - 1), i = ((k >> logh) << (logh + 1)) + j;
        if (j == 0)
            bfly_plain(&a[i], &a[i + h]);
        else
            bfly(&a[i], &a[i + h], T, j * step, half, dit, inv);
    }
}

static void dit(fe *a, int k, const fe *T, int inv, int nt) {
    size_t n = (size_t)1 << k, B = n < NTT_BLOCK ? n : NTT_BLOCK;
    long long nblk = (long long)(n / B);
#pragma omp parallel for num_threads(nt) schedule(static) if (n >= PAR_MIN)
    for (long long b = 0; b < nblk; b++) {
        for (size_t h = 1; h < B; h <<= 1) stage_block(a + (size_t)b * B, B, h, n / (2 * h), n / 2, T, 1, inv);
    }
    int logh = 0;
    while (((size_t)1 << logh) < B) logh++;
    for (; ((size_t)1 << logh) < n; logh++) stage_full(a, n, logh, T, 1, inv, nt);
}

static void dif(fe *a, int k, const fe *T, int inv, int nt) {
    size_t n = (size_t)1 << k, B = n < NTT_BLOCK ? n : NTT_BLOCK;
    for (int logh = k - 1; logh >= 0 && ((size_t)1 << logh) >= B; logh--) stage_full(a, n, logh, T, 0, inv, nt);
    long long nblk = (long long)(n / B);
#pragma omp parallel for num_threads(nt) schedule(static) if (n >= PAR_MIN)
    for (long long b = 0; b < nblk; b++) {
        for (size_t h = B / 2; h >= 1; h >>= 1) stage_block(a + (size_t)b * B, B, h, n / (2 * h), n / 2, T, 0, inv);
    }
}

static void bit_reverse(fe *a, int k, int nt) {
    long long n = (long long)1 << k;
#pragma omp parallel for num_threads(nt) schedule(static) if (n >= (long long)PAR_MIN)
    for (long long i = 0; i < n; i++) {
        size_t j = bitrev((size_t)i, k);
        if ((size_t)i < j) {
            fe t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
}

int zkp_ntt(uint64_t *values, int log_n, int inverse, const uint64_t *coset, int nthreads) {
    if (log_n < 0 || log_n > MAX_LOG) return -2;
    fe *a = (fe *)values;
    size_t n = (size_t)1 << log_n;
    int nt = nthreads < 1 ? 1 : nthreads;
    const fe *fwd;
    if (get_tables(log_n, &fwd, NULL, nt)) return -1;
    fe g;
    if (coset) {
        fe gs;
        memcpy(&gs, coset, sizeof(fe));
        while (fe_geq(&gs, &FR_P)) fr_sub(&gs, &gs, &FR_P);
        fr_mul(&g, &gs, &FR_R2);
    }
    if (!inverse) {
        if (coset) scale_powers(a, n, &FR_ONE, &g, nt);
        if (log_n == 0) return 0;
        bit_reverse(a, log_n, nt);
        dit(a, log_n, fwd, 0, nt);
    } else {
        if (log_n > 0) {
            bit_reverse(a, log_n, nt);
            dit(a, log_n, fwd, 1, nt);
        }
        fe ninv = from_int(n);
        fr_inv(&ninv, &ninv);
        fe gi = FR_ONE;
        if (coset) fr_inv(&gi, &g); /* g = 0 has no inverse: fr_inv gives 0, as the Python side */
        scale_powers(a, n, &ninv, &gi, nt);
    }
    return 0;
}

/* The key's coefficient records, as snarkjs stores them (44 bytes, packed, little-endian):
 * matrix u32 (0 = A, 1 = B), constraint u32, signal u32, value c * R^2 mod r (8 x u32). */
#define COEFF_RECORD 44
/* Row locks for the scatter: striped, so two threads collide only when they touch rows
 * congruent mod QLOCKS at the same moment (records come grouped by row: rarely). */
#define QLOCKS 4096

long long zkp_coeffs_check(const uint8_t *records, size_t n_records, size_t n_vars, size_t n_rows) {
    for (size_t i = 0; i < n_records; i++) {
        uint32_t h[3];
        memcpy(h, records + i * COEFF_RECORD, sizeof h);
        if (h[0] > 1 || h[1] >= n_rows || h[2] >= n_vars) return (long long)i;
    }
    return -1;
}

/* *dst += *x under the stripe lock *lk (another thread may add to the same row). */
static inline void scatter_add(fe *dst, const fe *x, unsigned char *lk) {
    while (__atomic_test_and_set(lk, __ATOMIC_ACQUIRE)) {
    }
    fr_add(dst, dst, x);
    __atomic_clear(lk, __ATOMIC_RELEASE);
}

int zkp_quotient(const uint8_t *records, size_t n_records, const uint64_t *witness, size_t n_vars, int log_n,
                 uint64_t *out, int nthreads) {
    if (log_n < 0 || log_n >= MAX_LOG) return -2;
    size_t n = (size_t)1 << log_n;
    int nt = nthreads < 1 ? 1 : nthreads;
    const fe *fwd, *cos;
    if (get_tables(log_n, &fwd, &cos, nt)) return -1;
    const fe *w = (const fe *)witness;
    /* a, b: calloc'ed, so untouched rows cost no memory until written */
    fe *a = (fe *)calloc(n, sizeof(fe)), *b = (fe *)calloc(n, sizeof(fe)), *c = (fe *)out;
    unsigned char *locks = (unsigned char *)calloc(QLOCKS, 1);
    if (!a || !b || !locks) {
        free(a);
        free(b);
        free(locks);
        return -1;
    }
    long long N = (long long)n, NR = (long long)n_records;
    int bad = 0;

    /* a = A.w, b = B.w straight from the key's records (no sorted copy of the matrices: the
     * records stay where the key is, memory-mapped). value c R^2 times standard w is c w R, the
     * Montgomery form of c w: a and b come out in Montgomery form, and stay so until the end. */
#pragma omp parallel num_threads(nt) if (n_records >= PAR_MIN) reduction(| : bad)
    {
        long long lo = 0, hi = NR;
#ifdef _OPENMP
        int tid = omp_get_thread_num(), tn = omp_get_num_threads();
        lo = NR * tid / tn;
        hi = NR * (tid + 1) / tn;
#endif
        /* Records of one row come together in the keys snarkjs and we write: sum a run of them
         * privately and take the row's lock once per run, not once per record. */
        fe run = {{0, 0, 0, 0}};
        fe *run_dst = NULL;
        size_t run_row = 0;
        for (long long i = lo; i < hi; i++) {
            const uint8_t *rec = records + (size_t)i * COEFF_RECORD;
            uint32_t h[3];
            fe v, t;
            memcpy(h, rec, sizeof h);
            if (h[0] > 1 || h[1] >= n || h[2] >= n_vars) {
                bad = 1;
                continue;
            }
            memcpy(&v, rec + 12, sizeof v);
            while (fe_geq(&v, &FR_P)) fr_sub(&v, &v, &FR_P);
            fr_mul(&t, &v, &w[h[2]]);
            fe *dst = h[0] ? &b[h[1]] : &a[h[1]];
            if (dst == run_dst) {
                fr_add(&run, &run, &t);
                continue;
            }
            if (run_dst) scatter_add(run_dst, &run, &locks[run_row & (QLOCKS - 1)]);
            run_dst = dst;
            run_row = h[1];
            run = t;
        }
        if (run_dst) scatter_add(run_dst, &run, &locks[run_row & (QLOCKS - 1)]);
    }
    free(locks);
    if (bad) {
        free(a);
        free(b);
        return -3;
    }

    /* c = a * b (Montgomery: aR * bR -> abR) */
#pragma omp parallel for num_threads(nt) schedule(static) if (n >= PAR_MIN)
    for (long long r = 0; r < N; r++) fr_mul(&c[r], &a[r], &b[r]);

    /* each of a, b, c: evaluations on <w_n> -> evaluations on w_2n <w_n> (linear: the Montgomery
     * factor R rides along) */
    fe *vecs[3] = {a, b, c};
    for (int v = 0; v < 3; v++) {
        fe *x = vecs[v];
        if (log_n > 0) dif(x, log_n, fwd, 1, nt);
#pragma omp parallel for num_threads(nt) schedule(static) if (n >= PAR_MIN)
        for (long long i = 0; i < N; i++) fr_mul(&x[i], &x[i], &cos[i]);
        if (log_n > 0) dit(x, log_n, fwd, 0, nt);
    }

    /* h = a * b - c = hR, written over c (= out) in standard form: one reduction by 1 */
    static const fe one = {{1, 0, 0, 0}};
#pragma omp parallel for num_threads(nt) schedule(static) if (n >= PAR_MIN)
    for (long long i = 0; i < N; i++) {
        fe t;
        fr_mul(&t, &a[i], &b[i]);
        fr_sub(&t, &t, &c[i]);
        fr_mul(&c[i], &t, &one);
    }
    free(a);
    free(b);
    return 0;
}

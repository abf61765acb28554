/* Powers-of-tau kernels over one curve group, instantiated like curve_impl.h (msm.c includes
 * this file right after each curve_impl.h, with the same CURVE/FT/FPFX/FONE macros):
 *
 *   mul_each  out[i] = scalars[i] * points[i]: a contribution multiplies every power by its own
 *             scalar (first * inc^i), so neither the fixed-base table nor one shared scalar applies.
 *             Scalars are laid out as the twiddles below (G1: GLV-split).
 *   ifft      the inverse FFT of 2^log_n points in place: the Lagrange basis points that
 *             ``prepare phase2`` derives from tau^i G without knowing tau. Radix-2 decimation in
 *             time; every stage's butterflies run in parallel in XYZZ and are normalised
 *             together (one inversion per 4096 points), so each twiddle product starts from an
 *             affine point and the window table is built with mixed additions. Twiddles: G2
 *             takes w^-j (4 limbs each); G1 (PTAU_GLV_BETA defined) takes each one's GLV split
 *             w^-j = k1 + k2 lambda, as |k1|, |k2| (4 limbs each) and a word of sign bits, so
 *             a product is 130 doublings instead of 255.
 */

#ifdef PTAU_GLV_BETA
#define PTAU_TW_WORDS 9
#else
#define PTAU_TW_WORDS 4
#endif

#define F(op) ZKP_CAT(FPFX, op)
#define G(name) ZKP_CAT(CURVE, name)


/* r = k * p for a scalar k in the layout above (a twiddle, or a contribution's first * tau^i). */
static inline void G(mul_twiddle)(G(xyzz) *r, const G(aff) *p, const u64 *tw) {
#ifdef PTAU_GLV_BETA
    enum { C = 5, W = 26, D = 16 }; /* 26 windows of 5 bits cover |k_i| < 2^129 */
    G(set_inf)(r);
    if (G(aff_is_inf)(p)) return;
    G(xyzz) t1[D], t2[D];
    G(window_table)(t1, p);
    for (int d = 0; d < D; d++) {
        t2[d] = t1[d];
        F(mul)(&t2[d].x, &t2[d].x, &PTAU_GLV_BETA); /* phi(x, y) = (beta x, y) = lambda (x, y) */
    }
    const fe *k1 = (const fe *)tw, *k2 = (const fe *)(tw + 4);
    const int neg1 = (int)(tw[8] & 1), neg2 = (int)((tw[8] >> 1) & 1);
    for (int w = W - 1; w >= 0; w--) {
        for (int j = 0; j < C; j++) G(dbl)(r);
        G(add_digit)(r, t1, booth_digit(k1, w, C), neg1);
        G(add_digit)(r, t2, booth_digit(k2, w, C), neg2);
    }
#else
    G(mul_var)(r, p, (const fe *)tw);
#endif
}

typedef struct {
    const G(aff) *in;
    const u64 *s;
} G(each_ctx);

static void G(each_chunk)(G(xyzz) *acc, size_t lo, size_t hi, const void *vctx) {
    const G(each_ctx) *x = (const G(each_ctx) *)vctx;
    for (size_t i = lo; i < hi; i++) G(mul_twiddle)(&acc[i - lo], &x->in[i], x->s + i * PTAU_TW_WORDS);
}

/* Scalars below r in the layout above (the caller reduces them). */
int ZKP_CAT(zkp_mul_each, CURVE)(const uint64_t *points, const uint64_t *scalars, size_t n, int nthreads,
                                  uint64_t *out) {
    G(each_ctx) ctx = {(const G(aff) *)points, (const u64 *)scalars};
    return G(chunked)((G(aff) *)out, n, 1024, nthreads, G(each_chunk), &ctx);
}

int ZKP_CAT(zkp_ifft, CURVE)(uint64_t *points, int log_n, const uint64_t *twiddles, const uint64_t *n_inv,
                              int nthreads) {
    G(aff) *a = (G(aff) *)points;
    const u64 *tw = (const u64 *)twiddles;
    const size_t n = (size_t)1 << log_n, CH = 4096;
    const int T = nthreads < 1 ? 1 : nthreads;
    for (size_t i = 1, j = 0; i < n; i++) { /* bit-reversal permutation */
        size_t bit = n >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j |= bit;
        if (i < j) {
            G(aff) t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
    G(xyzz) *tmp = n > 1 ? (G(xyzz) *)malloc(n * sizeof(G(xyzz))) : NULL;
    FT *scratch = n > 1 ? (FT *)malloc((size_t)T * CH * sizeof(FT)) : NULL;
    if (n > 1 && (!tmp || !scratch)) {
        free(tmp);
        free(scratch);
        return -1;
    }
    for (int s = 1; s <= log_n; s++) {
        const size_t m = (size_t)1 << (s - 1), stride = n >> s;
#pragma omp parallel for num_threads(T) schedule(dynamic, 64)
        for (long k = 0; k < (long)(n / 2); k++) {
            const size_t j = (size_t)k & (m - 1), i0 = ((size_t)k >> (s - 1)) * 2 * m + j, i1 = i0 + m;
            G(xyzz) t, u;
            if (j == 0) {
                G(set_inf)(&t);
                if (!G(aff_is_inf)(&a[i1])) G(madd)(&t, &a[i1], 0);
            } else {
                G(mul_twiddle)(&t, &a[i1], tw + j * stride * PTAU_TW_WORDS);
            }
            u = t;
            F(neg)(&u.y, &u.y);
            if (!G(aff_is_inf)(&a[i0])) {
                G(madd)(&t, &a[i0], 0);
                G(madd)(&u, &a[i0], 0);
            }
            tmp[i0] = t;
            tmp[i1] = u;
        }
        const long nch = (long)((n + CH - 1) / CH);
#pragma omp parallel for num_threads(T) schedule(dynamic)
        for (long c = 0; c < nch; c++) {
            size_t lo = (size_t)c * CH, hi = lo + CH < n ? lo + CH : n;
            G(batch_to_affine)(a + lo, tmp + lo, hi - lo, scratch + (size_t)zkp_thread_id() * CH);
        }
    }
    free(tmp);
    free(scratch);
    const fe *ni = (const fe *)n_inv;
    if (ni->l[0] == 1 && (ni->l[1] | ni->l[2] | ni->l[3]) == 0) return 0;
    return G(scale)(a, a, ni, n, nthreads);
}

#undef PTAU_TW_WORDS
#undef F
#undef G

/* Curve arithmetic and Pippenger MSM for y^2 = x^3 + b (a = 0), written once and instantiated
 * for G1 (over Fq) and G2 (over Fq2) by including this file twice with different macros
 * (the C stand-in for sppark's templates):
 *
 *   CURVE  name prefix (g1, g2)          FT    coordinate type (fe, fe2)
 *   FPFX   field function prefix (fq, fq2)  FONE  statement setting an FT to Montgomery one
 *
 * Points: affine {x, y} (the .zkey layout, Montgomery form; all-zero = infinity, which is not
 * on the curve since b != 0) and XYZZ {X, Y, ZZ, ZZZ} with x = X/ZZ, y = Y/ZZZ, ZZ = 0 for
 * infinity. XYZZ mixed addition costs 8M + 2S against 8M + 3S for Jacobian and needs no
 * doubling-specific tricks in the bucket loop (formulas: hyperelliptic.org EFD, "xyzz",
 * madd-2008-s, add-2008-s, dbl-2008-s-1, mdbl-2008-s-1).
 */

#define ZKP_CAT_(a, b) a##_##b
#define ZKP_CAT(a, b) ZKP_CAT_(a, b)
#define F(op) ZKP_CAT(FPFX, op)
#define G(name) ZKP_CAT(CURVE, name)

typedef struct {
    FT x, y;
} G(aff);

typedef struct {
    FT x, y, zz, zzz;
} G(xyzz);

ZKP_INLINE void G(set_inf)(G(xyzz) *p) { memset(p, 0, sizeof(*p)); }
ZKP_INLINE int G(is_inf)(const G(xyzz) *p) { return F(is_zero)(&p->zz); }
ZKP_INLINE int G(aff_is_inf)(const G(aff) *p) { return F(is_zero)(&p->x) && F(is_zero)(&p->y); }

/* r = 2 * (x, y) for an affine point (mdbl-2008-s-1). */
static void G(dbl_aff)(G(xyzz) *r, const FT *x, const FT *y) {
    FT u, v, w, s, m, t;
    F(dbl)(&u, y);
    F(sqr)(&v, &u);
    F(mul)(&w, &u, &v);
    F(mul)(&s, x, &v);
    F(sqr)(&t, x);
    F(dbl)(&m, &t);
    F(add)(&m, &m, &t); /* M = 3 x^2 */
    F(sqr)(&t, &m);
    F(sub)(&t, &t, &s);
    F(sub)(&r->x, &t, &s); /* X3 = M^2 - 2S */
    F(sub)(&t, &s, &r->x);
    F(mul)(&t, &m, &t);
    F(mul)(&u, &w, y);
    F(sub)(&r->y, &t, &u); /* Y3 = M (S - X3) - W y */
    r->zz = v;
    r->zzz = w;
}

/* p = 2p (dbl-2008-s-1). */
static inline void G(dbl)(G(xyzz) *p) {
    if (G(is_inf)(p)) return;
    FT u, v, w, s, m, t;
    F(dbl)(&u, &p->y);
    F(sqr)(&v, &u);
    F(mul)(&w, &u, &v);
    F(mul)(&s, &p->x, &v);
    F(sqr)(&t, &p->x);
    F(dbl)(&m, &t);
    F(add)(&m, &m, &t);
    F(sqr)(&t, &m);
    F(sub)(&t, &t, &s);
    F(sub)(&t, &t, &s); /* X3 */
    F(sub)(&s, &s, &t);
    F(mul)(&s, &m, &s);
    F(mul)(&u, &w, &p->y);
    F(sub)(&p->y, &s, &u);
    p->x = t;
    F(mul)(&p->zz, &p->zz, &v);
    F(mul)(&p->zzz, &p->zzz, &w);
}

/* p += (q.x, neg ? -q.y : q.y), q affine and not infinity (madd-2008-s). */
static inline void G(madd)(G(xyzz) *p, const G(aff) *q, int neg) {
    FT y2;
    if (neg)
        F(neg)(&y2, &q->y);
    else
        y2 = q->y;
    if (G(is_inf)(p)) {
        p->x = q->x;
        p->y = y2;
        FONE(p->zz);
        FONE(p->zzz);
        return;
    }
    FT u2, s2, P, R, PP, PPP, Q, t;
    F(mul)(&u2, &q->x, &p->zz);
    F(mul)(&s2, &y2, &p->zzz);
    F(sub)(&P, &u2, &p->x);
    F(sub)(&R, &s2, &p->y);
    if (__builtin_expect(F(is_zero)(&P), 0)) {
        if (F(is_zero)(&R))
            G(dbl_aff)(p, &q->x, &y2);
        else
            G(set_inf)(p);
        return;
    }
    F(sqr)(&PP, &P);
    F(mul)(&PPP, &P, &PP);
    F(mul)(&Q, &p->x, &PP);
    F(sqr)(&t, &R);
    F(sub)(&t, &t, &PPP);
    F(sub)(&t, &t, &Q);
    F(sub)(&p->x, &t, &Q); /* X3 = R^2 - PPP - 2Q */
    F(sub)(&t, &Q, &p->x);
    F(mul)(&t, &R, &t);
    F(mul)(&u2, &p->y, &PPP);
    F(sub)(&p->y, &t, &u2); /* Y3 = R (Q - X3) - Y1 PPP */
    F(mul)(&p->zz, &p->zz, &PP);
    F(mul)(&p->zzz, &p->zzz, &PPP);
}

/* p += q, both XYZZ (add-2008-s). */
static inline void G(add)(G(xyzz) *p, const G(xyzz) *q) {
    if (G(is_inf)(q)) return;
    if (G(is_inf)(p)) {
        *p = *q;
        return;
    }
    FT u1, u2, s1, s2, P, R, PP, PPP, Q, t;
    F(mul)(&u1, &p->x, &q->zz);
    F(mul)(&u2, &q->x, &p->zz);
    F(mul)(&s1, &p->y, &q->zzz);
    F(mul)(&s2, &q->y, &p->zzz);
    F(sub)(&P, &u2, &u1);
    F(sub)(&R, &s2, &s1);
    if (__builtin_expect(F(is_zero)(&P), 0)) {
        if (F(is_zero)(&R))
            G(dbl)(p);
        else
            G(set_inf)(p);
        return;
    }
    F(sqr)(&PP, &P);
    F(mul)(&PPP, &P, &PP);
    F(mul)(&Q, &u1, &PP);
    F(sqr)(&t, &R);
    F(sub)(&t, &t, &PPP);
    F(sub)(&t, &t, &Q);
    F(sub)(&p->x, &t, &Q);
    F(sub)(&t, &Q, &p->x);
    F(mul)(&t, &R, &t);
    F(mul)(&u1, &s1, &PPP);
    F(sub)(&p->y, &t, &u1);
    F(mul)(&p->zz, &p->zz, &q->zz);
    F(mul)(&p->zz, &p->zz, &PP);
    F(mul)(&p->zzz, &p->zzz, &q->zzz);
    F(mul)(&p->zzz, &p->zzz, &PPP);
}

/* XYZZ -> affine (Montgomery form); returns 0 for infinity. ZZ^3 = ZZZ^2 for every point the
 * formulas produce, so one inversion serves both coordinates: 1/ZZ = ZZ^2 / ZZZ^2. */
static inline int G(to_affine)(G(aff) *r, const G(xyzz) *p) {
    if (G(is_inf)(p)) {
        memset(r, 0, sizeof(*r));
        return 0;
    }
    FT izzz, izz, t;
    F(inv)(&izzz, &p->zzz);
    F(sqr)(&t, &izzz);
    F(sqr)(&izz, &p->zz);
    F(mul)(&izz, &izz, &t);
    F(mul)(&r->x, &p->x, &izz);
    F(mul)(&r->y, &p->y, &izzz);
    return 1;
}

/* r = k * p for a small public k (double-and-add; tests and benchmark point generation). */
static void G(mul_u64)(G(xyzz) *r, const G(aff) *p, u64 k) {
    G(set_inf)(r);
    if (G(aff_is_inf)(p)) return;
    for (int b = 63; b >= 0; b--) {
        G(dbl)(r);
        if ((k >> b) & 1) G(madd)(r, p, 0);
    }
}

/* Batch normalisation (Montgomery's trick: one inversion for the whole array, 3 extra
 * multiplications per point). Infinity becomes the all-zero affine encoding. scratch holds n
 * FT values. */
static void G(batch_to_affine)(G(aff) *out, const G(xyzz) *in, size_t n, FT *scratch) {
    FT acc;
    FONE(acc);
    for (size_t i = 0; i < n; i++) {
        scratch[i] = acc;
        if (!G(is_inf)(&in[i])) F(mul)(&acc, &acc, &in[i].zzz);
    }
    F(inv)(&acc, &acc);
    for (size_t i = n; i-- > 0;) {
        if (G(is_inf)(&in[i])) {
            memset(&out[i], 0, sizeof(out[i]));
            continue;
        }
        FT izzz, izz, t;
        F(mul)(&izzz, &acc, &scratch[i]); /* 1/ZZZ_i */
        F(mul)(&acc, &acc, &in[i].zzz);
        F(sqr)(&t, &izzz);
        F(sqr)(&izz, &in[i].zz);
        F(mul)(&izz, &izz, &t); /* 1/ZZ = ZZ^2 / ZZZ^2 */
        F(mul)(&out[i].x, &in[i].x, &izz);
        F(mul)(&out[i].y, &in[i].y, &izzz);
    }
}

/* out[i] = start + i * step, i < n (distinct points for tests and benchmarks, fast). */
static int G(series)(G(aff) *out, const G(aff) *start, const G(aff) *step, size_t n, int nthreads) {
    int T = nthreads < 1 ? 1 : nthreads;
    if ((size_t)T > n / 1024 + 1) T = (int)(n / 1024 + 1);
    size_t per = (n + T - 1) / T;
    int failed = 0;
#pragma omp parallel num_threads(T)
    {
        int tid = zkp_thread_id();
        size_t lo = (size_t)tid * per, hi = lo + per;
        if (hi > n) hi = n;
        if (lo > n) lo = n;
        G(xyzz) *tmp = (G(xyzz) *)malloc((hi - lo + 1) * sizeof(G(xyzz)));
        FT *scratch = (FT *)malloc((hi - lo + 1) * sizeof(FT));
        if (tmp && scratch) {
            G(xyzz) cur;
            G(mul_u64)(&cur, step, (u64)lo);
            if (!G(aff_is_inf)(start)) G(madd)(&cur, start, 0);
            for (size_t i = lo; i < hi; i++) {
                tmp[i - lo] = cur;
                if (!G(aff_is_inf)(step)) G(madd)(&cur, step, 0);
            }
            G(batch_to_affine)(out + lo, tmp, hi - lo, scratch);
        } else {
#pragma omp atomic write
            failed = 1;
        }
        free(tmp);
        free(scratch);
    }
    return failed ? -1 : 0;
}

/* The input of one MSM: n virtual points, the first n0 from b0 and the rest from b1 (an
 * endomorphism's images, see glv.h), each with a scalar s[i] < 2^(bits-1) and, if neg is not
 * NULL, a sign neg[i] that negates its point. With a precomputed table (tw > 1; see
 * G(table_build)) row j holds 2^(j rounds c) times every virtual point, so one pass over the
 * points handles tw windows (w, w + rounds, ...) into one set of buckets: rounds = W / tw
 * passes, bucket reductions and Horner steps instead of W. */
typedef struct {
    const G(aff) *b0, *b1;
    const fe *s;
    const uint8_t *neg;
    size_t n0, n;
    int bits;
    const G(aff) *table; /* tw rows of n points, row 0 the points themselves; NULL: tw = 1 */
    int tw;
} G(msm_in);

ZKP_INLINE const G(aff) *G(in_base)(const G(msm_in) *in, size_t i) {
    return i < in->n0 ? &in->b0[i] : &in->b1[i - in->n0];
}

ZKP_INLINE int G(in_neg)(const G(msm_in) *in, size_t i) { return in->neg ? in->neg[i] : 0; }

/* Passes over the points for W windows: W without a table, ceil(W / tw) with one. */
ZKP_INLINE int G(in_rounds)(const G(msm_in) *in, int W) { return in->table ? (W + in->tw - 1) / in->tw : W; }

/* The j-th (point, window) of virtual point i in pass w: the window index (W or more when
 * there is none) and the base it multiplies. */
ZKP_INLINE const G(aff) *G(in_term)(const G(msm_in) *in, size_t i, int w, int j, int rounds, int *wj) {
    if (!in->table) {
        *wj = w;
        return G(in_base)(in, i);
    }
    *wj = w + j * rounds;
    return &in->table[(size_t)j * in->n + i];
}

/* Pippenger over the points [lo, hi) for one window, XYZZ buckets: bucket accumulation with
 * signed (Booth) or unsigned digits, then the running-sum reduction sum_b b * bucket[b]. Used
 * when the window is small (few buckets): the batched affine path below needs many buckets to
 * batch. */
static void G(msm_window_xyzz)(G(xyzz) *out, G(xyzz) *buckets, const G(msm_in) *in, size_t lo, size_t hi, int w,
                               const msm_cfg *cfg) {
    const int c = cfg->c;
    const size_t nb = msm_buckets(c, cfg->sgn);
    memset(buckets, 0, nb * sizeof(G(xyzz)));
    int used = 0;
    const int tw = in->table ? in->tw : 1, W = msm_windows(in->bits, c, cfg->sgn), rounds = G(in_rounds)(in, W);
    for (size_t i = lo; i < hi; i++) {
        for (int j = 0; j < tw; j++) {
            int wj;
            const G(aff) *q = G(in_term)(in, i, w, j, rounds, &wj);
            if (wj >= W) break;
            int d = msm_digit(&in->s[i], wj, c, cfg->sgn);
            if (d == 0) continue;
            if (__builtin_expect(G(aff_is_inf)(q), 0)) continue;
            int neg = (d < 0) ^ G(in_neg)(in, i);
            G(madd)(&buckets[(d < 0 ? -d : d) - 1], q, neg);
            used = 1;
        }
    }
    G(set_inf)(out);
    if (!used) return;
    G(xyzz) running;
    G(set_inf)(&running);
    for (size_t b = nb; b-- > 0;) {
        G(add)(&running, &buckets[b]);
        G(add)(out, &running);
    }
}

/* Per-thread state of the batched affine path. */
typedef struct {
    G(aff) *abk;     /* affine buckets */
    uint8_t *full;   /* abk[b] holds a point */
    uint32_t *stamp; /* batch number that last queued an addition to bucket b */
    G(xyzz) *ovf;    /* XYZZ side buckets: collisions within a batch, P + (+-P) */
    uint8_t *oused;  /* ovf[b] holds a point (a flag array is cleared per window, not ovf) */
    uint32_t cur;    /* current batch number */
    size_t k;        /* queued additions */
    uint32_t qb[MSM_BATCH];
    const G(aff) *qp[MSM_BATCH];
    uint8_t qneg[MSM_BATCH];
    FT den[MSM_BATCH], pref[MSM_BATCH];
    size_t np; /* pending: additions whose bucket was busy in the batch being filled */
    uint32_t pb[MSM_BATCH];
    const G(aff) *pp[MSM_BATCH];
    uint8_t pneg[MSM_BATCH];
    int simd;   /* the vector flush runs (CURVE_SIMD_FLUSH): buckets are in its field form */
    void *sbuf; /* its scratch */
} G(actx);

/* ovf[b] += +-q; a side bucket is set, not added to, on first use. */
static inline void G(ovf_add)(G(actx) *x, uint32_t b, const G(aff) *q, int neg) {
    if (x->oused[b]) {
        G(madd)(&x->ovf[b], q, neg);
        return;
    }
    G(set_inf)(&x->ovf[b]);
    G(madd)(&x->ovf[b], q, neg);
    x->oused[b] = 1;
}

#ifdef CURVE_SIMD_FLUSH
/* A vector version of the flush below, defined by msm.c where the build has it (AVX-512 IFMA,
 * msm_ifma.h) and used where the CPU has it too. While x->simd is set the affine buckets hold its field form (Montgomery
 * with R' = 2^260 instead of 2^256): CURVE_SIMD_TO converts a point's coordinate when it
 * first fills a bucket, CURVE_SIMD_FROM every bucket at the window's end. The side buckets
 * and the queued points stay in the usual form. */
static void CURVE_SIMD_FLUSH(G(actx) *x);
static void CURVE_SIMD_TO(FT *r, const FT *a);
static void CURVE_SIMD_FROM(FT *r, const FT *a);
static size_t CURVE_SIMD_BUF_BYTES(void);
#endif

/* Apply the queued additions abk[b] += +-P with one shared inversion (Montgomery's trick):
 * an affine addition with a known inverse costs 3 multiplications and the trick 3 more per
 * element, against 10 for an XYZZ mixed addition.
 *
 * The multiplication's latency is about 1.5x its throughput here, and one prefix chain, or one
 * addition's three dependent products, would run at the latency: the prefix products run as two
 * interleaved chains (even and odd positions) joined by the one inversion, and the additions
 * are finished two at a time, each stage written for both before the next, so that independent
 * products sit next to each other within the out-of-order window. Queued additions never share
 * a bucket (the stamp check), so the two are independent. */
static void G(flush)(G(actx) *x) {
#ifdef CURVE_SIMD_FLUSH
    if (x->simd) {
        CURVE_SIMD_FLUSH(x);
        return;
    }
#endif
    FT acc[2];
    FONE(acc[0]);
    FONE(acc[1]);
    size_t n = 0; /* additions kept, compacted to the front of the queue */
    for (size_t j = 0; j < x->k; j++) {
        const G(aff) *q = x->qp[j];
        const uint32_t b = x->qb[j];
        const uint8_t neg = x->qneg[j];
        FT d;
        F(sub)(&d, &q->x, &x->abk[b].x);
        if (__builtin_expect(F(is_zero)(&d), 0)) {
            /* q = +-B: doubling or cancellation; the side bucket takes q instead */
            G(ovf_add)(x, b, q, neg);
            continue;
        }
        x->qb[n] = b;
        x->qp[n] = q;
        x->qneg[n] = neg;
        x->den[n] = d;
        x->pref[n] = acc[n & 1];
        F(mul)(&acc[n & 1], &acc[n & 1], &d);
        n++;
    }
    FT t, ia[2];
    F(mul)(&t, &acc[0], &acc[1]);
    F(inv)(&t, &t);
    F(mul)(&ia[0], &t, &acc[1]);
    F(mul)(&ia[1], &t, &acc[0]);
    for (size_t j = n; j > 0;) {
        const int m = j >= 2 ? 2 : 1;
        j -= (size_t)m;
        /* positions j + m - 1 - u, u < m: the first is on chain (j + m - 1) & 1, the second on the other */
        size_t e[2];
        G(aff) *B[2];
        const G(aff) *q[2];
        FT inv[2], lam[2], y2[2], x3[2];
        for (int u = 0; u < m; u++) {
            e[u] = j + (size_t)(m - 1 - u);
            B[u] = &x->abk[x->qb[e[u]]];
            q[u] = x->qp[e[u]];
        }
        for (int u = 0; u < m; u++) F(mul)(&inv[u], &ia[e[u] & 1], &x->pref[e[u]]);
        for (int u = 0; u < m; u++) F(mul)(&ia[e[u] & 1], &ia[e[u] & 1], &x->den[e[u]]);
        for (int u = 0; u < m; u++) {
            if (x->qneg[e[u]])
                F(neg)(&y2[u], &q[u]->y);
            else
                y2[u] = q[u]->y;
            F(sub)(&y2[u], &y2[u], &B[u]->y);
        }
        for (int u = 0; u < m; u++) F(mul)(&lam[u], &y2[u], &inv[u]);
        for (int u = 0; u < m; u++) F(sqr)(&x3[u], &lam[u]);
        for (int u = 0; u < m; u++) {
            F(sub)(&x3[u], &x3[u], &B[u]->x);
            F(sub)(&x3[u], &x3[u], &q[u]->x); /* x3 = lam^2 - x1 - x2 */
            F(sub)(&y2[u], &B[u]->x, &x3[u]);
        }
        for (int u = 0; u < m; u++) F(mul)(&y2[u], &lam[u], &y2[u]);
        for (int u = 0; u < m; u++) {
            F(sub)(&B[u]->y, &y2[u], &B[u]->y); /* y3 = lam (x1 - x3) - y1 */
            B[u]->x = x3[u];
        }
    }
    x->k = 0;
    x->cur++;
}

/* Move pending additions into the (just flushed) batch, one per bucket; the rest stay pending. */
static void G(requeue)(G(actx) *x) {
    size_t keep = 0;
    for (size_t i = 0; i < x->np; i++) {
        const uint32_t b = x->pb[i];
        if (x->stamp[b] == x->cur || x->k == MSM_BATCH) {
            x->pb[keep] = b;
            x->pp[keep] = x->pp[i];
            x->pneg[keep] = x->pneg[i];
            keep++;
            continue;
        }
        x->stamp[b] = x->cur;
        x->qb[x->k] = b;
        x->qp[x->k] = x->pp[i];
        x->qneg[x->k] = x->pneg[i];
        x->k++;
    }
    x->np = keep;
}

/* abk[b] += +-q, queued for the next shared inversion. A bucket takes one addition per batch
 * (its new x is needed for the next one), so a point whose bucket is busy waits for the next
 * batch: an affine addition there costs about half the XYZZ mixed addition a side bucket would
 * take. Waiting is capped at one batch's worth; beyond that (many points in one bucket, as
 * with equal scalars) the side bucket takes them. */
static inline void G(queue)(G(actx) *x, uint32_t b, const G(aff) *q, uint8_t neg) {
    if (x->stamp[b] == x->cur) {
        if (x->np < MSM_BATCH) {
            x->pb[x->np] = b;
            x->pp[x->np] = q;
            x->pneg[x->np] = neg;
            x->np++;
        } else {
            G(ovf_add)(x, b, q, neg);
        }
        return;
    }
    x->stamp[b] = x->cur;
    x->qb[x->k] = b;
    x->qp[x->k] = q;
    x->qneg[x->k] = neg;
    /* the flush reads and writes this bucket up to a batch later: fetch it now, so that a
     * bucket array beyond the L2 cache (windows of 15-16 bits) costs no miss there */
    __builtin_prefetch(&x->abk[b], 1, 3);
    x->k++;
    while (x->k == MSM_BATCH) {
        G(flush)(x);
        G(requeue)(x);
    }
}

/* The end of a window: drain the batch and the pending additions. Once too few remain to pay
 * for an inversion (a few buckets hit many times), the side buckets take them. */
static void G(drain)(G(actx) *x) {
    while (x->np) {
        if (x->k) G(flush)(x);
        G(requeue)(x);
        if (x->k < MSM_BATCH / 16) {
            for (size_t i = 0; i < x->np; i++) G(ovf_add)(x, x->pb[i], x->pp[i], x->pneg[i]);
            x->np = 0;
        }
    }
    if (x->k) G(flush)(x);
}

/* One window over [lo, hi) with affine buckets updated in batches (G(queue)). */
static void G(msm_window_affine)(G(xyzz) *out, G(actx) *x, const G(msm_in) *in, size_t lo, size_t hi, int w,
                                 const msm_cfg *cfg) {
    const int c = cfg->c;
    const size_t nb = msm_buckets(c, cfg->sgn);
    memset(x->full, 0, nb);
    memset(x->oused, 0, nb);
    int used = 0;
    const int tw = in->table ? in->tw : 1, W = msm_windows(in->bits, c, cfg->sgn), rounds = G(in_rounds)(in, W);
    for (size_t i = lo; i < hi; i++) {
        for (int j = 0; j < tw; j++) {
            int wj;
            const G(aff) *q = G(in_term)(in, i, w, j, rounds, &wj);
            if (wj >= W) break;
            int d = msm_digit(&in->s[i], wj, c, cfg->sgn);
            if (d == 0) continue;
            if (__builtin_expect(G(aff_is_inf)(q), 0)) continue;
            int neg = (d < 0) ^ G(in_neg)(in, i);
            uint32_t b = (uint32_t)(d < 0 ? -d : d) - 1;
            used = 1;
            if (!x->full[b]) {
                x->abk[b].x = q->x;
                if (neg)
                    F(neg)(&x->abk[b].y, &q->y);
                else
                    x->abk[b].y = q->y;
#ifdef CURVE_SIMD_FLUSH
                if (x->simd) {
                    CURVE_SIMD_TO(&x->abk[b].x, &x->abk[b].x);
                    CURVE_SIMD_TO(&x->abk[b].y, &x->abk[b].y);
                }
#endif
                x->full[b] = 1;
            } else {
                G(queue)(x, b, q, (uint8_t)neg);
            }
        }
    }
    G(drain)(x);
    G(set_inf)(out);
    if (!used) return;
#ifdef CURVE_SIMD_FLUSH
    if (x->simd)
        for (size_t b = 0; b < nb; b++) {
            if (!x->full[b]) continue;
            CURVE_SIMD_FROM(&x->abk[b].x, &x->abk[b].x);
            CURVE_SIMD_FROM(&x->abk[b].y, &x->abk[b].y);
        }
#endif
    G(xyzz) running;
    G(set_inf)(&running);
    for (size_t b = nb; b-- > 0;) {
        if (x->full[b]) G(madd)(&running, &x->abk[b], 0);
        if (x->oused[b]) G(add)(&running, &x->ovf[b]);
        G(add)(out, &running);
    }
}

static G(actx) *G(actx_new)(size_t nb) {
    G(actx) *x = (G(actx) *)calloc(1, sizeof(G(actx)));
    if (!x) return NULL;
    x->abk = (G(aff) *)malloc(nb * sizeof(G(aff)));
    x->full = (uint8_t *)malloc(nb);
    x->stamp = (uint32_t *)calloc(nb, sizeof(uint32_t));
    x->ovf = (G(xyzz) *)malloc(nb * sizeof(G(xyzz)));
    x->oused = (uint8_t *)malloc(nb);
    x->cur = 1;
#ifdef CURVE_SIMD_FLUSH
    if (zkp_ifma_usable()) {
        x->sbuf = aligned_alloc(64, CURVE_SIMD_BUF_BYTES());
        x->simd = x->sbuf != NULL; /* without its scratch the scalar flush runs */
    }
#endif
    if (!x->abk || !x->full || !x->stamp || !x->ovf || !x->oused) {
        free(x->abk);
        free(x->full);
        free(x->stamp);
        free(x->ovf);
        free(x->oused);
        free(x->sbuf);
        free(x);
        return NULL;
    }
    return x;
}

static void G(actx_free)(G(actx) *x) {
    if (!x) return;
    free(x->abk);
    free(x->full);
    free(x->stamp);
    free(x->ovf);
    free(x->oused);
    free(x->sbuf);
    free(x);
}

/* sum_i s_i * P_i over the virtual points of `in`. Threads split the points into contiguous
 * chunks (not the windows) when that balances better: witness scalars are mostly small, so
 * almost all their digits fall in the lowest window and a split by window would leave one
 * thread with all the work. Each task runs one window over one chunk with private buckets; the
 * window sums are combined at the end (cost: one extra bucket reduction per chunk and window).
 * cfg: digit kind and affine buckets as asked; cfg->c = 0 picks the window (msm_window_bits). */
static void G(msm_run)(G(xyzz) *result, const G(msm_in) *in, msm_cfg cfg, int nthreads) {
    G(set_inf)(result);
    const size_t n = in->n;
    if (n == 0) return;
    int T = nthreads < 1 ? 1 : nthreads;
    /* a thread needs enough points to pay for its own bucket reductions */
    size_t max_t = n / 512 ? n / 512 : 1;
    if ((size_t)T > max_t) T = (int)max_t;
    /* one chunk (tasks = windows) or one chunk per thread, whichever finishes first */
    int chunks = 1;
    const int forced_c = cfg.c;
    if (!forced_c) cfg.c = msm_window_bits(n, sizeof(G(aff)), in->bits, &cfg);
    if (T > 1 && in->table) {
        chunks = T; /* a few passes only: split the points */
    } else if (T > 1) {
        msm_cfg cT = cfg;
        if (!forced_c) cT.c = msm_window_bits((n + T - 1) / T, sizeof(G(aff)), in->bits, &cfg);
        if (msm_makespan(in->s, n, in->bits, &cT, T, T) < msm_makespan(in->s, n, in->bits, &cfg, 1, T)) {
            chunks = T;
            cfg = cT;
        }
    }
    const int c = cfg.c;
    size_t per = (n + chunks - 1) / chunks;
    int W = G(in_rounds)(in, msm_windows(in->bits, c, cfg.sgn)); /* passes: windows, or rounds with a table */
    size_t nb = msm_buckets(c, cfg.sgn);
    G(xyzz) *wsum = (G(xyzz) *)calloc((size_t)chunks * W, sizeof(G(xyzz)));
    if (!wsum) {
        zkp_alloc_failed = 1;
        return;
    }

    /* Tasks are (chunk, window) pairs handed out dynamically, so a thread that the OS
     * preempts (a shared machine) or a chunk whose windows are mostly empty does not leave the
     * others idle at the end. Each task writes its own window sum. */
    const long long ntasks = (long long)chunks * W;
    const int affine = msm_use_affine(nb, &cfg);
#pragma omp parallel num_threads(T)
    {
        G(actx) *x = NULL;
        G(xyzz) *buckets = NULL;
        if (affine)
            x = G(actx_new)(nb);
        else
            buckets = (G(xyzz) *)malloc(nb * sizeof(G(xyzz)));
        if (!x && !buckets) zkp_alloc_failed = 1;
#pragma omp for schedule(dynamic, 1)
        for (long long task = 0; task < ntasks; task++) {
            if (!x && !buckets) continue;
            size_t t = (size_t)(task / W);
            int w = (int)(task % W);
            size_t lo = t * per, hi = lo + per;
            if (hi > n) hi = n;
            if (lo > n) lo = n;
            if (affine)
                G(msm_window_affine)(&wsum[t * W + w], x, in, lo, hi, w, &cfg);
            else
                G(msm_window_xyzz)(&wsum[t * W + w], buckets, in, lo, hi, w, &cfg);
        }
        G(actx_free)(x);
        free(buckets);
    }

    /* Horner over windows: acc = sum_w 2^(w c) S_w */
    G(xyzz) acc;
    G(set_inf)(&acc);
    for (int w = W - 1; w >= 0; w--) {
        for (int k = 0; k < c && w != W - 1; k++) G(dbl)(&acc);
        for (int t = 0; t < chunks; t++) G(add)(&acc, &wsum[(size_t)t * W + w]);
    }
    *result = acc;
    free(wsum);
}

/* sum_i scalars[i] * bases[i] for standard-form scalars below r, with the default techniques. */
static void G(msm)(G(xyzz) *result, const G(aff) *bases, const fe *scalars, size_t n, int nthreads) {
    G(msm_in) in = {bases, NULL, scalars, NULL, n, n, SCALAR_BITS, NULL, 1};
    G(msm_run)(result, &in, msm_default_cfg(), nthreads);
}

/* The endomorphism of glv.h, defined per group in msm.c: r = e(p). */
static void G(endo)(G(aff) *r, const G(aff) *p);

/* The MSM through the endomorphism: 2n points (P_i, then e(P_i)) with the halves of each scalar
 * (glv.h), half the windows. Costs n field multiplications (G1) or 2n Fq2 ones (G2) for the
 * images (none with a table, whose rows hold them) and 2n x 33 bytes of scratch. Returns 0,
 * or -1 when out of memory or when a split does not fit (the caller then takes the plain
 * path). */
static int G(msm_endo)(G(xyzz) *result, const G(aff) *bases, const fe *scalars, size_t n, const glv_lattice *L,
                       msm_cfg cfg, const G(aff) *table, int tw, int nthreads) {
    G(aff) *img = table ? NULL : (G(aff) *)malloc((n ? n : 1) * sizeof(G(aff)));
    fe *s2 = (fe *)malloc((2 * n + 1) * sizeof(fe));
    uint8_t *neg2 = (uint8_t *)malloc(2 * n + 1);
    int bad = 0;
    if ((!table && !img) || !s2 || !neg2) {
        free(img);
        free(s2);
        free(neg2);
        return -1;
    }
    const long long N = (long long)n;
    int T = nthreads < 1 ? 1 : nthreads;
#pragma omp parallel for num_threads(T) schedule(static) reduction(| : bad) if (n >= 4096)
    for (long long i = 0; i < N; i++) {
        int n1, n2;
        bad |= glv_split(L, &scalars[i], &s2[i], &n1, &s2[n + i], &n2);
        neg2[i] = (uint8_t)n1;
        neg2[n + i] = (uint8_t)n2;
        if (img) G(endo)(&img[i], &bases[i]);
    }
    if (!bad) {
        G(msm_in) in = {bases, table ? table + n : img, s2, neg2, n, 2 * n, GLV_BITS, table, tw};
        G(msm_run)(result, &in, cfg, nthreads);
    }
    free(img);
    free(s2);
    free(neg2);
    return bad ? -1 : 0;
}

typedef void (*G(chunk_fn))(G(xyzz) *acc, size_t lo, size_t hi, const void *ctx);
static int G(chunked)(G(aff) *out, size_t n, size_t CH, int nthreads, G(chunk_fn) fn, const void *ctx);

typedef struct {
    const G(aff) *src;
    int shift;
} G(shift_ctx);

static void G(shift_chunk)(G(xyzz) *acc, size_t lo, size_t hi, const void *vctx) {
    const G(shift_ctx) *x = (const G(shift_ctx) *)vctx;
    for (size_t i = lo; i < hi; i++) {
        G(xyzz) *a = &acc[i - lo];
        G(set_inf)(a);
        if (G(aff_is_inf)(&x->src[i])) continue;
        G(madd)(a, &x->src[i], 0);
        for (int k = 0; k < x->shift; k++) G(dbl)(a);
    }
}

/* The precomputed table of an MSM's fixed bases: tw rows of m points (m = n, or 2n with the
 * endomorphism images after the points), row j = 2^(j shift) times row 0. Memory: tw m points.
 * Returns 0, or -1 on allocation failure. */
static int G(table_build)(G(aff) *table, const G(aff) *bases, size_t n, int endo, int tw, int shift,
                          int nthreads) {
    const size_t m = endo ? 2 * n : n;
    memcpy(table, bases, n * sizeof(G(aff)));
    for (int j = 0; j < tw; j++) {
        G(aff) *row = table + (size_t)j * m;
        if (j > 0) {
            G(shift_ctx) ctx = {row - m, shift};
            if (G(chunked)(row, n, 1024, nthreads, G(shift_chunk), &ctx) < 0) return -1;
        }
        if (endo)
            for (size_t i = 0; i < n; i++) G(endo)(&row[n + i], &row[i]);
    }
    return 0;
}

/* Computes out[i] (affine) for i < n in chunks of CH on nthreads threads: fn fills the XYZZ
 * results of points [lo, hi), the chunk is then normalised with one inversion. 0, or -1 on
 * allocation failure. */
static int G(chunked)(G(aff) *out, size_t n, size_t CH, int nthreads, G(chunk_fn) fn, const void *ctx) {
    size_t nchunks = (n + CH - 1) / CH;
    int T = nthreads < 1 ? 1 : nthreads;
    int failed = 0;
#pragma omp parallel num_threads(T)
    {
        G(xyzz) *acc = (G(xyzz) *)malloc(CH * sizeof(G(xyzz)));
        FT *scratch = (FT *)malloc(CH * sizeof(FT));
        if (!acc || !scratch) {
#pragma omp atomic write
            failed = 1;
        } else {
#pragma omp for schedule(dynamic)
            for (long ci = 0; ci < (long)nchunks; ci++) {
                size_t lo = (size_t)ci * CH, hi = lo + CH < n ? lo + CH : n;
                fn(acc, lo, hi, ctx);
                G(batch_to_affine)(out + lo, acc, hi - lo, scratch);
            }
        }
        free(acc);
        free(scratch);
    }
    return failed ? -1 : 0;
}

typedef struct {
    const G(aff) *table;
    const fe *scalars;
    int c, W;
    size_t rowlen;
} G(fixed_ctx);

static void G(fixed_chunk)(G(xyzz) *acc, size_t lo, size_t hi, const void *vctx) {
    const G(fixed_ctx) *x = (const G(fixed_ctx) *)vctx;
    const u64 mask = ((u64)1 << x->c) - 1;
    for (size_t i = lo; i < hi; i++) {
        G(xyzz) *a = &acc[i - lo];
        G(set_inf)(a);
        const fe *s = &x->scalars[i];
        for (int w = 0; w < x->W; w++) {
            int bit = w * x->c, limb = bit >> 6, off = bit & 63;
            u64 v = s->l[limb] >> off;
            if (off + x->c > 64 && limb < 3) v |= s->l[limb + 1] << (64 - off);
            v &= mask;
            if (v) G(madd)(a, &x->table[(size_t)w * x->rowlen + (v - 1)], 0);
        }
    }
}

/* Fixed-base batch for key generation: out[i] = scalars[i] * base (scalars standard form,
 * reduced below r). A table of d * 2^(c w) * base for every c-bit window w and digit d
 * (affine, built once and shared by the threads) turns each product into one mixed addition
 * per non-zero window and no doublings. The partial sums are sums of distinct multiples below
 * r, so the additions never meet the doubling or cancelling cases. */
static int G(fixed_base)(G(aff) *out, const G(aff) *base, const fe *scalars, size_t n, int nthreads) {
    if (n == 0) return 0;
    if (G(aff_is_inf)(base)) {
        memset(out, 0, n * sizeof(G(aff)));
        return 0;
    }
    const int c = n < 512 ? 4 : (n < 65536 ? 8 : 10);
    const int W = (256 + c - 1) / c;
    const size_t D = (size_t)1 << c, rowlen = D - 1, tn = (size_t)W * rowlen;
    G(xyzz) *tx = (G(xyzz) *)malloc(tn * sizeof(G(xyzz)));
    G(aff) *table = (G(aff) *)malloc(tn * sizeof(G(aff)));
    FT *tscratch = (FT *)malloc(tn * sizeof(FT));
    if (!tx || !table || !tscratch) {
        free(tx);
        free(table);
        free(tscratch);
        return -1;
    }
    G(xyzz) start;
    G(set_inf)(&start);
    G(madd)(&start, base, 0);
    for (int w = 0; w < W; w++) {
        G(xyzz) *row = tx + (size_t)w * rowlen;
        row[0] = start;
        for (size_t d = 1; d < rowlen; d++) {
            row[d] = row[d - 1];
            G(add)(&row[d], &start); /* (d + 1) * start; d = 1 is the doubling case add handles */
        }
        G(add)(&start, &row[rowlen - 1]); /* 2^c * start */
    }
    G(batch_to_affine)(table, tx, tn, tscratch);
    free(tx);
    free(tscratch);

    G(fixed_ctx) ctx = {table, scalars, c, W, rowlen};
    int rc = G(chunked)(out, n, 1024, nthreads, G(fixed_chunk), &ctx);
    free(table);
    return rc;
}

/* Phase-2 ceremony kernels (prover/groth16/phase2.py): variable-base products.
 *
 * r = s * p for a standard-form s < r. Circuit coefficients are mostly small or small negatives
 * (-1 is r - 1, a 254-bit number), so a scalar above r/2 is used as -(r - s), and one that then
 * fits 64 bits takes plain double-and-add (as many doublings as it has bits). Others take signed
 * 5-bit windows over a table of 1..16 multiples: 255 doublings and 51 additions. */
/* k = s or r - s, whichever is below r/2; returns 1 for r - s (the product is then negated). */
static inline int G(signed_scalar)(fe *k, const fe *s) {
    static const fe half = {{0xa1f0fac9f8000001ULL, 0x9419f4243cdcb848ULL, 0xdc2822db40c0ac2eULL, 0x183227397098d014ULL}};
    *k = *s;
    if (!fe_geq(k, &half)) return 0;
    static const fe zero = {{0, 0, 0, 0}};
    fr_sub(k, &zero, s);
    return 1;
}

/* The table 1..16 times p (XYZZ) for signed 5-bit windows. */
static inline void G(window_table)(G(xyzz) *table, const G(aff) *p) {
    G(set_inf)(&table[0]);
    G(madd)(&table[0], p, 0);
    for (int d = 1; d < 16; d++) {
        table[d] = table[d - 1];
        G(madd)(&table[d], p, 0);
    }
}

static inline void G(add_digit)(G(xyzz) *r, const G(xyzz) *table, int d, int neg) {
    if (d == 0) return;
    G(xyzz) t = table[(d < 0 ? -d : d) - 1];
    if ((d < 0) != neg) F(neg)(&t.y, &t.y);
    G(add)(r, &t);
}

static void G(mul_var)(G(xyzz) *r, const G(aff) *p, const fe *s) {
    G(set_inf)(r);
    if (G(aff_is_inf)(p) || fe_is_zero(s)) return;
    fe k;
    int neg = G(signed_scalar)(&k, s);
    if ((k.l[1] | k.l[2] | k.l[3]) == 0) {
        u64 v = k.l[0];
        for (int b = 63 - __builtin_clzll(v); b >= 0; b--) {
            G(dbl)(r);
            if ((v >> b) & 1) G(madd)(r, p, 0);
        }
        if (neg) F(neg)(&r->y, &r->y);
    } else {
        enum { C = 5, W = (SCALAR_BITS + C - 1) / C };
        G(xyzz) table[16];
        G(window_table)(table, p);
        for (int w = W - 1; w >= 0; w--) {
            for (int i = 0; i < C; i++) G(dbl)(r);
            G(add_digit)(r, table, booth_digit(&k, w, C), neg);
        }
    }
}

typedef struct {
    const G(aff) *bases;
    const u64 *ptr;
    const uint32_t *idx;
    const fe *scalars;
} G(lincomb_ctx);

/* Rows with more terms than this go to Pippenger (one MSM each, all threads) instead of the
 * per-row path: circom's constant-one wire and the rollup's shared signals collect up to
 * ~10^5 full-size coefficients. Below it a row's full-size terms go through Straus in groups
 * of LINCOMB_GROUP (one shared run of doublings per group). */
#define LINCOMB_MSM_MIN 4096
#define LINCOMB_GROUP 64
#define NAF_TABLE (1 << (NAF_W - 2)) /* odd multiples 1, 3, ..., 15 */

typedef struct {
    G(xyzz) *tx;     /* LINCOMB_GROUP * NAF_TABLE */
    G(aff) *ta;      /* the same, affine */
    FT *scratch;     /* LINCOMB_GROUP * NAF_TABLE */
    int8_t (*naf)[NAF_MAX];
    int len[LINCOMB_GROUP];
    int neg[LINCOMB_GROUP];
    int m;
} G(straus);

/* Queue k * b (k < r/2 after the sign trick, neg: the product is negated). */
static inline void G(straus_push)(G(straus) *st, const G(aff) *b, const fe *k, int neg) {
    int m = st->m++;
    st->len[m] = naf5_digits(st->naf[m], k);
    st->neg[m] = neg;
    G(xyzz) *t = &st->tx[(size_t)m * NAF_TABLE], d;
    G(set_inf)(&t[0]);
    G(madd)(&t[0], b, 0);
    G(dbl_aff)(&d, &b->x, &b->y);
    for (int j = 1; j < NAF_TABLE; j++) {
        t[j] = t[j - 1];
        G(add)(&t[j], &d);
    }
}

/* a += the queued products: their tables made affine together (one inversion), then one run
 * of doublings over the longest NAF with a mixed addition per non-zero digit. */
static void G(straus_flush)(G(xyzz) *a, G(straus) *st) {
    int m = st->m, top = 0;
    if (m == 0) return;
    G(batch_to_affine)(st->ta, st->tx, (size_t)m * NAF_TABLE, st->scratch);
    for (int t = 0; t < m; t++) top = st->len[t] > top ? st->len[t] : top;
    G(xyzz) r;
    G(set_inf)(&r);
    for (int pos = top - 1; pos >= 0; pos--) {
        G(dbl)(&r);
        for (int t = 0; t < m; t++) {
            if (pos >= st->len[t]) continue;
            int d = st->naf[t][pos];
            if (d == 0) continue;
            const G(aff) *q = &st->ta[(size_t)t * NAF_TABLE + ((d < 0 ? -d : d) - 1) / 2];
            if (G(aff_is_inf)(q)) continue; /* only for a base of small order (not a valid key) */
            G(madd)(&r, q, (d < 0) != st->neg[t]);
        }
    }
    G(add)(a, &r);
    st->m = 0;
}

/* One row: the coefficient 1 as a mixed addition, small coefficients (64 bits after the sign
 * trick) by double-and-add, the full-size ones by Straus (G(straus_flush)). */
static void G(lincomb_chunk)(G(xyzz) *acc, size_t lo, size_t hi, const void *vctx) {
    const G(lincomb_ctx) *x = (const G(lincomb_ctx) *)vctx;
    G(straus) st;
    st.m = 0;
    st.tx = (G(xyzz) *)malloc((size_t)LINCOMB_GROUP * NAF_TABLE * sizeof(G(xyzz)));
    st.ta = (G(aff) *)malloc((size_t)LINCOMB_GROUP * NAF_TABLE * sizeof(G(aff)));
    st.scratch = (FT *)malloc((size_t)LINCOMB_GROUP * NAF_TABLE * sizeof(FT));
    st.naf = (int8_t(*)[NAF_MAX])malloc((size_t)LINCOMB_GROUP * NAF_MAX);
    if (!st.tx || !st.ta || !st.scratch || !st.naf) {
        zkp_alloc_failed = 1;
        free(st.tx), free(st.ta), free(st.scratch), free(st.naf);
        return;
    }
    for (size_t j = lo; j < hi; j++) {
        G(xyzz) *a = &acc[j - lo];
        G(set_inf)(a);
        if (x->ptr[j + 1] - x->ptr[j] > LINCOMB_MSM_MIN) continue; /* done by G(lincomb) */
        for (u64 k = x->ptr[j]; k < x->ptr[j + 1]; k++) {
            const G(aff) *b = &x->bases[x->idx[k]];
            const fe *s = &x->scalars[k];
            if (G(aff_is_inf)(b) || fe_is_zero(s)) continue;
            if (s->l[0] == 1 && (s->l[1] | s->l[2] | s->l[3]) == 0) { /* the common coefficient 1 */
                G(madd)(a, b, 0);
                continue;
            }
            fe kk;
            int ng = G(signed_scalar)(&kk, s);
            if ((kk.l[1] | kk.l[2] | kk.l[3]) == 0) {
                G(xyzz) t;
                G(mul_var)(&t, b, s);
                G(add)(a, &t);
                continue;
            }
            G(straus_push)(&st, b, &kk, ng);
            if (st.m == LINCOMB_GROUP) G(straus_flush)(a, &st);
        }
        G(straus_flush)(a, &st);
    }
    free(st.tx), free(st.ta), free(st.scratch), free(st.naf);
}

/* out[j] = sum over k in [ptr[j], ptr[j+1]) of scalars[k] * bases[idx[k]] for j < nout, affine
 * Montgomery out (the sparse combinations of Lagrange points a zkey's A, B, C and IC are).
 * Indices are checked by the caller. Returns 0, or -1 on allocation failure. */
static int G(lincomb)(G(aff) *out, const G(aff) *bases, const u64 *ptr, const uint32_t *idx, const fe *scalars,
                      size_t nout, int nthreads) {
    G(lincomb_ctx) ctx = {bases, ptr, idx, scalars};
    zkp_alloc_failed = 0;
    if (G(chunked)(out, nout, 256, nthreads, G(lincomb_chunk), &ctx) < 0 || zkp_alloc_failed) return -1;
    for (size_t j = 0; j < nout; j++) {
        size_t n = ptr[j + 1] - ptr[j];
        if (n <= LINCOMB_MSM_MIN) continue;
        G(aff) *gathered = (G(aff) *)malloc(n * sizeof(G(aff)));
        if (!gathered) return -1;
        for (size_t k = 0; k < n; k++) gathered[k] = bases[idx[ptr[j] + k]];
        zkp_alloc_failed = 0;
        G(xyzz) r;
        G(msm)(&r, gathered, scalars + ptr[j], n, nthreads);
        free(gathered);
        if (zkp_alloc_failed) return -1;
        G(to_affine)(&out[j], &r);
    }
    return 0;
}

typedef struct {
    const G(aff) *in;
    const fe *s;
} G(scale_ctx);

static void G(scale_chunk)(G(xyzz) *acc, size_t lo, size_t hi, const void *vctx) {
    const G(scale_ctx) *x = (const G(scale_ctx) *)vctx;
    for (size_t i = lo; i < hi; i++) G(mul_var)(&acc[i - lo], &x->in[i], x->s);
}

/* out[i] = s * in[i] (one scalar for all points: a contribution's delta^-1 on L and H). */
static int G(scale)(G(aff) *out, const G(aff) *in, const fe *s, size_t n, int nthreads) {
    G(scale_ctx) ctx = {in, s};
    return G(chunked)(out, n, 1024, nthreads, G(scale_chunk), &ctx);
}

#undef F
#undef G


/* The G1 MSM's batched affine flush (curve_impl.h: G(flush)) on AVX-512 IFMA, FV_LANES queued
 * additions per vector (field_ifma.h). Included by msm.c after the G1 instantiation of
 * curve_impl.h, only where field_ifma.h compiles (ZKP_HAVE_IFMA); used when the CPU has it and
 * ZKPROVER_NO_IFMA is unset (g1_actx.simd).
 *
 * Same algorithm as the scalar flush: abk[b] += +-q for every queued (b, q), all denominators
 * q.x - B.x inverted together by Montgomery's trick, here along two interleaved chains of
 * vectors whose 2 FV_LANES totals are inverted by one scalar inversion of their product. The
 * buckets stay in field_ifma.h's R' = 2^260 form for the whole window (canonical, so that a
 * bucket is read with shifts only); the queued points are in field.h's form and take one
 * vector product each coordinate to convert. A lane whose denominator is zero (q = +-B: a
 * doubling or a cancellation) goes to the XYZZ side bucket as in the scalar flush, and the lane
 * carries one through the chain. Padding lanes of the last vector repeat the first addition and
 * are never stored.
 *
 * Bounds (field_ifma.h: products need a b < 84 p^2 and give < 2p): q.x, q.y < 2p after the
 * conversion, B.x, B.y < p (canonical), denominators < 4p, lambda < 2p, x3 < 5p before its
 * reduction, y3 < 3p before its reduction; both are stored canonical. */

/* 2^260 mod p and 2^252 as field.h elements (plain integers): Montgomery products by them move
 * a coordinate from x 2^256 to x 2^260 and back. */
static const fe G1_RP_TO = {{0x45520880f6fce4b4ULL, 0x49890849baa989a8ULL, 0x85a9201d818f014aULL, 0x1f16424e1bb7724fULL}};
static const fe G1_RP_FROM = {{0, 0, 0, 0x1000000000000000ULL}};

static void g1_simd_to(fe *r, const fe *a) { fq_mul(r, a, &G1_RP_TO); }
static void g1_simd_from(fe *r, const fe *a) { fq_mul(r, a, &G1_RP_FROM); }

#define G1S_GROUPS ((MSM_BATCH + FV_LANES - 1) / FV_LANES)

/* Per vector of queued additions, kept from the forward pass for the backward one. */
typedef struct {
    fv den, qx, qy, pref;
} g1s_group;

static size_t g1_simd_buf_bytes(void) { return G1S_GROUPS * sizeof(g1s_group); }

/* Lanes from FV_LANES scattered integers below 2^256 (no conversion). */
FV_INLINE void fv_gather(fv *r, const uint64_t *const src[FV_LANES]) {
    uint64_t limbs[5][FV_LANES] __attribute__((aligned(64)));
    for (int i = 0; i < FV_LANES; i++) {
        uint64_t o[5];
        fv_split52(o, src[i]);
        for (int j = 0; j < 5; j++) limbs[j][i] = o[j];
    }
    for (int j = 0; j < 5; j++) r->l[j] = V_LOAD(limbs[j]);
}

/* The lanes in `live` to their scattered destinations (a canonical: below p < 2^256). */
FV_INLINE void fv_scatter(uint64_t *const dst[FV_LANES], const fv *a, unsigned live) {
    uint64_t limbs[5][FV_LANES] __attribute__((aligned(64)));
    for (int j = 0; j < 5; j++) V_STORE(limbs[j], a->l[j]);
    for (int i = 0; i < FV_LANES; i++) {
        if (!((live >> i) & 1)) continue;
        uint64_t o[5];
        for (int j = 0; j < 5; j++) o[j] = limbs[j][i];
        fv_join64(dst[i], o);
    }
}

/* Below 8p -> canonical. */
FV_INLINE void fv_canon8(fv *r, const fv *a) {
    fv_red(r, a, FV_4P);
    fv_red(r, r, FV_2P);
    fv_red(r, r, FV_P);
}

/* The queued entries e of group g (padding lanes take entry 0): bucket and point addresses. */
static inline void g1s_lanes(const g1_actx *x, size_t g, const uint64_t *bx[FV_LANES], const uint64_t *by[FV_LANES],
                             const uint64_t *qx[FV_LANES], const uint64_t *qy[FV_LANES]) {
    for (int i = 0; i < FV_LANES; i++) {
        size_t e = g * FV_LANES + (size_t)i;
        if (e >= x->k) e = 0;
        const g1_aff *B = &x->abk[x->qb[e]], *q = x->qp[e];
        bx[i] = B->x.l;
        by[i] = B->y.l;
        if (qx) {
            qx[i] = q->x.l;
            qy[i] = q->y.l;
        }
    }
}

static void g1_flush_simd(g1_actx *x) {
    const size_t k = x->k, ng = (k + FV_LANES - 1) / FV_LANES;
    g1s_group *S = (g1s_group *)x->sbuf;
    unsigned live[G1S_GROUPS];
    fv one, c264, acc[2];
    fv_set1(&one, FV_ONE);
    fv_set1(&c264, FV_C264);
    acc[0] = one;
    acc[1] = one;
    for (size_t g = 0; g < ng; g++) {
        const uint64_t *bx[FV_LANES], *by[FV_LANES], *qx[FV_LANES], *qy[FV_LANES];
        g1s_lanes(x, g, bx, by, qx, qy);
        unsigned lv = 0, negm = 0;
        for (int i = 0; i < FV_LANES; i++) {
            const size_t e = g * FV_LANES + (size_t)i;
            if (e < k) {
                lv |= 1u << i;
                negm |= (unsigned)(x->qneg[e] != 0) << i;
            }
        }
        fv B, t, ny;
        g1s_group *G = &S[g];
        fv_gather(&t, qx);
        fv_mul(&G->qx, &t, &c264);
        fv_gather(&t, qy);
        fv_mul(&G->qy, &t, &c264);
        fv_neg_k(&ny, &G->qy, FV_2P);
        fv_select(&G->qy, (vmask)negm, &G->qy, &ny);
        fv_gather(&B, bx);
        fv_sub(&G->den, &G->qx, &B);
        const unsigned zero = (unsigned)fv_is_zero(&G->den) & lv;
        if (__builtin_expect(zero != 0, 0)) {
            for (int i = 0; i < FV_LANES; i++) {
                if (!((zero >> i) & 1)) continue;
                const size_t e = g * FV_LANES + (size_t)i;
                g1_ovf_add(x, x->qb[e], x->qp[e], x->qneg[e]);
            }
            lv &= ~zero;
        }
        /* padding and side-bucket lanes carry one through the chain */
        fv_select(&G->den, (vmask)(~lv & FV_ALL), &G->den, &one);
        live[g] = lv;
        G->pref = acc[g & 1];
        fv_mul(&acc[g & 1], &acc[g & 1], &G->den);
    }
    /* the 2 FV_LANES chain totals: one scalar inversion of their product */
    uint64_t tot[2][FV_LANES][4];
    fv_store(&tot[0][0][0], 4, &acc[0]);
    fv_store(&tot[1][0][0], 4, &acc[1]);
    {
        fe *a = (fe *)&tot[0][0][0], pre[2 * FV_LANES], run = FQ_ONE;
        for (int j = 0; j < 2 * FV_LANES; j++) {
            pre[j] = run;
            fq_mul(&run, &run, &a[j]);
        }
        fq_inv(&run, &run);
        for (int j = 2 * FV_LANES; j-- > 0;) {
            fe inv;
            fq_mul(&inv, &run, &pre[j]);
            fq_mul(&run, &run, &a[j]);
            a[j] = inv;
        }
    }
    fv ia[2];
    fv_load(&ia[0], &tot[0][0][0], 4);
    fv_load(&ia[1], &tot[1][0][0], 4);
    for (size_t g = ng; g-- > 0;) {
        g1s_group *G = &S[g];
        const uint64_t *bx[FV_LANES], *by[FV_LANES];
        g1s_lanes(x, g, bx, by, NULL, NULL);
        fv inv, lam, t, x3, y3, Bx, By;
        fv_mul(&inv, &ia[g & 1], &G->pref);
        fv_mul(&ia[g & 1], &ia[g & 1], &G->den);
        fv_gather(&Bx, bx);
        fv_gather(&By, by);
        fv_sub(&t, &G->qy, &By);
        fv_mul(&lam, &t, &inv);
        fv_sqr(&t, &lam);
        fv_sub(&t, &t, &G->qx);     /* lambda^2 - x2, < 4p */
        fv_sub_k(&x3, &t, &Bx, FV_P); /* - x1, < 5p */
        fv_canon8(&x3, &x3);
        fv_sub_k(&t, &Bx, &x3, FV_P);
        fv_mul(&y3, &lam, &t);
        fv_sub_k(&y3, &y3, &By, FV_P); /* lambda (x1 - x3) - y1, < 3p */
        fv_canon8(&y3, &y3);
        if (live[g]) {
            fv_scatter((uint64_t *const *)bx, &x3, live[g]);
            fv_scatter((uint64_t *const *)by, &y3, live[g]);
        }
    }
    x->k = 0;
    x->cur++;
}

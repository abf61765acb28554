/* The MSM's batched affine flush (curve_impl.h: G(flush)) on AVX-512 IFMA, FV_LANES queued
 * additions per vector (field_ifma.h), for G1 (coordinates fv) and G2 (fv2: Fq2 = Fq[u]/(u^2 + 1)
 * over fv). The vector field types come first, then the flush itself, which msm.c includes once
 * per curve after that curve's instantiation of curve_impl.h, with CURVE, FT, FPFX and VPFX (fv
 * or fv2) defined. Only where field_ifma.h compiles (ZKP_HAVE_IFMA); used when the CPU has it
 * and ZKPROVER_NO_IFMA is unset (actx.simd).
 *
 * Same algorithm as the scalar flush: abk[b] += +-q for every queued (b, q), all denominators
 * q.x - B.x inverted together by Montgomery's trick, here along two interleaved chains of
 * vectors whose 2 FV_LANES totals are inverted by one scalar inversion of their product. The
 * buckets stay in field_ifma.h's R' = 2^260 form for the whole window (canonical, so that a
 * bucket is read with shifts only); the queued points are in field.h's form and take one
 * vector product per coordinate (per component on G2) to convert. A lane whose denominator is
 * zero (q = +-B: a doubling or a cancellation) goes to the XYZZ side bucket as in the scalar
 * flush, and carries one through the chain. Padding lanes of the last vector repeat the first
 * addition and are never stored.
 *
 * Bounds per component (field_ifma.h: products need a b < 84 p^2 and give < 2p; fv2_mul below
 * needs (a0 + a1)(b0 + b1) < 84 p^2 and gives < 2p): q.x, q.y < 2p after the conversion, B.x,
 * B.y < p (canonical), denominators < 4p, lambda < 2p, x3 < 5p and y3 < 3p before their
 * reductions; both are stored canonical. */
#ifndef ZKP_MSM_IFMA_TYPES
#define ZKP_MSM_IFMA_TYPES

/* 2^260 mod p and 2^252 as field.h elements (plain integers): Montgomery products by them move
 * a coordinate from x 2^256 to x 2^260 and back. */
static const fe RP_TO = {{0x45520880f6fce4b4ULL, 0x49890849baa989a8ULL, 0x85a9201d818f014aULL, 0x1f16424e1bb7724fULL}};
static const fe RP_FROM = {{0, 0, 0, 0x1000000000000000ULL}};

static void fq_to_rp(fe *r, const fe *a) { fq_mul(r, a, &RP_TO); }
static void fq_from_rp(fe *r, const fe *a) { fq_mul(r, a, &RP_FROM); }
static void fq2_to_rp(fe2 *r, const fe2 *a) {
    fq_mul(&r->c0, &a->c0, &RP_TO);
    fq_mul(&r->c1, &a->c1, &RP_TO);
}
static void fq2_from_rp(fe2 *r, const fe2 *a) {
    fq_mul(&r->c0, &a->c0, &RP_FROM);
    fq_mul(&r->c1, &a->c1, &RP_FROM);
}

/* Lanes from FV_LANES scattered integers below 2^256 (no conversion), and back for the lanes in
 * `live` (a canonical). */
FV_INLINE void fv_gather(fv *r, const uint64_t *const src[FV_LANES], size_t off) {
    uint64_t limbs[5][FV_LANES] __attribute__((aligned(64)));
    for (int i = 0; i < FV_LANES; i++) {
        uint64_t o[5];
        fv_split52(o, src[i] + off);
        for (int j = 0; j < 5; j++) limbs[j][i] = o[j];
    }
    for (int j = 0; j < 5; j++) r->l[j] = V_LOAD(limbs[j]);
}

FV_INLINE void fv_scatter(uint64_t *const dst[FV_LANES], size_t off, const fv *a, unsigned live) {
    uint64_t limbs[5][FV_LANES] __attribute__((aligned(64)));
    for (int j = 0; j < 5; j++) V_STORE(limbs[j], a->l[j]);
    for (int i = 0; i < FV_LANES; i++) {
        if (!((live >> i) & 1)) continue;
        uint64_t o[5];
        for (int j = 0; j < 5; j++) o[j] = limbs[j][i];
        fv_join64(dst[i] + off, o);
    }
}

/* Below 8p -> canonical. */
FV_INLINE void fv_canon8(fv *r, const fv *a) {
    fv_red(r, a, FV_4P);
    fv_red(r, r, FV_2P);
    fv_red(r, r, FV_P);
}

/* The G1 names of the operations the flush takes (fv_mul, fv_sqr, fv_sub, fv_select are
 * field_ifma.h's own). */
FV_INLINE void fv_sub1(fv *r, const fv *a, const fv *b) { fv_sub_k(r, a, b, FV_P); } /* a - b + p, b < p */
FV_INLINE void fv_neg2(fv *r, const fv *a) { fv_neg_k(r, a, FV_2P); }                /* 2p - a, a <= 2p */
FV_INLINE void fv_one(fv *r) { fv_set1(r, FV_ONE); }
FV_INLINE void fv_conv(fv *r, const fv *a) { /* x 2^256 -> x 2^260, below 2p */
    fv c;
    fv_set1(&c, FV_C264);
    fv_mul(r, a, &c);
}
FV_INLINE void fv_gatherv(fv *r, const uint64_t *const src[FV_LANES]) { fv_gather(r, src, 0); }
FV_INLINE void fv_scatterv(uint64_t *const dst[FV_LANES], const fv *a, unsigned live) { fv_scatter(dst, 0, a, live); }
FV_INLINE void fv_store_fe(fe *dst, const fv *a) { fv_store(dst->l, 4, a); }
FV_INLINE void fv_load_fe(fv *r, const fe *src) { fv_load(r, src->l, 4); }

/* Fq2 over fv: c0 + c1 u with u^2 = -1. */
typedef struct {
    fv c0, c1;
} fv2;

/* Karatsuba, three products; components of the result below 2p. */
FV_INLINE void fv2_mul(fv2 *r, const fv2 *a, const fv2 *b) {
    fv t0, t1, t2, sa, sb;
    fv_mul(&t0, &a->c0, &b->c0);
    fv_mul(&t1, &a->c1, &b->c1);
    fv_add(&sa, &a->c0, &a->c1);
    fv_add(&sb, &b->c0, &b->c1);
    fv_mul(&t2, &sa, &sb);
    fv_sub(&r->c0, &t0, &t1); /* < 4p */
    fv_red2(&r->c0, &r->c0);
    fv_add(&sa, &t0, &t1);               /* < 4p */
    fv_sub_k(&r->c1, &t2, &sa, FV_4P); /* < 6p */
    fv_red(&r->c1, &r->c1, FV_4P);
    fv_red2(&r->c1, &r->c1);
}
FV_INLINE void fv2_sqr(fv2 *r, const fv2 *a) { fv2_mul(r, a, a); }
FV_INLINE void fv2_sub(fv2 *r, const fv2 *a, const fv2 *b) {
    fv_sub(&r->c0, &a->c0, &b->c0);
    fv_sub(&r->c1, &a->c1, &b->c1);
}
FV_INLINE void fv2_sub1(fv2 *r, const fv2 *a, const fv2 *b) {
    fv_sub1(&r->c0, &a->c0, &b->c0);
    fv_sub1(&r->c1, &a->c1, &b->c1);
}
FV_INLINE void fv2_neg2(fv2 *r, const fv2 *a) {
    fv_neg2(&r->c0, &a->c0);
    fv_neg2(&r->c1, &a->c1);
}
FV_INLINE void fv2_canon8(fv2 *r, const fv2 *a) {
    fv_canon8(&r->c0, &a->c0);
    fv_canon8(&r->c1, &a->c1);
}
FV_INLINE void fv2_select(fv2 *r, vmask m, const fv2 *a, const fv2 *b) {
    fv_select(&r->c0, m, &a->c0, &b->c0);
    fv_select(&r->c1, m, &a->c1, &b->c1);
}
FV_INLINE vmask fv2_is_zero(const fv2 *a) { return fv_is_zero(&a->c0) & fv_is_zero(&a->c1); }
FV_INLINE void fv2_one(fv2 *r) {
    fv_set1(&r->c0, FV_ONE);
    r->c1.l[0] = r->c1.l[1] = r->c1.l[2] = r->c1.l[3] = r->c1.l[4] = V_ZERO();
}
FV_INLINE void fv2_conv(fv2 *r, const fv2 *a) {
    fv_conv(&r->c0, &a->c0);
    fv_conv(&r->c1, &a->c1);
}
FV_INLINE void fv2_gatherv(fv2 *r, const uint64_t *const src[FV_LANES]) {
    fv_gather(&r->c0, src, 0);
    fv_gather(&r->c1, src, 4);
}
FV_INLINE void fv2_scatterv(uint64_t *const dst[FV_LANES], const fv2 *a, unsigned live) {
    fv_scatter(dst, 0, &a->c0, live);
    fv_scatter(dst, 4, &a->c1, live);
}
FV_INLINE void fv2_store_fe(fe2 *dst, const fv2 *a) {
    fv_store(dst->c0.l, 8, &a->c0);
    fv_store(dst->c1.l, 8, &a->c1);
}
FV_INLINE void fv2_load_fe(fv2 *r, const fe2 *src) {
    fv_load(&r->c0, src->c0.l, 8);
    fv_load(&r->c1, src->c1.l, 8);
}

/* the flush's name for each vector type */
typedef fv fv_vec;
typedef fv2 fv2_vec;

#endif /* ZKP_MSM_IFMA_TYPES */

/* ---- the flush, once per curve ---- */
#define G(name) ZKP_CAT(CURVE, name)
#define F(op) ZKP_CAT(FPFX, op)
#define V(op) ZKP_CAT(VPFX, op)
#define SG(name) G(ZKP_CAT(simd, name))
#define SG_GROUPS ((MSM_BATCH + FV_LANES - 1) / FV_LANES)

typedef struct {
    V(vec) den, qx, qy, pref;
} SG(group);

static size_t SG(buf_bytes)(void) { return SG_GROUPS * sizeof(SG(group)); }

/* Addresses of the coordinates of the queued entries of vector g (padding lanes: entry 0). */
static inline void SG(lanes)(const G(actx) *x, size_t g, const uint64_t *bx[FV_LANES], const uint64_t *by[FV_LANES],
                              const uint64_t *qx[FV_LANES], const uint64_t *qy[FV_LANES]) {
    for (int i = 0; i < FV_LANES; i++) {
        size_t e = g * FV_LANES + (size_t)i;
        if (e >= x->k) e = 0;
        const G(aff) *B = &x->abk[x->qb[e]], *q = x->qp[e];
        bx[i] = (const uint64_t *)&B->x;
        by[i] = (const uint64_t *)&B->y;
        if (qx) {
            qx[i] = (const uint64_t *)&q->x;
            qy[i] = (const uint64_t *)&q->y;
        }
    }
}

static void SG(flush)(G(actx) *x) {
    const size_t k = x->k, ng = (k + FV_LANES - 1) / FV_LANES;
    SG(group) *S = (SG(group) *)x->sbuf;
    unsigned live[SG_GROUPS];
    V(vec) one, acc[2];
    V(one)(&one);
    acc[0] = one;
    acc[1] = one;
    for (size_t g = 0; g < ng; g++) {
        const uint64_t *bx[FV_LANES], *by[FV_LANES], *qx[FV_LANES], *qy[FV_LANES];
        SG(lanes)(x, g, bx, by, qx, qy);
        unsigned lv = 0, negm = 0;
        for (int i = 0; i < FV_LANES; i++) {
            const size_t e = g * FV_LANES + (size_t)i;
            if (e < k) {
                lv |= 1u << i;
                negm |= (unsigned)(x->qneg[e] != 0) << i;
            }
        }
        V(vec) B, t, ny;
        SG(group) *Gp = &S[g];
        V(gatherv)(&t, qx);
        V(conv)(&Gp->qx, &t);
        V(gatherv)(&t, qy);
        V(conv)(&Gp->qy, &t);
        V(neg2)(&ny, &Gp->qy);
        V(select)(&Gp->qy, (vmask)negm, &Gp->qy, &ny);
        V(gatherv)(&B, bx);
        V(sub)(&Gp->den, &Gp->qx, &B);
        const unsigned zero = (unsigned)V(is_zero)(&Gp->den) & lv;
        if (__builtin_expect(zero != 0, 0)) {
            for (int i = 0; i < FV_LANES; i++) {
                if (!((zero >> i) & 1)) continue;
                const size_t e = g * FV_LANES + (size_t)i;
                G(ovf_add)(x, x->qb[e], x->qp[e], x->qneg[e]);
            }
            lv &= ~zero;
        }
        /* padding and side-bucket lanes carry one through the chain */
        V(select)(&Gp->den, (vmask)(~lv & FV_ALL), &Gp->den, &one);
        live[g] = lv;
        Gp->pref = acc[g & 1];
        V(mul)(&acc[g & 1], &acc[g & 1], &Gp->den);
    }
    /* the 2 FV_LANES chain totals: one scalar inversion of their product */
    FT tot[2 * FV_LANES], pre[2 * FV_LANES], run;
    V(store_fe)(&tot[0], &acc[0]);
    V(store_fe)(&tot[FV_LANES], &acc[1]);
    FONE(run);
    for (int j = 0; j < 2 * FV_LANES; j++) {
        pre[j] = run;
        F(mul)(&run, &run, &tot[j]);
    }
    F(inv)(&run, &run);
    for (int j = 2 * FV_LANES; j-- > 0;) {
        FT inv;
        F(mul)(&inv, &run, &pre[j]);
        F(mul)(&run, &run, &tot[j]);
        tot[j] = inv;
    }
    V(vec) ia[2];
    V(load_fe)(&ia[0], &tot[0]);
    V(load_fe)(&ia[1], &tot[FV_LANES]);
    for (size_t g = ng; g-- > 0;) {
        SG(group) *Gp = &S[g];
        const uint64_t *bx[FV_LANES], *by[FV_LANES];
        SG(lanes)(x, g, bx, by, NULL, NULL);
        V(vec) inv, lam, t, x3, y3, Bx, By;
        V(mul)(&inv, &ia[g & 1], &Gp->pref);
        V(mul)(&ia[g & 1], &ia[g & 1], &Gp->den);
        V(gatherv)(&Bx, bx);
        V(gatherv)(&By, by);
        V(sub)(&t, &Gp->qy, &By);
        V(mul)(&lam, &t, &inv);
        V(sqr)(&t, &lam);
        V(sub)(&t, &t, &Gp->qx); /* lambda^2 - x2, < 4p */
        V(sub1)(&x3, &t, &Bx);   /* - x1, < 5p */
        V(canon8)(&x3, &x3);
        V(sub1)(&t, &Bx, &x3);
        V(mul)(&y3, &lam, &t);
        V(sub1)(&y3, &y3, &By); /* lambda (x1 - x3) - y1, < 3p */
        V(canon8)(&y3, &y3);
        if (live[g]) {
            V(scatterv)((uint64_t *const *)bx, &x3, live[g]);
            V(scatterv)((uint64_t *const *)by, &y3, live[g]);
        }
    }
    x->k = 0;
    x->cur++;
}

#undef SG_GROUPS
#undef SG
#undef V
#undef F
#undef G

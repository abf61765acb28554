/* The contribution's rescaling k P of many G1 points (msm.c: zkp_scale_g1_glv) on AVX-512 IFMA.
 *
 * The same algorithm as msm.c's glv_batch_run (width-5 NAF of the GLV halves, all points of a
 * batch in lockstep in affine coordinates, one shared inversion per step), with FV_LANES points
 * per vector (field_ifma.h): every point takes the same doublings and additions, so the lanes
 * never diverge. A batch is G groups of FV_LANES points; each step's denominators are inverted
 * with Montgomery's trick along two interleaved chains over the groups, the 2 FV_LANES chain
 * totals by one scalar inversion (field.h) of their product, and each group's new point is
 * computed in the backward pass of the trick as soon as its inverse is known.
 *
 * Measured on Zen 4 (3.66 GHz): an 8-lane Montgomery product costs ~115 cycles whether
 * independent or chained (~14 per lane against ~57 for field.h's), ~1,215 products per point
 * make ~4.5 us, the whole kernel ~5.8 us per point single-threaded (36.8 for msm.c's scalar
 * path): the rest is the carry passes and conditional subtractions of the formulas (~1 us) and
 * the scalar inversion per step (~0.3 us at 4096 points per batch).
 *
 * Points that meet a zero denominator (infinity, replaced by the generator as in msm.c) are
 * flagged in bad[] for the caller to redo by the generic path, exactly as msm.c does.
 */
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "zkp.h"

/* Builds without -march=native (ZKPROVER_PORTABLE=1: wheels, images) get this path too: the
 * kernel is compiled for IFMA here whatever the target, and only called after zkp_ifma_usable's
 * run-time check of the CPU. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 8 && defined(__x86_64__) && !defined(__AVX512IFMA__)
#define ZKP_IFMA_PRAGMA 1
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512ifma,bmi2,adx")
#endif
#include "field.h"
#include "field_ifma.h"

#ifdef ZKP_HAVE_IFMA

/* beta 2^260 mod p: phi(x, y) = (beta x, y) in the R' form (beta as GLV_BETA of msm.c). */
static const uint64_t FV_BETA[5] = {0x5f7cf18a4da6cULL, 0xfcd08fecf4638ULL, 0xf454044c2d458ULL, 0xfc115c5806fd4ULL,
                                    0x0237ab40d91cdULL};

/* Points per lockstep batch: the table (16 x and 8 y per point) is read one entry per step, so
 * the working set per step is a few vectors per group and the batch can be larger than the
 * scalar path's 1024, amortising the per-step scalar inversion further (single-thread, 65536
 * points: 6.10 us per point at 2048, 5.79 at 4096, 5.70 at 8192 for twice the memory: 4.5 MiB
 * per thread at 4096). */
#ifndef IFMA_BATCH
#define IFMA_BATCH 4096
#endif
#define IFMA_TABLE 8 /* odd multiples 1..15 */
#define IFMA_G (IFMA_BATCH / FV_LANES)

typedef struct {
    fv *x, *y;       /* accumulators, G each */
    fv *tx, *ty;     /* table: j P at [j * G + g] */
    fv *px;          /* beta x of the table */
    fv *den, *pre;   /* a step's denominators, their prefix products per chain */
    uint8_t *bad;    /* lanes flagged, per group */
    size_t G;
} ifma_ws;

/* One lockstep step over all groups: (x, y) = 2 (x, y) when qx is NULL, else
 * (x, y) += (qx, neg ? -qy : qy). */
typedef struct {
    fv *x, *y;
    const fv *qx, *qy;
    int neg;
} ifma_step;

/* The rest of an affine addition or doubling once l (the slope) is known: x3 = l^2 - x - ox,
 * y3 = l (x - x3) - y, all below 2p; the subtractions ride on the products' carry pass. */
FV_INLINE void ifma_finish(fv *x, fv *y, const fv *ox, const fv *l) {
    fv s, c, x3, t;
    fv_add(&s, x, ox);
    fv_red2(&s, &s);
    fv_neg_k_raw(&c, &s, FV_2P);
    fv_sqr_add(&x3, l, &c); /* l^2 + 2p - s < 4p */
    fv_red2(&x3, &x3);
    fv_sub(&t, x, &x3); /* < 4p */
    fv_neg_k_raw(&c, y, FV_2P);
    fv_mul_add(&t, l, &t, &c); /* l (x - x3) + 2p - y < 4p */
    fv_red2(y, &t);
    *x = x3;
}

/* Group g of the step, given the inverse of its denominator. */
FV_INLINE void ifma_update(const ifma_step *st, size_t g, const fv *inv) {
    fv *x = &st->x[g], *y = &st->y[g];
    fv l;
    if (!st->qx) {
        fv t;
        fv_sqr(&t, x);
        for (int j = 0; j < 5; j++) l.l[j] = V_ADD(V_ADD(t.l[j], t.l[j]), t.l[j]);
        fv_norm(&l); /* 3 x^2 < 6p, one carry pass */
        fv_mul(&l, &l, inv); /* 3 x^2 / 2y */
        const fv ox = *x;
        ifma_finish(x, y, &ox, &l);
        return;
    }
    if (st->neg) { /* -qy - y = 4p - qy - y */
        fv_neg_k_raw(&l, &st->qy[g], FV_4P);
        for (int j = 0; j < 5; j++) l.l[j] = V_SUB(l.l[j], y->l[j]);
        fv_norm(&l);
    } else {
        fv_sub(&l, &st->qy[g], y);
    }
    fv_mul(&l, &l, inv);
    ifma_finish(x, y, &st->qx[g], &l);
}

/* Montgomery's trick along two chains (even and odd groups): pre[g] = the product of the
 * earlier denominators of g's chain, acc = the chains' totals. With src the denominators are
 * made here (and kept in den) instead of read from den: one pass less over the groups. */
static void ifma_chains(ifma_ws *w, const ifma_step *src, fv acc[2]) {
    fv a0, a1;
    fv_set1(&a0, FV_ONE);
    a1 = a0;
    for (size_t g = 0; g < w->G; g += 2) {
        fv d0, d1;
        int two = g + 1 < w->G;
        if (src && src->qx) {
            fv_sub(&d0, &src->qx[g], &src->x[g]);
            if (two) fv_sub(&d1, &src->qx[g + 1], &src->x[g + 1]);
        } else if (src) {
            fv_add(&d0, &src->y[g], &src->y[g]);
            if (two) fv_add(&d1, &src->y[g + 1], &src->y[g + 1]);
        } else {
            d0 = w->den[g];
            if (two) d1 = w->den[g + 1];
        }
        w->den[g] = d0;
        w->pre[g] = a0;
        fv_mul(&a0, &a0, &d0);
        if (two) {
            w->den[g + 1] = d1;
            w->pre[g + 1] = a1;
            fv_mul(&a1, &a1, &d1);
        }
    }
    acc[0] = a0;
    acc[1] = a1;
}

/* One step: the denominators by Montgomery's trick, each group updated as soon as its
 * inverse is known (the multiply-bound backward chain and the add-bound formulas interleave).
 * Lanes whose denominator is 0 are flagged and given 1 (their results are garbage, recomputed
 * by the caller). */
static void ifma_run_step(ifma_ws *w, const ifma_step *src) {
    const size_t G = w->G;
    fv one, acc[2];
    fv_set1(&one, FV_ONE);
    ifma_chains(w, src, acc);
    if (fv_is_zero(&acc[0]) | fv_is_zero(&acc[1])) {
        /* rare: find the zero denominators, then redo the chains */
        for (size_t g = 0; g < G; g++) {
            vmask z = fv_is_zero(&w->den[g]);
            if (z) {
                w->bad[g] |= (uint8_t)z;
                fv_select(&w->den[g], z, &w->den[g], &one);
            }
        }
        ifma_chains(w, 0, acc);
    }
    /* the 2 FV_LANES totals, canonical, to field.h's form: any integer T is a Montgomery
     * element there, fq_inv gives 2^512 / T and one product by 2^264 makes it 2^520 / T, the
     * inverse in the R' form */
    enum { NT = 2 * FV_LANES };
    uint64_t tot[NT][4], pre[NT][4];
    for (int c = 0; c < 2; c++) {
        fv t;
        fv_canon(&t, &acc[c]);
        fv_store_raw(tot[c * FV_LANES], 4, &t);
    }
    fe run = FQ_ONE, cst;
    fv_join64(cst.l, FV_C264);
    for (int i = 0; i < NT; i++) {
        memcpy(pre[i], run.l, 32);
        fq_mul(&run, &run, (const fe *)tot[i]);
    }
    fq_inv(&run, &run);
    for (int i = NT; i-- > 0;) {
        fe inv;
        fq_mul(&inv, &run, (const fe *)pre[i]);
        fq_mul(&run, &run, (const fe *)tot[i]);
        fq_mul(&inv, &inv, &cst);
        memcpy(tot[i], inv.l, 32);
    }
    fv a0, a1;
    fv_load_raw(&a0, tot[0], 4);
    fv_load_raw(&a1, tot[FV_LANES], 4);
    size_t g = G;
    if (g & 1) { /* the last group is on chain 0 */
        g--;
        fv inv;
        fv_mul(&inv, &a0, &w->pre[g]);
        fv_mul(&a0, &a0, &w->den[g]);
        ifma_update(src, g, &inv);
    }
    while (g > 0) {
        g -= 2;
        fv i0, i1;
        fv_mul(&i1, &a1, &w->pre[g + 1]);
        fv_mul(&a1, &a1, &w->den[g + 1]);
        fv_mul(&i0, &a0, &w->pre[g]);
        fv_mul(&a0, &a0, &w->den[g]);
        ifma_update(src, g + 1, &i1);
        ifma_update(src, g, &i0);
    }
}

static void ifma_dbl(fv *x, fv *y, ifma_ws *w) {
    ifma_step st = {x, y, 0, 0, 0};
    ifma_run_step(w, &st);
}

static void ifma_add(fv *x, fv *y, const fv *qx, const fv *qy, int neg, ifma_ws *w) {
    ifma_step st = {x, y, qx, qy, neg};
    ifma_run_step(w, &st);
}

static void ifma_ws_free(ifma_ws *w) {
    free(w->x);
    free(w->bad);
    memset(w, 0, sizeof(*w));
}

/* One allocation for every array (x, y, den, pre: G each; tx, ty, px: IFMA_TABLE G each). */
static int ifma_ws_init(ifma_ws *w) {
    const size_t G = IFMA_G, nv = G * (4 + 3 * IFMA_TABLE);
    memset(w, 0, sizeof(*w));
    fv *buf = (fv *)aligned_alloc(64, nv * sizeof(fv));
    w->bad = (uint8_t *)malloc(G);
    if (!buf || !w->bad) {
        free(buf);
        free(w->bad);
        return -1;
    }
    w->x = buf;
    w->y = buf + G;
    w->den = buf + 2 * G;
    w->pre = buf + 3 * G;
    w->tx = buf + 4 * G;
    w->ty = w->tx + IFMA_TABLE * G;
    w->px = w->ty + IFMA_TABLE * G;
    return 0;
}

typedef struct {
    const int8_t *naf[2];
    int len, neg[2];
} ifma_plan;

/* out[0..n) = k in[0..n) (8 u64 per point), n <= IFMA_BATCH; bad[i] = 1 for the points the
 * caller must redo. */
static void ifma_batch_run(uint64_t *out, const uint64_t *in, size_t n, const ifma_plan *plan, uint8_t *bad,
                           ifma_ws *w) {
    const size_t G = (n + FV_LANES - 1) / FV_LANES;
    w->G = G;
    fe gy;
    fq_dbl(&gy, &FQ_ONE);
    for (size_t g = 0; g < G; g++) {
        /* infinity and the padding of the last group become the generator (1, 2), as in msm.c */
        uint64_t tmp[FV_LANES][8];
        uint8_t b = 0;
        for (int l = 0; l < FV_LANES; l++) {
            size_t i = g * FV_LANES + (size_t)l;
            int inf = 1;
            if (i < n) {
                memcpy(tmp[l], in + 8 * i, 64);
                for (int j = 0; j < 8; j++) inf &= in[8 * i + j] == 0;
            }
            if (inf) {
                memcpy(tmp[l], FQ_ONE.l, 32);
                memcpy(tmp[l] + 4, gy.l, 32);
                b |= (uint8_t)(1u << l);
            }
        }
        w->bad[g] = b;
        fv_load(&w->tx[g], tmp[0], 8);
        fv_load(&w->ty[g], tmp[0] + 4, 8);
    }
    /* 2P into the accumulators (scratch for now), then (2j+1) P = (2j-1) P + 2P */
    memcpy(w->x, w->tx, G * sizeof(fv));
    memcpy(w->y, w->ty, G * sizeof(fv));
    ifma_dbl(w->x, w->y, w);
    for (int j = 1; j < IFMA_TABLE; j++) {
        memcpy(w->tx + j * G, w->tx + (j - 1) * G, G * sizeof(fv));
        memcpy(w->ty + j * G, w->ty + (j - 1) * G, G * sizeof(fv));
        ifma_add(w->tx + j * G, w->ty + j * G, w->x, w->y, 0, w);
    }
    fv beta;
    fv_set1(&beta, FV_BETA);
    for (size_t k = 0; k < IFMA_TABLE * G; k++) fv_mul(&w->px[k], &w->tx[k], &beta);
    int started = 0;
    for (int pos = plan->len - 1; pos >= 0; pos--) {
        if (started) ifma_dbl(w->x, w->y, w);
        for (int h = 0; h < 2; h++) {
            int d = plan->naf[h][pos];
            if (d == 0) continue;
            int neg = (d < 0) != plan->neg[h];
            size_t off = (size_t)((d < 0 ? -d : d) - 1) / 2 * G;
            const fv *qx = (h ? w->px : w->tx) + off, *qy = w->ty + off;
            if (!started) {
                memcpy(w->x, qx, G * sizeof(fv));
                for (size_t g = 0; g < G; g++) {
                    if (neg) {
                        fv z;
                        fv_neg_k(&z, &qy[g], FV_2P);
                        fv_red2(&w->y[g], &z);
                    } else {
                        w->y[g] = qy[g];
                    }
                }
                started = 1;
            } else {
                ifma_add(w->x, w->y, qx, qy, neg, w);
            }
        }
    }
    for (size_t g = 0; g < G; g++) {
        uint64_t tmp[FV_LANES][8];
        if (started) {
            fv_store(tmp[0], 8, &w->x[g]);
            fv_store(tmp[0] + 4, 8, &w->y[g]);
        } else {
            memset(tmp, 0, sizeof(tmp));
        }
        for (int l = 0; l < FV_LANES; l++) {
            size_t i = g * FV_LANES + (size_t)l;
            if (i >= n) break;
            memcpy(out + 8 * i, tmp[l], 64);
            bad[i] = (uint8_t)((w->bad[g] >> l) & 1);
        }
    }
}

static int ifma_scale(const uint64_t *points, size_t n, const int8_t *naf1, const int8_t *naf2, int len, int neg1,
                      int neg2, int nthreads, uint64_t *out, uint8_t *bad) {
    ifma_plan plan = {{naf1, naf2}, len, {neg1, neg2}};
    int T = nthreads < 1 ? 1 : nthreads, failed = 0;
    /* fewer points than T full batches: smaller batches, so that every thread gets one */
    size_t per = (n + (size_t)T - 1) / (size_t)T, batch = IFMA_BATCH;
    if (per < batch) batch = per < 512 ? 512 : (per + FV_LANES - 1) / FV_LANES * FV_LANES;
    size_t nchunks = (n + batch - 1) / batch;
#pragma omp parallel num_threads(T)
    {
        ifma_ws w;
        if (ifma_ws_init(&w) < 0) {
#pragma omp atomic write
            failed = 1;
        } else {
#pragma omp for schedule(dynamic)
            for (long ci = 0; ci < (long)nchunks; ci++) {
                size_t lo = (size_t)ci * batch, hi = lo + batch < n ? lo + batch : n;
                ifma_batch_run(out + 8 * lo, points + 8 * lo, hi - lo, &plan, bad + lo, &w);
            }
            ifma_ws_free(&w);
        }
    }
    return failed ? -1 : 0;
}

static int ifma_field(int op, const uint64_t *a, const uint64_t *b, size_t n, uint64_t *out) {
    if (n % FV_LANES) return -1;
    for (size_t i = 0; i < n; i += FV_LANES) {
        fv x, y, r;
        fv_load_raw(&x, a + 4 * i, 4);
        fv_load_raw(&y, b + 4 * i, 4);
        switch (op) {
        case ZKP_IFMA_MUL: fv_mul(&r, &x, &y); break;
        case ZKP_IFMA_SQR: fv_sqr(&r, &x); break;
        case ZKP_IFMA_ADD: fv_add(&r, &x, &y); break;
        case ZKP_IFMA_SUB: fv_sub(&r, &x, &y); break;
        case ZKP_IFMA_CANON: fv_canon(&r, &x); break;
        case ZKP_IFMA_IS_ZERO: {
            vmask z = fv_is_zero(&x);
            for (int j = 0; j < 5; j++) r.l[j] = V_ZERO();
            r.l[0] = V_BLEND(z, r.l[0], V_SET1(1));
            break;
        }
        case ZKP_IFMA_ROUNDTRIP: { /* field.h form -> R' -> field.h form */
            fv_load(&r, a + 4 * i, 4);
            fv_store(out + 4 * i, 4, &r);
            continue;
        }
        default: return -1;
        }
        fv_store_raw(out + 4 * i, 4, &r);
    }
    return 0;
}

#endif
#ifdef ZKP_IFMA_PRAGMA
#pragma GCC pop_options
#endif

/* The entry points below run without the IFMA target (the check must not itself need it). */
static int ifma_cpu(void) {
    return __builtin_cpu_supports("avx512ifma") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512dq");
}

/* Whether zkp_scale_g1_glv takes the path above: compiled in, the CPU has IFMA, and
 * ZKPROVER_NO_IFMA is unset (or "" or "0"). */
int zkp_ifma_usable(void) {
#ifdef ZKP_HAVE_IFMA
    const char *off = getenv("ZKPROVER_NO_IFMA");
    if (off && *off && strcmp(off, "0") != 0) return 0;
    return ifma_cpu();
#else
    return 0;
#endif
}

int zkp_scale_g1_glv_ifma(const uint64_t *points, size_t n, const int8_t *naf1, const int8_t *naf2, int len,
                          int neg1, int neg2, int nthreads, uint64_t *out, uint8_t *bad) {
#ifdef ZKP_HAVE_IFMA
    if (ifma_cpu()) return ifma_scale(points, n, naf1, naf2, len, neg1, neg2, nthreads, out, bad);
#endif
    (void)points, (void)n, (void)naf1, (void)naf2, (void)len, (void)neg1, (void)neg2, (void)nthreads, (void)out,
        (void)bad;
    return -1;
}

int zkp_ifma_field(int op, const uint64_t *a, const uint64_t *b, size_t n, uint64_t *out) {
#ifdef ZKP_HAVE_IFMA
    if (ifma_cpu()) return ifma_field(op, a, b, n, out);
#endif
    (void)op, (void)a, (void)b, (void)n, (void)out;
    return -1;
}

int zkp_ifma_compiled(void) {
#ifdef ZKP_HAVE_IFMA
    return 1;
#else
    return 0;
#endif
}

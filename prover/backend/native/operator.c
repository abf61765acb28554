/* The rollup operator's hashing and signature checks in native code (circuits/native/fast.py).
 *
 * Native twins of the pure-Python references in circuits/native/: Poseidon (poseidon.py), Baby
 * Jubjub point addition and scalar multiplication (babyjub.py), EdDSA-Poseidon verification
 * (eddsa.py) and the hashes up one Merkle path (merkle.py). Each computes exactly what its twin
 * computes, with the same formulas in the same order, so results agree bit for bit, even for
 * points off the curve; tests/test_native_operator.py holds them to it.
 *
 * Values cross the boundary as 32-byte little-endian standard-form integers, already reduced
 * below r by the Python side (checked here too); everything inside runs in Montgomery form. The
 * Poseidon constants are not pasted here: Python derives them (poseidon_constants.py) and hands
 * each width over once (operator_poseidon_setup) before any hash of that width is asked for.
 * Signature checks of a batch run across cores with the GIL released. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <string.h>

#include "field.h"

#define POS_MIN_T 2
#define POS_MAX_T 17
#define POS_FULL_ROUNDS 8

typedef struct {
    int rp;         /* partial rounds; 0 while the width is not set up */
    fe *full;       /* 8 * t constants of the full rounds */
    fe *partial;    /* rp constants of the partial rounds (cell 0 only) */
    fe *sparse;     /* rp * (2t - 1): row 0, then column 0 below the diagonal */
    fe *pre_sparse; /* t * t matrix of the last full round before the partial rounds */
    fe *mds;        /* t * t MDS matrix of the other full rounds */
} pos_params;

static pos_params POS[POS_MAX_T + 1];

static const fe ONE_STD = {{1, 0, 0, 0}};
/* Baby Jubjub base point B8 and the subgroup order (circuits/native/babyjub.py), standard form. */
static const fe B8X_STD = {{0x2893f3f6bb957051ULL, 0x2ab8d8010534e0b6ULL, 0x4eacb2e09d6277c1ULL, 0x0bb77a6ad63e739bULL}};
static const fe B8Y_STD = {{0x4b3c257a872d7d8bULL, 0xfce0051fb9e13377ULL, 0x25572e1cd16bf9edULL, 0x25797203f7a0b249ULL}};
static const fe SUBORDER = {{0x677297dc392126f1ULL, 0xab3eedb83920ee0aULL, 0x370a08b6d0302b0bULL, 0x060c89ce5c263405ULL}};

static inline void to_mont(fe *r, const fe *a) { fr_mul(r, a, &FR_R2); }
static inline void from_mont(fe *r, const fe *a) { fr_mul(r, a, &ONE_STD); }

static inline int load_std(fe *r, const unsigned char *src) {
    memcpy(r->l, src, 32);
    if (fe_geq(r, &FR_P)) return -1;
    to_mont(r, r);
    return 0;
}

static inline void store_std(unsigned char *dst, const fe *a) {
    fe s;
    from_mont(&s, a);
    memcpy(dst, s.l, 32);
}

static inline fe small_mont(u64 v) {
    fe s = {{v, 0, 0, 0}}, r;
    to_mont(&r, &s);
    return r;
}

/* ---- Poseidon ---- */

static inline void sbox(fe *x) {
    fe x2, x4;
    fr_mul(&x2, x, x);
    fr_mul(&x4, &x2, &x2);
    fr_mul(x, &x4, x);
}

static inline void dense(const fe *m, int t, fe *s) {
    fe next[POS_MAX_T];
    for (int i = 0; i < t; i++) {
        const fe *row = m + (size_t)i * t;
        fe acc, prod;
        fr_mul(&acc, &row[0], &s[0]);
        for (int j = 1; j < t; j++) {
            fr_mul(&prod, &row[j], &s[j]);
            fr_add(&acc, &acc, &prod);
        }
        next[i] = acc;
    }
    memcpy(s, next, sizeof(fe) * (size_t)t);
}

static inline void full_round(const pos_params *pp, int t, int k, const fe *m, fe *s) {
    const fe *c = pp->full + (size_t)k * t;
    for (int i = 0; i < t; i++) {
        fr_add(&s[i], &s[i], &c[i]);
        sbox(&s[i]);
    }
    dense(m, t, s);
}

/* The permutation on t Montgomery cells, in the optimized form of circuits/native/poseidon_opt.py
 * (the same function as poseidon_permutation, about 2t products per partial round, not t^2). */
static void poseidon_perm(const pos_params *pp, int t, fe *s) {
    int half = POS_FULL_ROUNDS / 2;
    for (int k = 0; k < half; k++) full_round(pp, t, k, k == half - 1 ? pp->pre_sparse : pp->mds, s);
    for (int i = 0; i < pp->rp; i++) {
        fr_add(&s[0], &s[0], &pp->partial[i]);
        sbox(&s[0]);
        const fe *row = pp->sparse + (size_t)i * (size_t)(2 * t - 1), *col = row + t;
        fe s0 = s[0], acc, prod;
        fr_mul(&acc, &row[0], &s[0]);
        for (int j = 1; j < t; j++) {
            fr_mul(&prod, &row[j], &s[j]);
            fr_add(&acc, &acc, &prod);
            fr_mul(&prod, &col[j - 1], &s0);
            fr_add(&s[j], &s[j], &prod);
        }
        s[0] = acc;
    }
    for (int k = half; k < POS_FULL_ROUNDS; k++) full_round(pp, t, k, pp->mds, s);
}

/* Poseidon of t - 1 Montgomery inputs (capacity cell 0), Montgomery result. */
static void poseidon_hash(int t, const fe *inputs, fe *out) {
    fe s[POS_MAX_T];
    memset(&s[0], 0, sizeof(fe));
    memcpy(&s[1], inputs, sizeof(fe) * (size_t)(t - 1));
    poseidon_perm(&POS[t], t, s);
    *out = s[0];
}

static int width_ready(int t) {
    if (t < POS_MIN_T || t > POS_MAX_T) {
        PyErr_Format(PyExc_ValueError, "Poseidon width t must be in %d..%d, got %d", POS_MIN_T, POS_MAX_T, t);
        return 0;
    }
    if (!POS[t].rp) {
        PyErr_Format(PyExc_RuntimeError, "Poseidon width %d is not set up (operator_poseidon_setup)", t);
        return 0;
    }
    return 1;
}

enum { SET_FULL, SET_PARTIAL, SET_SPARSE, SET_PRE_SPARSE, SET_MDS, SET_PARTS };

/* operator_poseidon_setup(t, rp, full, partial, sparse, pre_sparse, mds): a width's constants in
 * standard form, little-endian (fast._fast_form), once per width. */
static PyObject *py_poseidon_setup(PyObject *self, PyObject *args) {
    int t, rp;
    Py_buffer b[SET_PARTS];
    if (!PyArg_ParseTuple(args, "iiy*y*y*y*y*", &t, &rp, &b[0], &b[1], &b[2], &b[3], &b[4])) return NULL;
    PyObject *ret = NULL;
    fe *parts[SET_PARTS] = {NULL};
    size_t want[SET_PARTS] = {(size_t)POS_FULL_ROUNDS * t, (size_t)rp, (size_t)rp * (size_t)(2 * t - 1),
                              (size_t)t * t, (size_t)t * t};
    if (t < POS_MIN_T || t > POS_MAX_T || rp <= 0) {
        PyErr_Format(PyExc_ValueError, "Poseidon setup: bad width %d or partial rounds %d", t, rp);
        goto done;
    }
    for (int k = 0; k < SET_PARTS; k++) {
        if ((size_t)b[k].len != want[k] * 32) {
            PyErr_Format(PyExc_ValueError, "Poseidon setup: part %d is %zd bytes, not %zu", k, b[k].len, want[k] * 32);
            goto done;
        }
        if (!(parts[k] = malloc(want[k] * sizeof(fe)))) {
            PyErr_NoMemory();
            goto done;
        }
        for (size_t i = 0; i < want[k]; i++)
            if (load_std(&parts[k][i], (const unsigned char *)b[k].buf + 32 * i) < 0) {
                PyErr_SetString(PyExc_ValueError, "Poseidon setup: a constant is not below r");
                goto done;
            }
    }
    /* Set once, never freed: a width's constants never change, and a hash may be running. */
    if (!POS[t].rp) {
        POS[t] = (pos_params){rp, parts[0], parts[1], parts[2], parts[3], parts[4]};
        memset(parts, 0, sizeof(parts));
    }
    ret = Py_NewRef(Py_None);
done:
    for (int k = 0; k < SET_PARTS; k++) {
        free(parts[k]);
        PyBuffer_Release(&b[k]);
    }
    return ret;
}

static int load_all(fe *dst, const unsigned char *src, size_t n, const char *what) {
    for (size_t i = 0; i < n; i++)
        if (load_std(&dst[i], src + 32 * i) < 0) {
            PyErr_Format(PyExc_ValueError, "%s: value %zu is not below r", what, i);
            return -1;
        }
    return 0;
}

/* operator_poseidon(t, inputs) -> bytes: one hash per t - 1 inputs, n hashes at once. */
static PyObject *py_poseidon(PyObject *self, PyObject *args) {
    int t;
    Py_buffer in;
    if (!PyArg_ParseTuple(args, "iy*", &t, &in)) return NULL;
    PyObject *ret = NULL;
    if (!width_ready(t)) goto done;
    size_t per = (size_t)(t - 1) * 32;
    if (in.len == 0 || (size_t)in.len % per) {
        PyErr_Format(PyExc_ValueError, "operator_poseidon: %zd bytes is not a whole number of %d inputs", in.len, t - 1);
        goto done;
    }
    size_t n = (size_t)in.len / per;
    ret = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(32 * n));
    if (!ret) goto done;
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(ret);
    for (size_t k = 0; k < n; k++) {
        fe x[POS_MAX_T], h;
        if (load_all(x, (const unsigned char *)in.buf + per * k, (size_t)(t - 1), "operator_poseidon") < 0) {
            Py_CLEAR(ret);
            goto done;
        }
        poseidon_hash(t, x, &h);
        store_std(out + 32 * k, &h);
    }
done:
    PyBuffer_Release(&in);
    return ret;
}

/* operator_merkle_path(leaf, index, siblings, arity) -> bytes: the node at every level of the
 * path from the leaf (level 0) to the root (level depth), as merkle.path_nodes. */
static PyObject *py_merkle_path(PyObject *self, PyObject *args) {
    Py_buffer leaf, sib;
    unsigned long long index;
    int arity;
    if (!PyArg_ParseTuple(args, "y*Ky*i", &leaf, &index, &sib, &arity)) return NULL;
    PyObject *ret = NULL;
    if (arity < 2 || arity >= POS_MAX_T || !width_ready(arity + 1)) goto done;
    size_t per = (size_t)(arity - 1) * 32;
    if (leaf.len != 32 || (size_t)sib.len % per) {
        PyErr_SetString(PyExc_ValueError, "operator_merkle_path: a 32-byte leaf and arity - 1 siblings per level");
        goto done;
    }
    size_t depth = (size_t)sib.len / per;
    ret = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(32 * (depth + 1)));
    if (!ret) goto done;
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(ret);
    fe node;
    if (load_std(&node, leaf.buf) < 0) {
        PyErr_SetString(PyExc_ValueError, "operator_merkle_path: the leaf is not below r");
        Py_CLEAR(ret);
        goto done;
    }
    memcpy(out, leaf.buf, 32);
    for (size_t level = 0; level < depth; level++) {
        fe kids[POS_MAX_T], sibs[POS_MAX_T];
        if (load_all(sibs, (const unsigned char *)sib.buf + per * level, (size_t)(arity - 1), "operator_merkle_path") < 0) {
            Py_CLEAR(ret);
            goto done;
        }
        int digit = (int)(index % (unsigned)arity);
        for (int i = 0, j = 0; i < arity; i++) kids[i] = i == digit ? node : sibs[j++];
        poseidon_hash(arity + 1, kids, &node);
        store_std(out + 32 * (level + 1), &node);
        index /= (unsigned)arity;
    }
done:
    PyBuffer_Release(&leaf);
    PyBuffer_Release(&sib);
    return ret;
}

/* ---- Baby Jubjub: a x^2 + y^2 = 1 + d x^2 y^2 over Fr ---- */

typedef struct {
    fe x, y, z;
} proj;

static fe BJ_A, BJ_D, B8X, B8Y; /* Montgomery form, set at module init */

/* babyjub._padd ("add-2008-bbjlp"), operation for operation. */
static void padd(proj *r, const proj *p, const proj *q) {
    fe a, b, c, d, e, f, g, t1, t2;
    fr_mul(&a, &p->z, &q->z);
    fr_mul(&b, &a, &a);
    fr_mul(&c, &p->x, &q->x);
    fr_mul(&d, &p->y, &q->y);
    fr_mul(&e, &BJ_D, &c);
    fr_mul(&e, &e, &d);
    fr_sub(&f, &b, &e);
    fr_add(&g, &b, &e);
    fr_add(&t1, &p->x, &p->y);
    fr_add(&t2, &q->x, &q->y);
    fr_mul(&t1, &t1, &t2);
    fr_sub(&t1, &t1, &c);
    fr_sub(&t1, &t1, &d);
    fr_mul(&t2, &a, &f);
    fr_mul(&r->x, &t2, &t1);
    fr_mul(&t1, &BJ_A, &c);
    fr_sub(&t1, &d, &t1);
    fr_mul(&t2, &a, &g);
    fr_mul(&r->y, &t2, &t1);
    fr_mul(&r->z, &f, &g);
}

/* babyjub.mul's double-and-add, low bit first, k given as n little-endian 64-bit limbs. */
static void pmul(proj *r, const fe *x, const fe *y, const u64 *k, size_t n) {
    proj acc = {.x = {{0}}, .y = FR_ONE, .z = FR_ONE};
    proj base = {.x = *x, .y = *y, .z = FR_ONE};
    size_t top = n;
    while (top && !k[top - 1]) top--;
    for (size_t w = 0; w < top; w++) {
        u64 word = k[w];
        int bits = 64;
        if (w == top - 1) bits = 64 - __builtin_clzll(word);
        for (int i = 0; i < bits; i++, word >>= 1) {
            if (word & 1) padd(&acc, &acc, &base);
            padd(&base, &base, &base);
        }
    }
    *r = acc;
}

static int to_affine(fe *x, fe *y, const proj *p) {
    if (fe_is_zero(&p->z)) return -1;
    fe zi;
    fr_inv(&zi, &p->z);
    fr_mul(x, &p->x, &zi);
    fr_mul(y, &p->y, &zi);
    return 0;
}

static int on_curve(const fe *x, const fe *y) {
    fe x2, y2, l, r;
    fr_mul(&x2, x, x);
    fr_mul(&y2, y, y);
    fr_mul(&l, &BJ_A, &x2);
    fr_add(&l, &l, &y2);
    fr_mul(&r, &BJ_D, &x2);
    fr_mul(&r, &r, &y2);
    fr_add(&r, &r, &FR_ONE);
    return fe_eq(&l, &r);
}

static int load_point(fe *x, fe *y, const Py_buffer *b, const char *what) {
    if (b->len != 64 || load_std(x, b->buf) < 0 || load_std(y, (const unsigned char *)b->buf + 32) < 0) {
        PyErr_Format(PyExc_ValueError, "%s: a point is 64 bytes, two coordinates below r", what);
        return -1;
    }
    return 0;
}

static PyObject *point_bytes(const proj *p) {
    fe x, y;
    if (to_affine(&x, &y, p) < 0) {
        PyErr_SetString(PyExc_ZeroDivisionError, "inverse of 0");
        return NULL;
    }
    unsigned char buf[64];
    store_std(buf, &x);
    store_std(buf + 32, &y);
    return PyBytes_FromStringAndSize((const char *)buf, 64);
}

/* operator_bjj_add(p1, p2) -> 64 bytes; ZeroDivisionError where babyjub.add would raise it.
 * The affine formula of babyjub.add is the projective one with Z1 = Z2 = 1 (same quotients). */
static PyObject *py_bjj_add(PyObject *self, PyObject *args) {
    Py_buffer a, b;
    if (!PyArg_ParseTuple(args, "y*y*", &a, &b)) return NULL;
    PyObject *ret = NULL;
    proj p = {.z = FR_ONE}, q = {.z = FR_ONE}, r;
    if (load_point(&p.x, &p.y, &a, "operator_bjj_add") == 0 && load_point(&q.x, &q.y, &b, "operator_bjj_add") == 0) {
        /* babyjub.add divides by 1 + d*tau and 1 - d*tau separately: Z3 = F*G is zero iff one is. */
        padd(&r, &p, &q);
        ret = point_bytes(&r);
    }
    PyBuffer_Release(&a);
    PyBuffer_Release(&b);
    return ret;
}

/* operator_bjj_mul(p, k) -> 64 bytes: k as little-endian bytes, a multiple of 8 long. */
static PyObject *py_bjj_mul(PyObject *self, PyObject *args) {
    Py_buffer a, k;
    if (!PyArg_ParseTuple(args, "y*y*", &a, &k)) return NULL;
    PyObject *ret = NULL;
    fe x, y;
    if (k.len % 8) {
        PyErr_SetString(PyExc_ValueError, "operator_bjj_mul: the scalar is a whole number of 64-bit limbs");
    } else if (load_point(&x, &y, &a, "operator_bjj_mul") == 0) {
        proj r;
        pmul(&r, &x, &y, (const u64 *)k.buf, (size_t)k.len / 8);
        ret = point_bytes(&r);
    }
    PyBuffer_Release(&a);
    PyBuffer_Release(&k);
    return ret;
}

/* Doubling ("dbl-2008-bbjlp"): complete on this curve (a square, d not) for points on it; only
 * the signature check uses it, after the curve checks. */
static void pdbl(proj *r, const proj *p) {
    fe b, c, d, e, f, h, j, t;
    fr_add(&b, &p->x, &p->y);
    fr_mul(&b, &b, &b);
    fr_mul(&c, &p->x, &p->x);
    fr_mul(&d, &p->y, &p->y);
    fr_mul(&e, &BJ_A, &c);
    fr_add(&f, &e, &d);
    fr_mul(&h, &p->z, &p->z);
    fr_add(&h, &h, &h);
    fr_sub(&j, &f, &h);
    fr_sub(&t, &b, &c);
    fr_sub(&t, &t, &d);
    fr_mul(&r->x, &t, &j);
    fr_sub(&t, &e, &d);
    fr_mul(&r->y, &f, &t);
    fr_mul(&r->z, &f, &j);
}

/* s·P + h·Q for 256-bit s, h (one doubling chain, Shamir's trick), points on the curve. */
static void pmul2(proj *r, const u64 s[4], const proj *p, const u64 h[4], const proj *q) {
    proj table[4] = {{.x = {{0}}, .y = FR_ONE, .z = FR_ONE}, *p, *q, {{{0}}}};
    padd(&table[3], p, q);
    proj acc = table[0];
    for (int bit = 255; bit >= 0; bit--) {
        pdbl(&acc, &acc);
        int k = (int)((s[bit / 64] >> (bit % 64)) & 1) | (int)(((h[bit / 64] >> (bit % 64)) & 1) << 1);
        if (k) padd(&acc, &acc, &table[k]);
    }
    *r = acc;
}

enum { SIG_MSG, SIG_R8X, SIG_R8Y, SIG_S, SIG_AX, SIG_AY, SIG_FIELDS };

/* eddsa.verify_poseidon on one item of SIG_FIELDS standard-form values. */
static int eddsa_verify_one(const unsigned char *item) {
    fe v[SIG_FIELDS], s_std;
    memcpy(s_std.l, item + 32 * SIG_S, 32);
    if (fe_geq(&s_std, &SUBORDER)) return 0;
    for (int i = 0; i < SIG_FIELDS; i++)
        if (load_std(&v[i], item + 32 * i) < 0) return 0;
    if (!on_curve(&v[SIG_R8X], &v[SIG_R8Y]) || !on_curve(&v[SIG_AX], &v[SIG_AY])) return 0;
    /* Low-order keys (8·A has x = 0) are refused, as the circuit does. */
    proj a8 = {.x = v[SIG_AX], .y = v[SIG_AY], .z = FR_ONE};
    for (int i = 0; i < 3; i++) pdbl(&a8, &a8);
    if (fe_is_zero(&a8.x)) return 0;
    fe hm, h_std;
    fe hin[5] = {v[SIG_R8X], v[SIG_R8Y], v[SIG_AX], v[SIG_AY], v[SIG_MSG]};
    poseidon_hash(6, hin, &hm);
    from_mont(&h_std, &hm);
    /* S·B8 == R8 + (8h)·A  <=>  S·B8 + h·(-8A) == R8 (the group is abelian, all points on it). */
    proj sum, b8 = {.x = B8X, .y = B8Y, .z = FR_ONE};
    fr_neg(&a8.x, &a8.x);
    pmul2(&sum, s_std.l, &b8, h_std.l, &a8);
    fe l;
    if (fe_is_zero(&sum.z)) return 0;
    fr_mul(&l, &v[SIG_R8X], &sum.z);
    if (!fe_eq(&l, &sum.x)) return 0;
    fr_mul(&l, &v[SIG_R8Y], &sum.z);
    return fe_eq(&l, &sum.y);
}

/* operator_eddsa_verify(items, nthreads) -> bytes: 1 per valid signature, else 0. */
static PyObject *py_eddsa_verify(PyObject *self, PyObject *args) {
    Py_buffer in;
    int nthreads;
    if (!PyArg_ParseTuple(args, "y*i", &in, &nthreads)) return NULL;
    PyObject *ret = NULL;
    size_t per = 32 * SIG_FIELDS;
    if (!width_ready(6)) goto done;
    if ((size_t)in.len % per) {
        PyErr_SetString(PyExc_ValueError, "operator_eddsa_verify: items are (msg, R8x, R8y, S, Ax, Ay), 32 bytes each");
        goto done;
    }
    Py_ssize_t n = (Py_ssize_t)((size_t)in.len / per);
    ret = PyBytes_FromStringAndSize(NULL, n);
    if (!ret) goto done;
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(ret);
    const unsigned char *items = in.buf;
    if (nthreads < 1) nthreads = 1;
    Py_BEGIN_ALLOW_THREADS
#pragma omp parallel for schedule(dynamic) num_threads(nthreads) if (n > 1)
    for (Py_ssize_t i = 0; i < n; i++) out[i] = (unsigned char)eddsa_verify_one(items + per * (size_t)i);
    Py_END_ALLOW_THREADS
done:
    PyBuffer_Release(&in);
    return ret;
}

static PyMethodDef operator_methods[] = {
    {"operator_poseidon_setup", py_poseidon_setup, METH_VARARGS,
     "operator_poseidon_setup(t, partial_rounds, full, partial, sparse, pre_sparse, mds): a width's constants, once "
     "(circuits/native/fast.py)"},
    {"operator_poseidon", py_poseidon, METH_VARARGS, "operator_poseidon(t, inputs) -> one 32-byte hash per t - 1 inputs"},
    {"operator_merkle_path", py_merkle_path, METH_VARARGS,
     "operator_merkle_path(leaf, index, siblings, arity) -> the nodes from the leaf to the root"},
    {"operator_bjj_add", py_bjj_add, METH_VARARGS, "operator_bjj_add(p1, p2) -> p1 + p2 (64 bytes)"},
    {"operator_bjj_mul", py_bjj_mul, METH_VARARGS, "operator_bjj_mul(p, k) -> k * p (64 bytes)"},
    {"operator_eddsa_verify", py_eddsa_verify, METH_VARARGS,
     "operator_eddsa_verify(items, nthreads) -> one byte (1 valid, 0 not) per (msg, R8x, R8y, S, Ax, Ay)"},
    {NULL, NULL, 0, NULL},
};

int zkp_operator_register(PyObject *module) {
    BJ_A = small_mont(168700);
    BJ_D = small_mont(168696);
    to_mont(&B8X, &B8X_STD);
    to_mont(&B8Y, &B8Y_STD);
    return PyModule_AddFunctions(module, operator_methods);
}

/* CPython binding of the native kernels: prover.backend._native.
 *
 * Arguments are objects exporting the buffer protocol (NumPy arrays in the layouts of
 * prover/field/arrays.py); the kernels read and write that memory directly. The GIL is
 * released around every kernel so other Python threads (the gRPC server, a second worker) keep
 * running during a proof. Shapes and dtypes are checked by prover/backend/cpu.py; here only byte
 * lengths are checked, which is what memory safety needs.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "pairing.h"
#include "zkp.h"

static int get_buf(PyObject *obj, Py_buffer *view, int writable, const char *what) {
    int flags = PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) {
        PyErr_Format(PyExc_TypeError, "%s: expected a C-contiguous%s buffer", what, writable ? " writable" : "");
        return -1;
    }
    return 0;
}

static PyObject *msm_common(PyObject *args, int g2) {
    PyObject *bases_obj, *scalars_obj;
    int nthreads, flags = ZKP_MSM_AUTO, c = 0;
    if (!PyArg_ParseTuple(args, "OOi|ii", &bases_obj, &scalars_obj, &nthreads, &flags, &c)) return NULL;
    if (c < 0 || c > 20) {
        PyErr_Format(PyExc_ValueError, "msm: window bits %d outside 0..20", c);
        return NULL;
    }
    Py_buffer bases, scalars;
    if (get_buf(bases_obj, &bases, 0, "bases") < 0) return NULL;
    if (get_buf(scalars_obj, &scalars, 0, "scalars") < 0) {
        PyBuffer_Release(&bases);
        return NULL;
    }
    size_t point_bytes = g2 ? 128 : 64;
    size_t n = (size_t)scalars.len / 32;
    if ((size_t)scalars.len % 32 || (size_t)bases.len != n * point_bytes) {
        PyBuffer_Release(&bases);
        PyBuffer_Release(&scalars);
        PyErr_Format(PyExc_ValueError, "msm: %zd bytes of bases for %zu scalars", bases.len, n);
        return NULL;
    }
    uint64_t out[16];
    int rc;
    Py_BEGIN_ALLOW_THREADS
    if (g2)
        rc = zkp_msm_g2_cfg((const uint64_t *)bases.buf, (const uint64_t *)scalars.buf, n, nthreads, flags, c, out);
    else
        rc = zkp_msm_g1_cfg((const uint64_t *)bases.buf, (const uint64_t *)scalars.buf, n, nthreads, flags, c, out);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&bases);
    PyBuffer_Release(&scalars);
    if (rc < 0) return PyErr_NoMemory();
    if (rc == 0) Py_RETURN_NONE;
    return PyBytes_FromStringAndSize((const char *)out, (Py_ssize_t)point_bytes);
}

static PyObject *py_msm_g1(PyObject *self, PyObject *args) { return msm_common(args, 0); }
static PyObject *py_msm_g2(PyObject *self, PyObject *args) { return msm_common(args, 1); }

static PyObject *py_glv_split(PyObject *self, PyObject *args) {
    PyObject *scalars_obj, *halves_obj, *signs_obj;
    int g2;
    if (!PyArg_ParseTuple(args, "pOOO", &g2, &scalars_obj, &halves_obj, &signs_obj)) return NULL;
    Py_buffer scalars, halves, signs;
    if (get_buf(scalars_obj, &scalars, 0, "scalars") < 0) return NULL;
    if (get_buf(halves_obj, &halves, 1, "halves") < 0) {
        PyBuffer_Release(&scalars);
        return NULL;
    }
    if (get_buf(signs_obj, &signs, 1, "signs") < 0) {
        PyBuffer_Release(&scalars);
        PyBuffer_Release(&halves);
        return NULL;
    }
    size_t n = (size_t)scalars.len / 32;
    int rc = -3;
    if ((size_t)scalars.len % 32 == 0 && (size_t)halves.len == 64 * n && (size_t)signs.len == 2 * n)
        rc = zkp_glv_split(g2, (const uint64_t *)scalars.buf, n, (uint64_t *)halves.buf, (uint8_t *)signs.buf);
    PyBuffer_Release(&scalars);
    PyBuffer_Release(&halves);
    PyBuffer_Release(&signs);
    if (rc == -3) {
        PyErr_SetString(PyExc_ValueError, "glv_split: want scalars (n, 4), halves (n, 2, 4), signs (n, 2)");
        return NULL;
    }
    return PyBool_FromLong(rc == 0);
}

/* msm_table_build(g2, bases, flags, c, tw, nthreads, out): see zkp_msm_table_g1. */
static PyObject *py_msm_table_build(PyObject *self, PyObject *args) {
    PyObject *bases_obj, *out_obj;
    int g2, flags, c, tw, nthreads;
    if (!PyArg_ParseTuple(args, "pOiiiiO", &g2, &bases_obj, &flags, &c, &tw, &nthreads, &out_obj)) return NULL;
    if (flags < 0 || c < 1 || c > 20 || tw < 1 || tw > 64) {
        PyErr_Format(PyExc_ValueError, "msm_table_build: flags %d, c %d, tw %d (want flags >= 0, c 1..20, tw 1..64)",
                     flags, c, tw);
        return NULL;
    }
    Py_buffer bases, out;
    if (get_buf(bases_obj, &bases, 0, "bases") < 0) return NULL;
    if (get_buf(out_obj, &out, 1, "out") < 0) {
        PyBuffer_Release(&bases);
        return NULL;
    }
    size_t pb = g2 ? 128 : 64, n = (size_t)bases.len / pb;
    int rc = -3;
    if ((size_t)bases.len % pb == 0 && (size_t)out.len == zkp_msm_table_points(n, flags, tw) * pb) {
        Py_BEGIN_ALLOW_THREADS
        rc = g2 ? zkp_msm_table_g2((const uint64_t *)bases.buf, n, flags, c, tw, nthreads, (uint64_t *)out.buf)
                : zkp_msm_table_g1((const uint64_t *)bases.buf, n, flags, c, tw, nthreads, (uint64_t *)out.buf);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&bases);
    PyBuffer_Release(&out);
    if (rc == -3) {
        PyErr_SetString(PyExc_ValueError, "msm_table_build: out must hold exactly the table's points");
        return NULL;
    }
    if (rc < 0) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* msm_with_table(g2, table, scalars, nthreads, flags, c, tw) -> bytes or None. */
static PyObject *py_msm_with_table(PyObject *self, PyObject *args) {
    PyObject *table_obj, *scalars_obj;
    int g2, nthreads, flags, c, tw;
    if (!PyArg_ParseTuple(args, "pOOiiii", &g2, &table_obj, &scalars_obj, &nthreads, &flags, &c, &tw)) return NULL;
    if (flags < 0 || c < 1 || c > 20 || tw < 1 || tw > 64) {
        PyErr_Format(PyExc_ValueError, "msm_with_table: flags %d, c %d, tw %d (want flags >= 0, c 1..20, tw 1..64)",
                     flags, c, tw);
        return NULL;
    }
    Py_buffer table, scalars;
    if (get_buf(table_obj, &table, 0, "table") < 0) return NULL;
    if (get_buf(scalars_obj, &scalars, 0, "scalars") < 0) {
        PyBuffer_Release(&table);
        return NULL;
    }
    size_t pb = g2 ? 128 : 64, n = (size_t)scalars.len / 32;
    Py_ssize_t table_len = table.len;
    uint64_t out[16];
    int rc = -3;
    if ((size_t)scalars.len % 32 == 0 && (size_t)table.len == zkp_msm_table_points(n, flags, tw) * pb) {
        Py_BEGIN_ALLOW_THREADS
        rc = g2 ? zkp_msm_g2_table((const uint64_t *)table.buf, (const uint64_t *)scalars.buf, n, nthreads, flags, c,
                                   tw, out)
                : zkp_msm_g1_table((const uint64_t *)table.buf, (const uint64_t *)scalars.buf, n, nthreads, flags, c,
                                   tw, out);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&table);
    PyBuffer_Release(&scalars);
    if (rc == -3) {
        PyErr_Format(PyExc_ValueError, "msm_with_table: %zd table bytes do not match %zu scalars, flags %d, tw %d",
                     table_len, n, flags, tw);
        return NULL;
    }
    if (rc < 0) return PyErr_NoMemory();
    if (rc == 0) Py_RETURN_NONE;
    return PyBytes_FromStringAndSize((const char *)out, (Py_ssize_t)pb);
}

static PyObject *fixed_base_common(PyObject *args, int g2) {
    PyObject *base_obj, *scalars_obj, *out_obj;
    int nthreads;
    if (!PyArg_ParseTuple(args, "OOOi", &base_obj, &scalars_obj, &out_obj, &nthreads)) return NULL;
    Py_buffer base, scalars, out;
    if (get_buf(base_obj, &base, 0, "base") < 0) return NULL;
    if (get_buf(scalars_obj, &scalars, 0, "scalars") < 0) {
        PyBuffer_Release(&base);
        return NULL;
    }
    if (get_buf(out_obj, &out, 1, "out") < 0) {
        PyBuffer_Release(&base);
        PyBuffer_Release(&scalars);
        return NULL;
    }
    size_t point_bytes = g2 ? 128 : 64;
    size_t n = (size_t)scalars.len / 32;
    int rc = 0;
    if ((size_t)scalars.len % 32 || (size_t)base.len != point_bytes || (size_t)out.len != n * point_bytes) {
        PyErr_Format(PyExc_ValueError, "fixed_base: %zd-byte base, %zd-byte out for %zu scalars", base.len,
                     out.len, n);
        rc = -2;
    } else {
        Py_BEGIN_ALLOW_THREADS
        if (g2)
            rc = zkp_fixed_base_g2((const uint64_t *)base.buf, (const uint64_t *)scalars.buf, n, nthreads,
                                   (uint64_t *)out.buf);
        else
            rc = zkp_fixed_base_g1((const uint64_t *)base.buf, (const uint64_t *)scalars.buf, n, nthreads,
                                   (uint64_t *)out.buf);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&base);
    PyBuffer_Release(&scalars);
    PyBuffer_Release(&out);
    if (rc == -2) return NULL;
    if (rc < 0) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *py_fixed_base_g1(PyObject *self, PyObject *args) { return fixed_base_common(args, 0); }
static PyObject *py_fixed_base_g2(PyObject *self, PyObject *args) { return fixed_base_common(args, 1); }

static PyObject *py_ntt(PyObject *self, PyObject *args) {
    PyObject *values_obj, *coset_obj;
    int inverse, nthreads;
    if (!PyArg_ParseTuple(args, "OpOi", &values_obj, &inverse, &coset_obj, &nthreads)) return NULL;
    Py_buffer values;
    if (get_buf(values_obj, &values, 1, "values") < 0) return NULL;
    size_t n = (size_t)values.len / 32;
    int log_n = 0;
    while (((size_t)1 << log_n) < n) log_n++;
    if ((size_t)values.len % 32 || n == 0 || ((size_t)1 << log_n) != n) {
        PyBuffer_Release(&values);
        PyErr_SetString(PyExc_ValueError, "ntt: size is not a power of two");
        return NULL;
    }
    uint64_t coset[4];
    const uint64_t *cp = NULL;
    if (coset_obj != Py_None) {
        char *s;
        Py_ssize_t len;
        if (PyBytes_AsStringAndSize(coset_obj, &s, &len) < 0 || len != 32) {
            PyBuffer_Release(&values);
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "ntt: coset must be 32 bytes");
            return NULL;
        }
        memcpy(coset, s, 32);
        cp = coset;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = zkp_ntt((uint64_t *)values.buf, log_n, inverse, cp, nthreads);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&values);
    if (rc == -1) return PyErr_NoMemory();
    if (rc < 0) {
        PyErr_SetString(PyExc_ValueError, "ntt: size beyond 2^28");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* quotient(records, witness, log_n, out, nthreads): the H step from the key's coefficient
 * records as they lie in the .zkey (44-byte records, any order; ranges checked natively). */
static PyObject *py_quotient(PyObject *self, PyObject *args) {
    PyObject *objs[3];
    int log_n, nthreads;
    if (!PyArg_ParseTuple(args, "OOiOi", &objs[0], &objs[1], &log_n, &objs[2], &nthreads)) return NULL;
    Py_buffer v[3];
    static const char *names[3] = {"records", "witness", "out"};
    for (int i = 0; i < 3; i++) {
        if (get_buf(objs[i], &v[i], i == 2, names[i]) < 0) {
            for (int j = 0; j < i; j++) PyBuffer_Release(&v[j]);
            return NULL;
        }
    }
    const char *err = NULL;
    if (log_n < 0 || log_n >= 28)
        err = "quotient: bad domain size";
    else if ((size_t)v[2].len != ((size_t)32 << log_n))
        err = "quotient: out has the wrong size";
    else if (v[0].len % 44 || v[1].len % 32)
        err = "quotient: records or witness have a length that is not a whole number of items";
    if (err) {
        for (int j = 0; j < 3; j++) PyBuffer_Release(&v[j]);
        PyErr_SetString(PyExc_ValueError, err);
        return NULL;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = zkp_quotient((const uint8_t *)v[0].buf, (size_t)v[0].len / 44, (const uint64_t *)v[1].buf,
                      (size_t)v[1].len / 32, log_n, (uint64_t *)v[2].buf, nthreads);
    Py_END_ALLOW_THREADS
    for (int j = 0; j < 3; j++) PyBuffer_Release(&v[j]);
    if (rc == -1) return PyErr_NoMemory();
    if (rc == -3) {
        PyErr_SetString(PyExc_ValueError, "quotient: a coefficient names a matrix, row or signal out of range");
        return NULL;
    }
    if (rc < 0) {
        PyErr_SetString(PyExc_ValueError, "quotient: bad domain size");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* coeffs_check(records, n_vars, n_rows): index of the first out-of-range record, or -1. */
static PyObject *py_coeffs_check(PyObject *self, PyObject *args) {
    PyObject *obj;
    Py_ssize_t n_vars, n_rows;
    if (!PyArg_ParseTuple(args, "Onn", &obj, &n_vars, &n_rows)) return NULL;
    Py_buffer v;
    if (get_buf(obj, &v, 0, "records") < 0) return NULL;
    if (v.len % 44) {
        PyBuffer_Release(&v);
        PyErr_SetString(PyExc_ValueError, "coeffs_check: length not a multiple of 44 bytes");
        return NULL;
    }
    long long bad;
    Py_BEGIN_ALLOW_THREADS
    bad = zkp_coeffs_check((const uint8_t *)v.buf, (size_t)v.len / 44, (size_t)n_vars, (size_t)n_rows);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&v);
    return PyLong_FromLongLong(bad);
}

/* values(obj) <- kernel(values): the in-place Montgomery reduction (fq_from_mont). */
static PyObject *mont_reduce_common(PyObject *args, void (*kernel)(uint64_t *, size_t, int), const char *what) {
    PyObject *obj;
    int nthreads;
    if (!PyArg_ParseTuple(args, "Oi", &obj, &nthreads)) return NULL;
    Py_buffer v;
    if (get_buf(obj, &v, 1, "values") < 0) return NULL;
    if (v.len % 32) {
        PyBuffer_Release(&v);
        PyErr_Format(PyExc_ValueError, "%s: length not a multiple of 32 bytes", what);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    kernel((uint64_t *)v.buf, (size_t)v.len / 32, nthreads);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&v);
    Py_RETURN_NONE;
}

/* lincomb(is_g2, bases, ptr, idx, scalars, out, nthreads): see zkp_lincomb_g1. Byte lengths
 * are checked here; that every idx names a base is checked by prover/groth16/phase2.py. */
static PyObject *py_lincomb(PyObject *self, PyObject *args) {
    PyObject *objs[5];
    int g2, nthreads;
    if (!PyArg_ParseTuple(args, "pOOOOOi", &g2, &objs[0], &objs[1], &objs[2], &objs[3], &objs[4], &nthreads))
        return NULL;
    Py_buffer v[5];
    for (int i = 0; i < 5; i++) {
        if (get_buf(objs[i], &v[i], i == 4, "lincomb") < 0) {
            for (int j = 0; j < i; j++) PyBuffer_Release(&v[j]);
            return NULL;
        }
    }
    size_t pb = g2 ? 128 : 64;
    size_t nout = (size_t)v[4].len / pb, nterms = (size_t)v[2].len / 4;
    int bad = (size_t)v[4].len % pb || (size_t)v[0].len % pb || (size_t)v[1].len != (nout + 1) * 8 ||
              (size_t)v[2].len % 4 || (size_t)v[3].len != nterms * 32;
    if (!bad) {
        const uint64_t *ptr = (const uint64_t *)v[1].buf;
        bad = ptr[0] != 0 || ptr[nout] != nterms;
        for (size_t j = 0; !bad && j < nout; j++) bad = ptr[j] > ptr[j + 1];
    }
    if (bad) {
        for (int j = 0; j < 5; j++) PyBuffer_Release(&v[j]);
        PyErr_SetString(PyExc_ValueError, "lincomb: inconsistent buffer sizes or row pointers");
        return NULL;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    if (g2)
        rc = zkp_lincomb_g2((const uint64_t *)v[0].buf, (const uint64_t *)v[1].buf, (const uint32_t *)v[2].buf,
                            (const uint64_t *)v[3].buf, nout, nthreads, (uint64_t *)v[4].buf);
    else
        rc = zkp_lincomb_g1((const uint64_t *)v[0].buf, (const uint64_t *)v[1].buf, (const uint32_t *)v[2].buf,
                            (const uint64_t *)v[3].buf, nout, nthreads, (uint64_t *)v[4].buf);
    Py_END_ALLOW_THREADS
    for (int j = 0; j < 5; j++) PyBuffer_Release(&v[j]);
    if (rc < 0) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* scale(is_g2, points, scalar, out, nthreads): out[i] = scalar * points[i]. */
static PyObject *py_scale(PyObject *self, PyObject *args) {
    PyObject *objs[3];
    int g2, nthreads;
    if (!PyArg_ParseTuple(args, "pOOOi", &g2, &objs[0], &objs[1], &objs[2], &nthreads)) return NULL;
    Py_buffer v[3];
    for (int i = 0; i < 3; i++) {
        if (get_buf(objs[i], &v[i], i == 2, "scale") < 0) {
            for (int j = 0; j < i; j++) PyBuffer_Release(&v[j]);
            return NULL;
        }
    }
    size_t pb = g2 ? 128 : 64;
    if ((size_t)v[0].len % pb || v[0].len != v[2].len || v[1].len != 32) {
        for (int j = 0; j < 3; j++) PyBuffer_Release(&v[j]);
        PyErr_SetString(PyExc_ValueError, "scale: bad buffer sizes");
        return NULL;
    }
    int rc;
    size_t n = (size_t)v[0].len / pb;
    Py_BEGIN_ALLOW_THREADS
    if (g2)
        rc = zkp_scale_g2((const uint64_t *)v[0].buf, (const uint64_t *)v[1].buf, n, nthreads, (uint64_t *)v[2].buf);
    else
        rc = zkp_scale_g1((const uint64_t *)v[0].buf, (const uint64_t *)v[1].buf, n, nthreads, (uint64_t *)v[2].buf);
    Py_END_ALLOW_THREADS
    for (int j = 0; j < 3; j++) PyBuffer_Release(&v[j]);
    if (rc < 0) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* scale_g1_glv(points, k1, neg1, k2, neg2, out, nthreads): out[i] = (k1 + k2 lambda) points[i]. */
static PyObject *py_scale_g1_glv(PyObject *self, PyObject *args) {
    PyObject *objs[4];
    int neg1, neg2, nthreads;
    if (!PyArg_ParseTuple(args, "OOpOpOi", &objs[0], &objs[1], &neg1, &objs[2], &neg2, &objs[3], &nthreads)) return NULL;
    Py_buffer v[4];
    for (int i = 0; i < 4; i++) {
        if (get_buf(objs[i], &v[i], i == 3, "scale_g1_glv") < 0) {
            for (int j = 0; j < i; j++) PyBuffer_Release(&v[j]);
            return NULL;
        }
    }
    const uint64_t *k1 = (const uint64_t *)v[1].buf, *k2 = (const uint64_t *)v[2].buf;
    if (v[0].len % 64 || v[0].len != v[3].len || v[1].len != 32 || v[2].len != 32 || k1[2] || k1[3] || k2[2] ||
        k2[3]) {
        for (int j = 0; j < 4; j++) PyBuffer_Release(&v[j]);
        PyErr_SetString(PyExc_ValueError, "scale_g1_glv: bad buffer sizes or |k| >= 2^128");
        return NULL;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = zkp_scale_g1_glv((const uint64_t *)v[0].buf, k1, neg1, k2, neg2, (size_t)v[0].len / 64, nthreads,
                          (uint64_t *)v[3].buf);
    Py_END_ALLOW_THREADS
    for (int j = 0; j < 4; j++) PyBuffer_Release(&v[j]);
    if (rc < 0) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* ifma_field(op, a, b, out): zkp_ifma_field on (n, 4) plain integers; False without IFMA. */
static PyObject *py_ifma_field(PyObject *self, PyObject *args) {
    PyObject *objs[3];
    int op;
    if (!PyArg_ParseTuple(args, "iOOO", &op, &objs[0], &objs[1], &objs[2])) return NULL;
    Py_buffer v[3];
    for (int i = 0; i < 3; i++) {
        if (get_buf(objs[i], &v[i], i == 2, "ifma_field") < 0) {
            for (int j = 0; j < i; j++) PyBuffer_Release(&v[j]);
            return NULL;
        }
    }
    int rc = -1;
    if (v[0].len % 32 == 0 && v[0].len == v[1].len && v[0].len == v[2].len)
        rc = zkp_ifma_field(op, (const uint64_t *)v[0].buf, (const uint64_t *)v[1].buf, (size_t)v[0].len / 32,
                            (uint64_t *)v[2].buf);
    for (int j = 0; j < 3; j++) PyBuffer_Release(&v[j]);
    return PyBool_FromLong(rc == 0);
}

/* The path zkp_scale_g1_glv takes now: "ifma" or "scalar". */
static PyObject *py_scale_g1_glv_path(PyObject *self, PyObject *args) {
    (void)args;
    return PyUnicode_FromString(zkp_ifma_usable() ? "ifma" : "scalar");
}

static PyObject *py_fq_from_mont(PyObject *self, PyObject *args) {
    return mont_reduce_common(args, zkp_fq_from_mont, "fq_from_mont");
}

static PyObject *py_series(PyObject *self, PyObject *args) {
    PyObject *start_obj, *step_obj, *out_obj;
    int g2, nthreads;
    if (!PyArg_ParseTuple(args, "pOOOi", &g2, &start_obj, &step_obj, &out_obj, &nthreads)) return NULL;
    Py_buffer v[3];
    PyObject *objs[3] = {start_obj, step_obj, out_obj};
    for (int i = 0; i < 3; i++) {
        if (get_buf(objs[i], &v[i], i == 2, "series") < 0) {
            for (int j = 0; j < i; j++) PyBuffer_Release(&v[j]);
            return NULL;
        }
    }
    size_t pb = g2 ? 128 : 64;
    if ((size_t)v[0].len != pb || (size_t)v[1].len != pb || (size_t)v[2].len % pb) {
        for (int j = 0; j < 3; j++) PyBuffer_Release(&v[j]);
        PyErr_SetString(PyExc_ValueError, "series: bad point buffer sizes");
        return NULL;
    }
    size_t n = (size_t)v[2].len / pb;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    if (g2)
        rc = zkp_series_g2((const uint64_t *)v[0].buf, (const uint64_t *)v[1].buf, n, nthreads, (uint64_t *)v[2].buf);
    else
        rc = zkp_series_g1((const uint64_t *)v[0].buf, (const uint64_t *)v[1].buf, n, nthreads, (uint64_t *)v[2].buf);
    Py_END_ALLOW_THREADS
    for (int j = 0; j < 3; j++) PyBuffer_Release(&v[j]);
    if (rc < 0) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* (g1, g2) point buffers of n pairs: 64 and 128 bytes a point. */
static int pairing_args(PyObject *args, Py_buffer *g1, Py_buffer *g2, size_t *n) {
    PyObject *g1_obj, *g2_obj;
    if (!PyArg_ParseTuple(args, "OO", &g1_obj, &g2_obj)) return -1;
    if (get_buf(g1_obj, g1, 0, "g1_points") < 0) return -1;
    if (get_buf(g2_obj, g2, 0, "g2_points") < 0) {
        PyBuffer_Release(g1);
        return -1;
    }
    *n = (size_t)g1->len / 64;
    if ((size_t)g1->len % 64 || (size_t)g2->len != *n * 128) {
        PyErr_Format(PyExc_ValueError, "pairing: %zd bytes of G1 points, %zd bytes of G2 points", g1->len, g2->len);
        PyBuffer_Release(g1);
        PyBuffer_Release(g2);
        return -1;
    }
    return 0;
}

static PyObject *pairing_error(int rc) {
    if (rc == -2) return PyErr_NoMemory();
    PyErr_SetString(PyExc_ValueError, "pairing: a coordinate is not below q or a point is off its curve");
    return NULL;
}

/* count standard-form 4-limb values -> tuple of Python ints */
static PyObject *ints_from_limbs(const uint64_t *v, int count) {
    PyObject *t = PyTuple_New(count);
    if (!t) return NULL;
    for (int i = 0; i < count; i++) {
        PyObject *x = PyObject_CallMethod((PyObject *)&PyLong_Type, "from_bytes", "y#s", (const char *)(v + 4 * i),
                                          (Py_ssize_t)32, "little");
        if (!x) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, x);
    }
    return t;
}

static PyObject *py_pairing_product_is_one(PyObject *self, PyObject *args) {
    Py_buffer g1, g2;
    size_t n;
    if (pairing_args(args, &g1, &g2, &n) < 0) return NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = zkp_pairing_product_is_one((const uint64_t *)g1.buf, (const uint64_t *)g2.buf, n);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&g1);
    PyBuffer_Release(&g2);
    if (rc < 0) return pairing_error(rc);
    return PyBool_FromLong(rc);
}

static PyObject *py_pairing_product(PyObject *self, PyObject *args) {
    Py_buffer g1, g2;
    size_t n;
    if (pairing_args(args, &g1, &g2, &n) < 0) return NULL;
    uint64_t out[48];
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = zkp_pairing_product((const uint64_t *)g1.buf, (const uint64_t *)g2.buf, n, out);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&g1);
    PyBuffer_Release(&g2);
    if (rc < 0) return pairing_error(rc);
    return ints_from_limbs(out, 12);
}

static PyObject *py_final_exponentiation(PyObject *self, PyObject *args) {
    PyObject *obj;
    if (!PyArg_ParseTuple(args, "O", &obj)) return NULL;
    Py_buffer v;
    if (get_buf(obj, &v, 0, "values") < 0) return NULL;
    if (v.len != 384) {
        PyBuffer_Release(&v);
        PyErr_SetString(PyExc_ValueError, "final_exponentiation: expected 12 elements of 32 bytes");
        return NULL;
    }
    uint64_t in[48], out[48];
    memcpy(in, v.buf, sizeof(in));
    PyBuffer_Release(&v);
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = zkp_final_exponentiation(in, out);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        PyErr_SetString(PyExc_ValueError, "final_exponentiation: an element is not below q");
        return NULL;
    }
    return ints_from_limbs(out, 12);
}

static PyObject *py_g2_in_subgroup(PyObject *self, PyObject *args) {
    PyObject *obj;
    if (!PyArg_ParseTuple(args, "O", &obj)) return NULL;
    Py_buffer v;
    if (get_buf(obj, &v, 0, "g2_points") < 0) return NULL;
    if (v.len % 128) {
        PyBuffer_Release(&v);
        PyErr_SetString(PyExc_ValueError, "g2_in_subgroup: length not a multiple of 128 bytes");
        return NULL;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = zkp_g2_in_subgroup((const uint64_t *)v.buf, (size_t)v.len / 128);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&v);
    return PyBool_FromLong(rc);
}

static PyObject *py_pairing_constants(PyObject *self, PyObject *noargs) {
    uint64_t x, c[ZKP_PAIRING_NCONST * 4];
    zkp_pairing_constants(&x, c);
    PyObject *values = ints_from_limbs(c, ZKP_PAIRING_NCONST);
    if (!values) return NULL;
    return Py_BuildValue("(KN)", (unsigned long long)x, values);
}

/* Python ints from standard-form Fr values: 0 and 1 (most wires are bits) from the small-int
 * cache, others from their 32 little-endian bytes. */
static PyObject *fr_to_int(const uint64_t *v) {
    if ((v[1] | v[2] | v[3]) == 0) return PyLong_FromUnsignedLongLong(v[0]);
    return _PyLong_FromByteArray((const unsigned char *)v, 32, 1, 0);
}

enum { W_ENDS, W_WIRES, W_CIDX, W_COEFS, W_KIND, W_A, W_B, W_OUT, W_HOP, W_HFIRST, W_HCOUNT, W_HDEP_ENDS, W_HDEPS,
       W_ABC, W_INPUT_WIRES, W_INPUT_VALUES, W_PLAN, W_NBUF };

static PyObject *py_witness_run(PyObject *self, PyObject *args) {
    static const char *names[W_NBUF] = {"ends", "wires", "cidx", "coefs", "kind", "a", "b", "out", "hop",
                                        "hfirst", "hcount", "hdep_ends", "hdeps", "abc", "input_wires",
                                        "input_values", "plan"};
    PyObject *objs[W_NBUF];
    unsigned int coef_one;
    long long coef_minus_one;
    Py_ssize_t n_wires;
    int cidx_bytes, check, plan_ready, as_bytes = 0;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOOOOOOOOiiILni|p", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4],
                          &objs[5], &objs[6], &objs[7], &objs[8], &objs[9], &objs[10], &objs[11], &objs[12],
                          &objs[13], &objs[14], &objs[15], &objs[16], &plan_ready, &cidx_bytes, &coef_one,
                          &coef_minus_one, &n_wires, &check, &as_bytes))
        return NULL;
    Py_buffer v[W_NBUF];
    int got = 0;
    PyObject *result = NULL;
    uint64_t *values = NULL;
    for (; got < W_NBUF; got++)
        if (get_buf(objs[got], &v[got], got == W_PLAN, names[got]) < 0) goto done;
    size_t n_lcs = (size_t)v[W_ENDS].len / 8 - 1, n_terms = (size_t)v[W_WIRES].len / 4;
    size_t n_steps = (size_t)v[W_KIND].len, n_hints = (size_t)v[W_HOP].len / 4;
    size_t n_inputs = (size_t)v[W_INPUT_WIRES].len / 4;
    /* lengths must agree with each other; index ranges were checked when the program was built */
    if (v[W_ENDS].len < 8 || (size_t)v[W_CIDX].len != n_terms * (size_t)cidx_bytes ||
        (cidx_bytes != 2 && cidx_bytes != 4) || (size_t)v[W_A].len != 4 * n_steps ||
        (size_t)v[W_B].len != 4 * n_steps || (size_t)v[W_OUT].len != 4 * n_steps ||
        (size_t)v[W_HFIRST].len != 4 * n_hints || (size_t)v[W_HCOUNT].len != 4 * n_hints ||
        (size_t)v[W_HDEP_ENDS].len != 8 * (n_hints + 1) || v[W_ABC].len % 12 ||
        (size_t)v[W_INPUT_VALUES].len != 32 * n_inputs || (size_t)v[W_PLAN].len != 4 * n_steps || n_wires < 1) {
        PyErr_SetString(PyExc_ValueError, "witness_run: inconsistent program arrays");
        goto done;
    }
    zkp_witness_prog p = {
        .ends = v[W_ENDS].buf, .wires = v[W_WIRES].buf,
        .cidx16 = cidx_bytes == 2 ? v[W_CIDX].buf : NULL, .cidx32 = cidx_bytes == 4 ? v[W_CIDX].buf : NULL,
        .coefs = v[W_COEFS].buf, .coef_one = coef_one, .coef_minus_one = coef_minus_one,
        .n_lcs = n_lcs, .n_wires = (size_t)n_wires,
        .kind = v[W_KIND].buf, .a = v[W_A].buf, .b = v[W_B].buf, .out = v[W_OUT].buf, .n_steps = n_steps,
        .hop = v[W_HOP].buf, .hfirst = v[W_HFIRST].buf, .hcount = v[W_HCOUNT].buf,
        .hdep_ends = v[W_HDEP_ENDS].buf, .hdeps = v[W_HDEPS].buf, .n_hints = n_hints,
        .abc = v[W_ABC].buf, .n_constraints = (size_t)v[W_ABC].len / 12,
        .input_wires = v[W_INPUT_WIRES].buf, .n_inputs = n_inputs,
    };
    values = zkp_witness_alloc((size_t)n_wires * 32);
    if (!values) {
        PyErr_NoMemory();
        goto done;
    }
    const uint64_t *given = v[W_INPUT_VALUES].buf;
    for (size_t i = 0; i < n_inputs; i++) memcpy(values + 4 * (size_t)p.input_wires[i], given + 4 * i, 32);
    int64_t where = -1;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = zkp_witness_run(&p, v[W_PLAN].buf, plan_ready, values, check, &where);
    Py_END_ALLOW_THREADS
    if (rc == ZKP_WITNESS_NOMEM) {
        PyErr_NoMemory();
        goto done;
    }
    if (rc != ZKP_WITNESS_OK) {
        result = Py_BuildValue("(iLO)", rc, (long long)where, Py_None);
        goto done;
    }
    if (as_bytes) { /* the backend's input as is: n_wires x 32 bytes, standard form, little-endian */
        PyObject *raw = PyByteArray_FromStringAndSize((const char *)values, (Py_ssize_t)n_wires * 32);
        if (raw) result = Py_BuildValue("(iLN)", rc, (long long)where, raw);
        goto done;
    }
    PyObject *list = PyList_New(n_wires);
    if (!list) goto done;
    for (Py_ssize_t w = 0; w < n_wires; w++) {
        PyObject *x = fr_to_int(values + 4 * w);
        if (!x) {
            Py_DECREF(list);
            goto done;
        }
        PyList_SET_ITEM(list, w, x);
    }
    result = Py_BuildValue("(iLN)", rc, (long long)where, list);
done:
    free(values);
    for (int i = 0; i < got; i++) PyBuffer_Release(&v[i]);
    return result;
}


/* --- powers of tau (prover/groth16/powersoftau.py) ---------------------------------------- */

static PyObject *py_blake2b_init(PyObject *self, PyObject *args) {
    PyObject *obj;
    if (!PyArg_ParseTuple(args, "O", &obj)) return NULL;
    Py_buffer st;
    if (get_buf(obj, &st, 1, "blake2b_init") < 0) return NULL;
    if (st.len != ZKP_BLAKE2B_STATE) {
        PyBuffer_Release(&st);
        PyErr_SetString(PyExc_ValueError, "blake2b_init: the state is 216 bytes");
        return NULL;
    }
    zkp_blake2b_init((uint8_t *)st.buf);
    PyBuffer_Release(&st);
    Py_RETURN_NONE;
}

static PyObject *py_blake2b_update(PyObject *self, PyObject *args) {
    PyObject *objs[2];
    if (!PyArg_ParseTuple(args, "OO", &objs[0], &objs[1])) return NULL;
    Py_buffer st, data;
    if (get_buf(objs[0], &st, 1, "blake2b_update") < 0) return NULL;
    if (get_buf(objs[1], &data, 0, "blake2b_update") < 0) {
        PyBuffer_Release(&st);
        return NULL;
    }
    if (st.len != ZKP_BLAKE2B_STATE) {
        PyBuffer_Release(&st);
        PyBuffer_Release(&data);
        PyErr_SetString(PyExc_ValueError, "blake2b_update: the state is 216 bytes");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    zkp_blake2b_update((uint8_t *)st.buf, (const uint8_t *)data.buf, (size_t)data.len);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&st);
    PyBuffer_Release(&data);
    Py_RETURN_NONE;
}

static PyObject *py_blake2b_final(PyObject *self, PyObject *args) {
    PyObject *obj;
    if (!PyArg_ParseTuple(args, "O", &obj)) return NULL;
    Py_buffer st;
    if (get_buf(obj, &st, 0, "blake2b_final") < 0) return NULL;
    if (st.len != ZKP_BLAKE2B_STATE) {
        PyBuffer_Release(&st);
        PyErr_SetString(PyExc_ValueError, "blake2b_final: the state is 216 bytes");
        return NULL;
    }
    uint8_t out[64];
    zkp_blake2b_final((const uint8_t *)st.buf, out);
    PyBuffer_Release(&st);
    return PyBytes_FromStringAndSize((const char *)out, 64);
}

/* mul_each(is_g2, points, scalars, out, nthreads): out[i] = scalars[i] * points[i]. */
static PyObject *py_mul_each(PyObject *self, PyObject *args) {
    PyObject *objs[3];
    int g2, nthreads;
    if (!PyArg_ParseTuple(args, "pOOOi", &g2, &objs[0], &objs[1], &objs[2], &nthreads)) return NULL;
    Py_buffer v[3];
    for (int i = 0; i < 3; i++) {
        if (get_buf(objs[i], &v[i], i == 2, "mul_each") < 0) {
            for (int j = 0; j < i; j++) PyBuffer_Release(&v[j]);
            return NULL;
        }
    }
    size_t pb = g2 ? 128 : 64, n = (size_t)v[0].len / pb, sb = g2 ? 32 : 72; /* G1: GLV-split, ptau_impl.h */
    if ((size_t)v[0].len % pb || v[0].len != v[2].len || (size_t)v[1].len != n * sb) {
        for (int j = 0; j < 3; j++) PyBuffer_Release(&v[j]);
        PyErr_SetString(PyExc_ValueError, "mul_each: bad buffer sizes");
        return NULL;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    if (g2)
        rc = zkp_mul_each_g2((const uint64_t *)v[0].buf, (const uint64_t *)v[1].buf, n, nthreads, (uint64_t *)v[2].buf);
    else
        rc = zkp_mul_each_g1((const uint64_t *)v[0].buf, (const uint64_t *)v[1].buf, n, nthreads, (uint64_t *)v[2].buf);
    Py_END_ALLOW_THREADS
    for (int j = 0; j < 3; j++) PyBuffer_Release(&v[j]);
    if (rc < 0) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* group_ifft(is_g2, points, twiddles, n_inv, nthreads): inverse FFT of the points in place. */
static PyObject *py_group_ifft(PyObject *self, PyObject *args) {
    PyObject *objs[3];
    int g2, nthreads;
    if (!PyArg_ParseTuple(args, "pOOOi", &g2, &objs[0], &objs[1], &objs[2], &nthreads)) return NULL;
    Py_buffer v[3];
    for (int i = 0; i < 3; i++) {
        if (get_buf(objs[i], &v[i], i == 0, "group_ifft") < 0) {
            for (int j = 0; j < i; j++) PyBuffer_Release(&v[j]);
            return NULL;
        }
    }
    size_t pb = g2 ? 128 : 64, n = (size_t)v[0].len / pb;
    int log_n = 0;
    while (((size_t)1 << log_n) < n) log_n++;
    size_t tw_bytes = g2 ? 32 : 72; /* G1: the GLV split of each twiddle (ptau_impl.h) */
    if ((size_t)v[0].len % pb || n == 0 || ((size_t)1 << log_n) != n || (size_t)v[1].len != (n / 2) * tw_bytes ||
        v[2].len != 32) {
        for (int j = 0; j < 3; j++) PyBuffer_Release(&v[j]);
        PyErr_SetString(PyExc_ValueError, "group_ifft: a power-of-two number of points, n/2 twiddles, one n_inv");
        return NULL;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    if (g2)
        rc = zkp_ifft_g2((uint64_t *)v[0].buf, log_n, (const uint64_t *)v[1].buf, (const uint64_t *)v[2].buf, nthreads);
    else
        rc = zkp_ifft_g1((uint64_t *)v[0].buf, log_n, (const uint64_t *)v[1].buf, (const uint64_t *)v[2].buf, nthreads);
    Py_END_ALLOW_THREADS
    for (int j = 0; j < 3; j++) PyBuffer_Release(&v[j]);
    if (rc < 0) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"series", py_series, METH_VARARGS, "series(is_g2, start, step, out, nthreads): out[i] = start + i*step"},
    {"msm_g1", py_msm_g1, METH_VARARGS,
     "msm_g1(bases, scalars, nthreads[, flags, c]) -> 64 bytes (x, y standard LE) or None; flags: MSM_* or -1"},
    {"msm_g2", py_msm_g2, METH_VARARGS, "msm_g2(bases, scalars, nthreads[, flags, c]) -> 128 bytes or None"},
    {"msm_table_build", py_msm_table_build, METH_VARARGS,
     "msm_table_build(g2, bases, flags, c, tw, nthreads, out): precomputed multiples (zkp_msm_table_g1)"},
    {"msm_with_table", py_msm_with_table, METH_VARARGS,
     "msm_with_table(g2, table, scalars, nthreads, flags, c, tw) -> bytes or None"},
    {"glv_split", py_glv_split, METH_VARARGS, "glv_split(g2, scalars, halves_out, signs_out): see zkp_glv_split"},
    {"fixed_base_g1", py_fixed_base_g1, METH_VARARGS, "fixed_base_g1(base, scalars, out, nthreads): out[i] = s_i * base"},
    {"fixed_base_g2", py_fixed_base_g2, METH_VARARGS, "fixed_base_g2(base, scalars, out, nthreads)"},
    {"ntt", py_ntt, METH_VARARGS, "ntt(values, inverse, coset_bytes_or_None, nthreads): in place"},
    {"quotient", py_quotient, METH_VARARGS, "quotient(records, witness, log_n, out, nthreads): the H step"},
    {"coeffs_check", py_coeffs_check, METH_VARARGS,
     "coeffs_check(records, n_vars, n_rows): index of the first out-of-range coefficient record, or -1"},
    {"lincomb", py_lincomb, METH_VARARGS,
     "lincomb(is_g2, bases, ptr, idx, scalars, out, nthreads): out[j] = sum_k scalars[k] * bases[idx[k]]"},
    {"scale", py_scale, METH_VARARGS, "scale(is_g2, points, scalar, out, nthreads): out[i] = scalar * points[i]"},
    {"ifma_field", py_ifma_field, METH_VARARGS, "ifma_field(op, a, b, out): the IFMA field operations (tests)"},
    {"scale_g1_glv_path", py_scale_g1_glv_path, METH_NOARGS, "scale_g1_glv_path(): 'ifma' or 'scalar'"},
    {"scale_g1_glv", py_scale_g1_glv, METH_VARARGS,
     "scale_g1_glv(points, k1, neg1, k2, neg2, out, nthreads): out[i] = (k1 + k2 lambda) points[i]"},
    {"fq_from_mont", py_fq_from_mont, METH_VARARGS, "fq_from_mont(values, nthreads): v <- v / 2^256 mod q"},
    {"pairing_product_is_one", py_pairing_product_is_one, METH_VARARGS,
     "pairing_product_is_one(g1_points, g2_points) -> bool: prod e(P_i, Q_i) == 1 (Q_i must be in G2)"},
    {"pairing_product", py_pairing_product, METH_VARARGS,
     "pairing_product(g1_points, g2_points) -> 12 ints: the Fq12 product, tower order (test hook)"},
    {"final_exponentiation", py_final_exponentiation, METH_VARARGS,
     "final_exponentiation(values) -> 12 ints: (12, 4) standard-form Fq12 to the (q^12-1)/r (test hook)"},
    {"g2_in_subgroup", py_g2_in_subgroup, METH_VARARGS,
     "g2_in_subgroup(g2_points) -> bool: all on the twist and of order r"},
    {"witness_run", py_witness_run, METH_VARARGS,
     "witness_run(17 program/input/plan buffers, plan_ready, cidx_bytes, coef_one, coef_minus_one, n_wires, check"
     "[, as_bytes]) -> (code, where, list of ints, or with as_bytes a bytearray of n_wires x 32 standard-form bytes, "
     "or None); "
     "see circuits/native_witness.py"},
    {"pairing_constants", py_pairing_constants, METH_NOARGS, "pairing_constants() -> (x, 17 ints) (test hook)"},
    {"blake2b_init", py_blake2b_init, METH_VARARGS, "blake2b_init(state): a fresh BLAKE2b-512 in a 216-byte snarkjs partial-hash state"},
    {"blake2b_update", py_blake2b_update, METH_VARARGS, "blake2b_update(state, data): hash data into the state in place"},
    {"blake2b_final", py_blake2b_final, METH_VARARGS, "blake2b_final(state) -> 64-byte digest (state unchanged)"},
    {"mul_each", py_mul_each, METH_VARARGS, "mul_each(is_g2, points, scalars, out, nthreads): out[i] = scalars[i] * points[i] (G1: GLV-split)"},
    {"group_ifft", py_group_ifft, METH_VARARGS,
     "group_ifft(is_g2, points, twiddles, n_inv, nthreads): inverse FFT of 2^k points in place (w^-j, j < n/2; "
     "G1: GLV-split, see ptau_impl.h)"},
    {NULL, NULL, 0, NULL},
};

/* A portable build compiles this module twice (setup.py): the baseline "_native" and
 * "_native_v4" for x86-64-v4 CPUs with IFMA and ADX, which prover/backend/__init__.py takes in
 * its place where the CPU has them. */
#ifndef ZKP_MODULE_V4
#define ZKP_MODULE_NAME "_native"
#define ZKP_MODULE_INIT PyInit__native
#else
#define ZKP_MODULE_NAME "_native_v4"
#define ZKP_MODULE_INIT PyInit__native_v4
#endif

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, ZKP_MODULE_NAME, "Native BN254 NTT/MSM kernels and pairing for zkprover (see cpu.py).",
    -1, methods,
};

/* The rollup operator's functions (operator.c). */
int zkp_operator_register(PyObject *module);

PyMODINIT_FUNC ZKP_MODULE_INIT(void) {
    PyObject *m = PyModule_Create(&moduledef);
    if (!m) return NULL;
    if (PyModule_AddIntConstant(m, "openmp", zkp_have_openmp()) < 0 ||
        PyModule_AddIntConstant(m, "MSM_SIGNED", ZKP_MSM_SIGNED) < 0 ||
        PyModule_AddIntConstant(m, "MSM_AFFINE", ZKP_MSM_AFFINE) < 0 ||
        PyModule_AddIntConstant(m, "MSM_ENDO", ZKP_MSM_ENDO) < 0 ||
        PyModule_AddIntConstant(m, "IFMA_COMPILED", zkp_ifma_compiled()) < 0 || zkp_operator_register(m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

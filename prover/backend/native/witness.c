/* The native witness calculator: runs a circuit's witness program (built once per circuit by
 * circuits/native_witness.py from the builder's flat arrays) over Montgomery-form Fr values.
 *
 * The program is the builder's own storage: linear combination k is the terms
 * [ends[k], ends[k+1]) of (wires, coefficient indices); steps run in creation order (MUL:
 * out = A * B, COPY: out = A, HINT: one of the tagged hint operations of circuits/hints.py).
 * Every combination's value is computed once and remembered, as the Python calculator does, so
 * the constraint check after the steps mostly reads remembered values. Index ranges are checked
 * once, when the program is built; here only "read before set" is checked per term, because
 * that depends on the order of the steps and names a builder misuse rather than memory. */
#define _GNU_SOURCE /* posix_memalign, madvise under -std=c11 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "field.h"
#include "zkp.h"

/* Same codes as circuits/hints.py OP_* and circuits/builder.py _STEP_*. */
enum { HINT_INVERSE = 0, HINT_IS_ZERO = 1, HINT_BITS = 2, HINT_QUOTIENT = 3 };
enum { STEP_MUL = 0, STEP_COPY = 1, STEP_HINT = 2 };

/* Plan order: the steps in running order, an inversion marked PLAN_INV and the first of each
 * batch of inversions (one phase's) PLAN_BATCH. */
#define PLAN_INV 0x80000000u
#define PLAN_BATCH 0x40000000u
#define PLAN_STEP 0x3fffffffu

static const fe FR_ZERO = {{0, 0, 0, 0}};
static const fe RAW_ONE = {{1, 0, 0, 0}}; /* x * RAW_ONE leaves Montgomery form */


/* ---- inversion by the binary extended Euclidean algorithm ----
 * A quotient hint (a curve addition's division) is an inversion on the critical path, and there
 * are tens of thousands per batch; Fermat (fr_inv, ~380 multiplications) dominated the run.
 * The binary algorithm works on plain integers: inverting the Montgomery form aR gives
 * a^-1 R^-1, and one Montgomery multiplication by R^3 brings it to a^-1 R. Not constant time,
 * like the Python pow it replaces. */
static inline int u256_is_one(const u64 *a) { return a[0] == 1 && (a[1] | a[2] | a[3]) == 0; }

static inline int u256_geq(const u64 *a, const u64 *b) {
    for (int i = 3; i >= 0; i--)
        if (a[i] != b[i]) return a[i] > b[i];
    return 1;
}

static inline void u256_sub(u64 *a, const u64 *b) {
    unsigned char bw = 0;
    bw = ZKP_SBB(bw, a[0], b[0], &a[0]);
    bw = ZKP_SBB(bw, a[1], b[1], &a[1]);
    bw = ZKP_SBB(bw, a[2], b[2], &a[2]);
    (void)ZKP_SBB(bw, a[3], b[3], &a[3]);
}

static inline void u256_shr(u64 *a, int k) { /* 0 < k < 64 */
    a[0] = (a[0] >> k) | (a[1] << (64 - k));
    a[1] = (a[1] >> k) | (a[2] << (64 - k));
    a[2] = (a[2] >> k) | (a[3] << (64 - k));
    a[3] >>= k;
}

/* x / 2 mod p for x < p (p odd, below 2^254, so x + p does not overflow 256 bits) */
static inline void half_mod(u64 *x) {
    if (x[0] & 1) {
        unsigned char c = 0;
        c = ZKP_ADC(c, x[0], FR_P.l[0], &x[0]);
        c = ZKP_ADC(c, x[1], FR_P.l[1], &x[1]);
        c = ZKP_ADC(c, x[2], FR_P.l[2], &x[2]);
        (void)ZKP_ADC(c, x[3], FR_P.l[3], &x[3]);
    }
    u256_shr(x, 1);
}

/* r = 1/a for Montgomery a != 0 */
static void fr_inv_binary(fe *r, const fe *a) {
    u64 u[4] = {a->l[0], a->l[1], a->l[2], a->l[3]};
    u64 v[4] = {FR_P.l[0], FR_P.l[1], FR_P.l[2], FR_P.l[3]};
    fe x1 = {{1, 0, 0, 0}}, x2 = FR_ZERO;
    while (!u256_is_one(u) && !u256_is_one(v)) {
        while (!(u[0] & 1)) {
            int k = u[0] ? __builtin_ctzll(u[0]) : 63;
            u256_shr(u, k);
            for (int i = 0; i < k; i++) half_mod(x1.l);
        }
        while (!(v[0] & 1)) {
            int k = v[0] ? __builtin_ctzll(v[0]) : 63;
            u256_shr(v, k);
            for (int i = 0; i < k; i++) half_mod(x2.l);
        }
        if (u256_geq(u, v)) {
            u256_sub(u, v);
            fr_sub(&x1, &x1, &x2);
        } else {
            u256_sub(v, u);
            fr_sub(&x2, &x2, &x1);
        }
    }
    fe r3;
    fr_mul(&r3, &FR_R2, &FR_R2); /* R^3 */
    fr_mul(r, u256_is_one(u) ? &x1 : &x2, &r3);
}

typedef struct {
    const zkp_witness_prog *p;
    fe *values;
    fe *memo;
    uint8_t *known;
    uint32_t *wphase; /* planning: the phase from which a wire has its value, NOT_YET before */
    uint32_t *lphase; /* planning: the phase of a combination's value, NOT_YET until first read */
    int64_t where;
    fe two64; /* 2^64 in Montgomery form (acc_reduce) */
} run_state;

#define NOT_YET UINT32_MAX

/* ---- planning ----
 * Steps run in phases so that inversions can share one field inversion (Montgomery's trick):
 * a step's phase is the latest phase of the values it reads, where an inversion's output
 * counts one phase after the inversion's own. Within a phase the ordinary steps run in creation
 * order (each depends only on earlier ones of its phase or on earlier phases), then the
 * phase's inversions run together. The values are those of the creation-order run; only the
 * time they are computed changes. Planning walks the steps in creation order, so a read before
 * set is found, and reported, exactly where the Python calculator finds it. */
static inline int is_inversion(const zkp_witness_prog *p, size_t i) {
    if (p->kind[i] != STEP_HINT) return 0;
    int32_t op = p->hop[p->a[i]];
    return op == HINT_INVERSE || op == HINT_QUOTIENT;
}

/* phase of combination k; NOT_YET with st->where set if one of its wires has no value yet */
static uint32_t plan_lc(run_state *st, int64_t k) {
    uint32_t ph = st->lphase[k];
    if (ph != NOT_YET) return ph;
    const zkp_witness_prog *p = st->p;
    ph = 0;
    for (int64_t i = p->ends[k], e = p->ends[k + 1]; i < e; i++) {
        uint32_t w = p->wires[i], wp = st->wphase[w];
        if (wp == NOT_YET) {
            st->where = w;
            return NOT_YET;
        }
        if (wp > ph) ph = wp;
    }
    st->lphase[k] = ph;
    return ph;
}

/* phase of step i from its inputs, or NOT_YET; then marks its outputs */
static uint32_t plan_step(run_state *st, size_t i) {
    const zkp_witness_prog *p = st->p;
    uint32_t ph, x;
    uint32_t first = p->out[i], count = 1;
    if (p->kind[i] == STEP_HINT) {
        int32_t h = p->a[i];
        ph = 0;
        for (int64_t d = p->hdep_ends[h]; d < p->hdep_ends[h + 1]; d++) {
            if ((x = plan_lc(st, p->hdeps[d])) == NOT_YET) return NOT_YET;
            if (x > ph) ph = x;
        }
        first = p->hfirst[h];
        count = p->hcount[h];
    } else {
        if ((ph = plan_lc(st, p->a[i])) == NOT_YET) return NOT_YET;
        if (p->kind[i] == STEP_MUL) {
            if ((x = plan_lc(st, p->b[i])) == NOT_YET) return NOT_YET;
            if (x > ph) ph = x;
        }
    }
    uint32_t ready = ph + (uint32_t)is_inversion(p, i);
    for (uint32_t j = 0; j < count; j++) st->wphase[first + j] = ready;
    return ph;
}

/* ---- running ---- */
/* Zeroed memory for the values and the remembered combinations (tens of MB read in no useful
 * order): 2 MiB aligned and advised onto huge pages, which spares a TLB miss on most reads.
 * Released with free(). */
void *zkp_witness_alloc(size_t bytes) {
    const size_t huge = (size_t)1 << 21;
    size_t size = (bytes + huge - 1) & ~(huge - 1);
    void *ptr = NULL;
    if (posix_memalign(&ptr, huge, size ? size : huge)) return NULL;
#ifdef MADV_HUGEPAGE
    madvise(ptr, size ? size : huge, MADV_HUGEPAGE);
#endif
    memset(ptr, 0, size ? size : huge);
    return ptr;
}

/* A combination's terms are summed without reduction: t (9 limbs) collects each value times
 * its coefficient as a full 512-bit product of the Montgomery forms (vR * cR), and a
 * coefficient of 1 or -1 as v R * 2^256 (v shifted by four limbs, -v as p - v), so every term
 * is some value times R^2. One reduction at the end (five Montgomery rounds: t 2^-320, then
 * times 2^64 R) gives the combination in Montgomery form. With fewer than 2^64 terms t stays
 * below 2^574, which the rounds need. */
static inline void acc_carry(u64 *t, int from, u64 carry) {
    for (int k = from; carry && k < 9; k++) {
        u128 y = (u128)t[k] + carry;
        t[k] = (u64)y;
        carry = (u64)(y >> 64);
    }
}

static inline void acc_shifted(u64 *t, const u64 *v) { /* t += v 2^256 */
    unsigned char c = 0;
    c = ZKP_ADC(c, t[4], v[0], &t[4]);
    c = ZKP_ADC(c, t[5], v[1], &t[5]);
    c = ZKP_ADC(c, t[6], v[2], &t[6]);
    c = ZKP_ADC(c, t[7], v[3], &t[7]);
    t[8] += c;
}

static inline void acc_product(u64 *t, const u64 *a, const u64 *b) { /* t += a b */
    /* the 512-bit product first, then one carry chain into t: no data-dependent branches */
    u64 r[8];
    u64 carry = 0;
    for (int j = 0; j < 4; j++) {
        u128 x = (u128)a[0] * b[j] + carry;
        r[j] = (u64)x;
        carry = (u64)(x >> 64);
    }
    r[4] = carry;
    for (int i = 1; i < 4; i++) {
        carry = 0;
        for (int j = 0; j < 4; j++) {
            u128 x = (u128)a[i] * b[j] + r[i + j] + carry;
            r[i + j] = (u64)x;
            carry = (u64)(x >> 64);
        }
        r[i + 4] = carry;
    }
    unsigned char c = 0;
    for (int k = 0; k < 8; k++) c = ZKP_ADC(c, t[k], r[k], &t[k]);
    t[8] += c;
}

static void acc_reduce(fe *out, u64 *t, const fe *two64) {
    for (int i = 0; i < 5; i++) {
        u64 m = t[i] * FR_INV, carry = 0;
        for (int j = 0; j < 4; j++) {
            u128 x = (u128)m * FR_P.l[j] + t[i + j] + carry;
            t[i + j] = (u64)x;
            carry = (u64)(x >> 64);
        }
        acc_carry(t, i + 4, carry);
    }
    fe r = {{t[5], t[6], t[7], t[8]}}; /* below 3p */
    fe_reduce_once(&r, &r, &FR_P);
    fe_reduce_once(&r, &r, &FR_P);
    fr_mul(out, &r, two64);
}

/* value of combination k (every wire has its value: planning made sure) */
static void lc_value(run_state *st, int64_t k, fe *out) {
    if (st->known[k]) {
        *out = st->memo[k];
        return;
    }
    const zkp_witness_prog *p = st->p;
    const fe *coefs = (const fe *)p->coefs;
    int64_t s = p->ends[k], e = p->ends[k + 1];
    fe *memo = &st->memo[k];
    if (e - s == 1) { /* most combinations: a product's output, a bit, a scaled signal */
        const fe *v = &st->values[p->wires[s]];
        uint32_t c = p->cidx16 ? p->cidx16[s] : p->cidx32[s];
        if (c == p->coef_one)
            *memo = *v;
        else if ((int64_t)c == p->coef_minus_one)
            fr_neg(memo, v);
        else
            fr_mul(memo, v, &coefs[c]);
    } else if (e == s) {
        *memo = FR_ZERO;
    } else {
        u64 t[9] = {0};
        for (int64_t i = s; i < e; i++) {
            const fe *v = &st->values[p->wires[i]];
            uint32_t c = p->cidx16 ? p->cidx16[i] : p->cidx32[i];
            if (c == p->coef_one) {
                acc_shifted(t, v->l);
            } else if ((int64_t)c == p->coef_minus_one) {
                fe neg;
                fe_sub_p(&neg, &FR_P, v, &FR_P); /* p - v, in 1..p */
                acc_shifted(t, neg.l);
            } else {
                acc_product(t, v->l, coefs[c].l);
            }
        }
        acc_reduce(memo, t, &st->two64);
    }
    st->known[k] = 1;
    *out = *memo;
}

/* an ordinary step: a product, a copy, or a hint other than an inversion */
static void run_step(run_state *st, size_t i) {
    const zkp_witness_prog *p = st->p;
    fe x, y;
    if (p->kind[i] == STEP_MUL) {
        lc_value(st, p->a[i], &x);
        lc_value(st, p->b[i], &y);
        fr_mul(&st->values[p->out[i]], &x, &y);
        return;
    }
    if (p->kind[i] == STEP_COPY) {
        lc_value(st, p->a[i], &st->values[p->out[i]]);
        return;
    }
    int32_t h = p->a[i];
    uint32_t first = p->hfirst[h], count = p->hcount[h];
    lc_value(st, p->hdeps[p->hdep_ends[h]], &x);
    if (p->hop[h] == HINT_IS_ZERO) {
        st->values[first] = fe_is_zero(&x) ? FR_ONE : FR_ZERO;
        return;
    }
    /* HINT_BITS: the low `count` bits of the standard form, little-endian */
    fr_mul(&y, &x, &RAW_ONE);
    for (uint32_t j = 0; j < count; j++) {
        int bit = j < 256 ? (int)((y.l[j >> 6] >> (j & 63)) & 1) : 0;
        st->values[first + j] = bit ? FR_ONE : FR_ZERO;
    }
}

/* The inversion steps steps[0..n): INVERSE v -> 1/v, QUOTIENT (n, d) -> n/d, and 0 for a zero
 * divisor, with one field inversion for all (den and pre: n scratch elements each). */
static void run_inversions(run_state *st, const uint32_t *steps, size_t n, fe *den, fe *pre) {
    const zkp_witness_prog *p = st->p;
    fe acc = FR_ONE;
    for (size_t j = 0; j < n; j++) {
        int32_t h = p->a[steps[j] & PLAN_STEP];
        int64_t d = p->hdep_ends[h] + (p->hop[h] == HINT_QUOTIENT);
        lc_value(st, p->hdeps[d], &den[j]);
        pre[j] = acc; /* product of the non-zero divisors before j */
        if (!fe_is_zero(&den[j])) fr_mul(&acc, &acc, &den[j]);
    }
    fe inv;
    fr_inv_binary(&inv, &acc); /* acc != 0: a product of non-zero elements */
    for (size_t j = n; j-- > 0;) {
        int32_t h = p->a[steps[j] & PLAN_STEP];
        fe *out = &st->values[p->hfirst[h]];
        if (fe_is_zero(&den[j])) {
            *out = FR_ZERO;
            continue;
        }
        fe r;
        fr_mul(&r, &inv, &pre[j]); /* 1/den[j] */
        fr_mul(&inv, &inv, &den[j]);
        if (p->hop[h] == HINT_QUOTIENT) {
            fe num;
            lc_value(st, p->hdeps[p->hdep_ends[h]], &num);
            fr_mul(out, &r, &num);
        } else {
            *out = r;
        }
    }
}

/* Builds the plan (see zkp.h); returns a ZKP_WITNESS_* code. */

static int make_plan(const zkp_witness_prog *p, uint32_t *order, int64_t *where) {
    size_t n = p->n_steps;
    run_state st = {p, NULL, NULL, NULL, NULL, NULL, -1, FR_ZERO};
    uint32_t *phase = malloc(n * sizeof(uint32_t) + 4);
    st.wphase = malloc(p->n_wires * sizeof(uint32_t));
    st.lphase = malloc(p->n_lcs * sizeof(uint32_t) + 4);
    uint64_t *start = NULL;
    int rc = ZKP_WITNESS_NOMEM;
    if (!phase || !st.wphase || !st.lphase) goto done;
    memset(st.wphase, 0xff, p->n_wires * sizeof(uint32_t));
    memset(st.lphase, 0xff, p->n_lcs * sizeof(uint32_t));
    st.wphase[0] = 0;
    for (size_t i = 0; i < p->n_inputs; i++) st.wphase[p->input_wires[i]] = 0;
    uint32_t n_phases = 1;
    for (size_t i = 0; i < n; i++) {
        if ((phase[i] = plan_step(&st, i)) == NOT_YET) {
            *where = st.where;
            rc = ZKP_WITNESS_UNSET;
            goto done;
        }
        if (phase[i] + 1 > n_phases) n_phases = phase[i] + 1;
    }
    for (size_t w = 0; w < p->n_wires; w++) {
        if (st.wphase[w] == NOT_YET) { /* a wire no step fills: the program does not match the circuit */
            *where = (int64_t)w;
            rc = ZKP_WITNESS_UNFILLED;
            goto done;
        }
    }
    /* by phase, within a phase the ordinary steps then the inversions, each in creation order
     * (a counting sort on 2 * phase + is_inversion) */
    size_t n_slots = 2 * (size_t)n_phases + 1;
    start = calloc(n_slots, sizeof(uint64_t));
    if (!start) goto done;
    for (size_t i = 0; i < n; i++) start[2 * (size_t)phase[i] + (size_t)is_inversion(p, i) + 1]++;
    for (size_t s = 1; s < n_slots; s++) start[s] += start[s - 1];
    for (size_t i = 0; i < n; i++) {
        int inv = is_inversion(p, i);
        size_t slot = 2 * (size_t)phase[i] + (size_t)inv;
        order[start[slot]++] = (uint32_t)i | (inv ? PLAN_INV : 0);
    }
    /* start[s] is now the end of slot s: mark where each non-empty inversion slot begins */
    for (size_t s = 1; s < n_slots; s += 2) {
        size_t begin = start[s - 1];
        if (begin < start[s]) order[begin] |= PLAN_BATCH;
    }
    rc = ZKP_WITNESS_OK;
done:
    free(phase);
    free(st.wphase);
    free(st.lphase);
    free(start);
    return rc;
}

int zkp_witness_run(const zkp_witness_prog *p, uint32_t *plan, int plan_ready, uint64_t *values, int check,
                    int64_t *where) {
    size_t n = p->n_steps;
    int rc;
    if (n > PLAN_STEP) return ZKP_WITNESS_NOMEM;
    if (!plan_ready && (rc = make_plan(p, plan, where)) != ZKP_WITNESS_OK) return rc;
    run_state st = {p, (fe *)values, NULL, NULL, NULL, NULL, -1, FR_ZERO};
    const fe shift = {{0, 1, 0, 0}};
    fr_mul(&st.two64, &shift, &FR_R2);
    st.known = zkp_witness_alloc(p->n_lcs + 1);
    st.memo = zkp_witness_alloc(p->n_lcs * sizeof(fe) + 1);
    fe *scratch = malloc(2 * (p->n_hints + 1) * sizeof(fe)); /* a batch holds at most every hint */
    rc = ZKP_WITNESS_NOMEM;
    if (!st.known || !st.memo || !scratch) goto done;
    /* wire 0 and the inputs arrive in standard form */
    st.values[0] = FR_ONE;
    for (size_t i = 0; i < p->n_inputs; i++) {
        uint32_t w = p->input_wires[i];
        fr_mul(&st.values[w], &st.values[w], &FR_R2);
    }
    for (size_t at = 0; at < n;) {
        uint32_t e = plan[at];
        if (!(e & PLAN_INV)) {
            run_step(&st, e);
            at++;
            continue;
        }
        size_t end = at + 1;
        while (end < n && (plan[end] & PLAN_INV) && !(plan[end] & PLAN_BATCH)) end++;
        run_inversions(&st, plan + at, end - at, scratch, scratch + (end - at));
        at = end;
    }
    if (check) {
        for (size_t i = 0; i < p->n_constraints; i++) {
            fe va, vb, vc;
            lc_value(&st, p->abc[3 * i], &va);
            lc_value(&st, p->abc[3 * i + 1], &vb);
            lc_value(&st, p->abc[3 * i + 2], &vc);
            fr_mul(&va, &va, &vb);
            if (!fe_eq(&va, &vc)) {
                *where = (int64_t)i;
                rc = ZKP_WITNESS_UNSATISFIED;
                goto done;
            }
        }
    }
    for (size_t w = 0; w < p->n_wires; w++) fr_mul(&st.values[w], &st.values[w], &RAW_ONE);
    rc = ZKP_WITNESS_OK;
done:
    free(st.known);
    free(st.memo);
    free(scratch);
    return rc;
}

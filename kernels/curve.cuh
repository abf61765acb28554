// Short-Weierstrass points (y^2 = x^3 + b, a = 0) over any field type of bn254_fields.cuh:
// affine_t (the .zkey layout, infinity = all zeros) and xyzz_t (extended Jacobian,
// x = X/ZZ, y = Y/ZZZ, ZZ^3 = ZZZ^2), written once and instantiated for G1 (fq_t) and G2
// (fq2_t), as sppark's xyzz_t.
//
// Why XYZZ for buckets: a mixed addition (bucket += affine base) costs 8M + 2S, against
// 7M + 4S for Jacobian, and needs no Z^2/Z^3 recomputation; the doubling (only hit when a
// bucket meets the same point twice) and the XYZZ + XYZZ addition of the combine and reduce
// steps are the EFD formulas dbl-2008-s-1 / mdbl-2008-s-1 / add-2008-s / madd-2008-s.
// The curve constant b never appears in these formulas, so one template serves both groups.
//
// Every formula below is mirrored statement for statement by tests/test_gpu_msm_mirror.py
// (class XyzzMirror), which checks it against prover.field.curve on the CPU.
#pragma once
#include "bn254_fields.cuh"

namespace zk {

template <class F>
struct affine_t {
    //: u64 words of one coordinate (4 for Fq, 8 for Fq2)
    static constexpr int W = sizeof(F) / 8;
    F x, y;

    __device__ __forceinline__ static affine_t load(const u64* src) { return {F::load(src), F::load(src + W)}; }
    // the .zkey encodes the point at infinity as all-zero coordinates ((0, 0) is not on the
    // curve since b != 0, so the encoding is unambiguous)
    __device__ __forceinline__ bool is_inf() const { return x.is_zero() && y.is_zero(); }
    __device__ __forceinline__ affine_t neg() const { return {x, F::sub(F::zero(), y)}; }
};

template <class F>
struct xyzz_t {
    static constexpr int W = sizeof(F) / 8;
    F X, Y, ZZ, ZZZ;

    // infinity is ZZ = 0 (ZZZ = 0 with it); X and Y are don't-cares, kept at one for a
    // deterministic byte image
    __device__ __forceinline__ static xyzz_t inf() { return {F::one(), F::one(), F::zero(), F::zero()}; }
    __device__ __forceinline__ bool is_inf() const { return ZZ.is_zero(); }

    __device__ __forceinline__ static xyzz_t load(const u64* src) {
        return {F::load(src), F::load(src + W), F::load(src + 2 * W), F::load(src + 3 * W)};
    }
    __device__ __forceinline__ void store(u64* dst) const {
        X.store(dst);
        Y.store(dst + W);
        ZZ.store(dst + 2 * W);
        ZZZ.store(dst + 3 * W);
    }

    // 2 * q for an affine q (mdbl-2008-s-1): a bucket met its own point. Rare, so out of line
    // (__noinline__, operands by value): inlining the doublings into every addition roughly
    // doubles the code of each kernel, and G2's compile time with it.
    __device__ __noinline__ static xyzz_t dbl_affine_of(const affine_t<F> q) {
        const F U = q.y + q.y;
        const F V = F::sqr(U);
        const F Wt = U * V;
        const F S = q.x * V;
        const F xx = F::sqr(q.x);
        const F M = xx + xx + xx;
        xyzz_t r;
        r.X = F::sqr(M) - S - S;
        r.Y = M * (S - r.X) - Wt * q.y;
        r.ZZ = V;
        r.ZZZ = Wt;
        return r;
    }

    // 2 * p (dbl-2008-s-1); Y = 0 would give ZZ = 0 (infinity), which is right. Out of line
    // as above (the reduction's double-and-add loop calls it; its one copy is shared).
    __device__ __noinline__ static xyzz_t dbl_of(const xyzz_t p) {
        if (p.is_inf()) return p;
        const F U = p.Y + p.Y;
        const F V = F::sqr(U);
        const F Wt = U * V;
        const F S = p.X * V;
        const F xx = F::sqr(p.X);
        const F M = xx + xx + xx;
        xyzz_t r;
        r.X = F::sqr(M) - S - S;
        r.Y = M * (S - r.X) - Wt * p.Y;
        r.ZZ = V * p.ZZ;
        r.ZZZ = Wt * p.ZZZ;
        return r;
    }

    __device__ __forceinline__ void dbl() { *this = dbl_of(*this); }

    // this += q, q affine and not infinity (madd-2008-s); callers skip infinite bases
    __device__ __forceinline__ void add_affine(const affine_t<F>& q) {
        if (is_inf()) {
            X = q.x;
            Y = q.y;
            ZZ = F::one();
            ZZZ = F::one();
            return;
        }
        const F U2 = q.x * ZZ;
        const F S2 = q.y * ZZZ;
        const F P = U2 - X;
        const F R = S2 - Y;
        if (P.is_zero()) {
            // same x: q == this (double) or q == -this (sum is infinity)
            if (R.is_zero())
                *this = dbl_affine_of(q);
            else
                *this = inf();
            return;
        }
        const F PP = F::sqr(P);
        const F PPP = P * PP;
        const F Q = X * PP;
        const F X3 = F::sqr(R) - PPP - Q - Q;
        Y = R * (Q - X3) - Y * PPP;
        X = X3;
        ZZ = ZZ * PP;
        ZZZ = ZZZ * PPP;
    }

    // this += q, both XYZZ (add-2008-s)
    __device__ __forceinline__ void add(const xyzz_t& q) {
        if (q.is_inf()) return;
        if (is_inf()) {
            *this = q;
            return;
        }
        const F U1 = X * q.ZZ;
        const F U2 = q.X * ZZ;
        const F S1 = Y * q.ZZZ;
        const F S2 = q.Y * ZZZ;
        const F P = U2 - U1;
        const F R = S2 - S1;
        if (P.is_zero()) {
            if (R.is_zero())
                dbl();
            else
                *this = inf();
            return;
        }
        const F PP = F::sqr(P);
        const F PPP = P * PP;
        const F Q = U1 * PP;
        const F X3 = F::sqr(R) - PPP - Q - Q;
        Y = R * (Q - X3) - S1 * PPP;
        X = X3;
        ZZ = ZZ * q.ZZ * PP;
        ZZZ = ZZZ * q.ZZZ * PPP;
    }
};

}  // namespace zk

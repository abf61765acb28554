// BN254 field arithmetic for CUDA: a Montgomery-form template over 8 x 32-bit limbs, its two
// instances (Fr, the scalar field; Fq, the base field) and the quadratic extension Fq2.
//
// Model: sppark's mont_t (curve-agnostic template, the modulus and Montgomery constants come
// from a small parameter struct), so part 2's curve code (xyzz points, Pippenger) is written
// once against `Field` and instantiated for G1 (fq_t) and G2 (fq2_t).
//
// Why 32-bit limbs: NVIDIA GPUs have a native 32x32 -> 64 multiplier exposed as the PTX
// mad.lo / mad.hi pair with hardware carry flags (.cc / madc), while 64-bit multiplies are
// emulated by several 32-bit ones. Every carry chain below is a straight sequence of PTX
// instructions, one inline-asm statement each; the statements are `volatile` so that the
// compiler keeps them in program order (the carry flag lives between them). The sequence is
// mirrored instruction for instruction by tests/test_gpu_mirror.py, which checks it against
// Python integers on the CPU.
//
// Requirement on the modulus: p < 2^255 (top bit clear), so that a + b and every CIOS
// intermediate below 2p fit in 8 limbs without an extra carry word (the "no-carry" case that
// holds for BN254 and BLS12-381). Values are kept fully reduced (< p) between operations.
//
// Memory layout: an element is 32 bytes, four little-endian uint64 limbs = eight
// little-endian uint32 limbs, exactly the host layout of prover.field.arrays, so device
// buffers are the host arrays byte for byte.
#pragma once

namespace zk {

typedef unsigned int u32;
typedef unsigned long long u64;

// ---- PTX carry-chain primitives (one instruction each) ------------------------------------
// Names follow the PTX mnemonics: *_cc sets the carry flag, c* consumes it.
__device__ __forceinline__ u32 add_cc(u32 a, u32 b) {
    u32 r;
    asm volatile("add.cc.u32 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
__device__ __forceinline__ u32 addc_cc(u32 a, u32 b) {
    u32 r;
    asm volatile("addc.cc.u32 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
__device__ __forceinline__ u32 addc(u32 a, u32 b) {
    u32 r;
    asm volatile("addc.u32 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
__device__ __forceinline__ u32 sub_cc(u32 a, u32 b) {
    u32 r;
    asm volatile("sub.cc.u32 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
__device__ __forceinline__ u32 subc_cc(u32 a, u32 b) {
    u32 r;
    asm volatile("subc.cc.u32 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
__device__ __forceinline__ u32 subc(u32 a, u32 b) {
    u32 r;
    asm volatile("subc.u32 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
// c + lo(a*b), carry out
__device__ __forceinline__ u32 mad_lo_cc(u32 a, u32 b, u32 c) {
    u32 r;
    asm volatile("mad.lo.cc.u32 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(c));
    return r;
}
// c + lo(a*b) + carry in, carry out
__device__ __forceinline__ u32 madc_lo_cc(u32 a, u32 b, u32 c) {
    u32 r;
    asm volatile("madc.lo.cc.u32 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(c));
    return r;
}
// c + hi(a*b), carry out
__device__ __forceinline__ u32 mad_hi_cc(u32 a, u32 b, u32 c) {
    u32 r;
    asm volatile("mad.hi.cc.u32 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(c));
    return r;
}
// c + hi(a*b) + carry in, carry out
__device__ __forceinline__ u32 madc_hi_cc(u32 a, u32 b, u32 c) {
    u32 r;
    asm volatile("madc.hi.cc.u32 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(c));
    return r;
}

// ---- modulus parameter sets ---------------------------------------------------------------
// Constants as functions returning from a local constexpr table: every call site sits in a
// fully unrolled loop, so the index is a compile-time constant and the value becomes an
// immediate operand (no constant-memory loads, no --expt-relaxed-constexpr needed).

// Fr: r = 21888242871839275222246405745257275088548364400416034343698204186575808495617
struct bn254_fr_params {
    __device__ __forceinline__ static u32 mod(int i) {
        constexpr u32 t[8] = {0xf0000001, 0x43e1f593, 0x79b97091, 0x2833e848,
                              0x8181585d, 0xb85045b6, 0xe131a029, 0x30644e72};
        return t[i];
    }
    // R mod r (R = 2^256): Montgomery form of 1
    __device__ __forceinline__ static u32 one(int i) {
        constexpr u32 t[8] = {0x4ffffffb, 0xac96341c, 0x9f60cd29, 0x36fc7695,
                              0x7879462e, 0x666ea36f, 0x9a07df2f, 0x0e0a77c1};
        return t[i];
    }
    // R^2 mod r: multiplying by it converts standard form to Montgomery form
    __device__ __forceinline__ static u32 rr(int i) {
        constexpr u32 t[8] = {0xae216da7, 0x1bb8e645, 0xe35c59e3, 0x53fe3ab1,
                              0x53bb8085, 0x8c49833d, 0x7f4e44a5, 0x0216d0b1};
        return t[i];
    }
    static constexpr u32 m0 = 0xefffffff;  // -r^-1 mod 2^32
};

// Fq: q = 21888242871839275222246405745257275088696311157297823662689037894645226208583
struct bn254_fq_params {
    __device__ __forceinline__ static u32 mod(int i) {
        constexpr u32 t[8] = {0xd87cfd47, 0x3c208c16, 0x6871ca8d, 0x97816a91,
                              0x8181585d, 0xb85045b6, 0xe131a029, 0x30644e72};
        return t[i];
    }
    __device__ __forceinline__ static u32 one(int i) {
        constexpr u32 t[8] = {0xc58f0d9d, 0xd35d438d, 0xf5c70b3d, 0x0a78eb28,
                              0x7879462c, 0x666ea36f, 0x9a07df2f, 0x0e0a77c1};
        return t[i];
    }
    __device__ __forceinline__ static u32 rr(int i) {
        constexpr u32 t[8] = {0x538afa89, 0xf32cfc5b, 0xd44501fb, 0xb5e71911,
                              0x0a417ff6, 0x47ab1eff, 0xcab8351f, 0x06d89f71};
        return t[i];
    }
    static constexpr u32 m0 = 0xe4866389;  // -q^-1 mod 2^32
};

// ---- mont_t ---------------------------------------------------------------------------------
// An element of Z/pZ, usually in Montgomery form (x * 2^256 mod p). Plain aggregate (no
// constructors) so that it can live in __shared__ arrays.
template <class P>
struct mont_t {
    static constexpr int N = 8;
    u32 v[N];

    __device__ __forceinline__ static mont_t zero() {
        mont_t r;
#pragma unroll
        for (int i = 0; i < N; i++) r.v[i] = 0;
        return r;
    }
    __device__ __forceinline__ static mont_t one() {
        mont_t r;
#pragma unroll
        for (int i = 0; i < N; i++) r.v[i] = P::one(i);
        return r;
    }

    // 32 bytes from/to the host layout (4 x u64 little-endian). Two 16-byte accesses: every
    // buffer is 256-byte aligned (CuPy) and elements are 32 bytes, so both are aligned.
    __device__ __forceinline__ static mont_t load(const u64* src) {
        const ulonglong2* s = reinterpret_cast<const ulonglong2*>(src);
        ulonglong2 a = s[0], b = s[1];
        mont_t r;
        r.v[0] = (u32)a.x; r.v[1] = (u32)(a.x >> 32);
        r.v[2] = (u32)a.y; r.v[3] = (u32)(a.y >> 32);
        r.v[4] = (u32)b.x; r.v[5] = (u32)(b.x >> 32);
        r.v[6] = (u32)b.y; r.v[7] = (u32)(b.y >> 32);
        return r;
    }
    __device__ __forceinline__ void store(u64* dst) const {
        ulonglong2* d = reinterpret_cast<ulonglong2*>(dst);
        ulonglong2 a, b;
        a.x = (u64)v[0] | ((u64)v[1] << 32);
        a.y = (u64)v[2] | ((u64)v[3] << 32);
        b.x = (u64)v[4] | ((u64)v[5] << 32);
        b.y = (u64)v[6] | ((u64)v[7] << 32);
        d[0] = a;
        d[1] = b;
    }

    __device__ __forceinline__ bool is_zero() const {
        u32 acc = 0;
#pragma unroll
        for (int i = 0; i < N; i++) acc |= v[i];
        return acc == 0;
    }

    // a + b mod p. a + b < 2p < 2^256 (no carry word); subtract p and keep the difference
    // unless it borrowed. Branch-free: the borrow becomes an all-ones/all-zeros mask.
    __device__ __forceinline__ static mont_t add(const mont_t& a, const mont_t& b) {
        u32 s[N];
        s[0] = add_cc(a.v[0], b.v[0]);
#pragma unroll
        for (int i = 1; i < N - 1; i++) s[i] = addc_cc(a.v[i], b.v[i]);
        s[N - 1] = addc(a.v[N - 1], b.v[N - 1]);
        return reduce_once(s);
    }

    // a - b mod p: subtract, and add p back under the borrow mask.
    __device__ __forceinline__ static mont_t sub(const mont_t& a, const mont_t& b) {
        u32 d[N];
        d[0] = sub_cc(a.v[0], b.v[0]);
#pragma unroll
        for (int i = 1; i < N; i++) d[i] = subc_cc(a.v[i], b.v[i]);
        u32 mask = subc(0, 0);  // 0xffffffff if a < b
        mont_t r;
        r.v[0] = add_cc(d[0], P::mod(0) & mask);
#pragma unroll
        for (int i = 1; i < N - 1; i++) r.v[i] = addc_cc(d[i], P::mod(i) & mask);
        r.v[N - 1] = addc(d[N - 1], P::mod(N - 1) & mask);
        return r;
    }

    __device__ __forceinline__ static mont_t neg(const mont_t& a) { return sub(zero(), a); }

    // Montgomery product a * b / 2^256 mod p: CIOS, one 32-bit word of b per outer round.
    // t holds 10 words; each round adds a*b[i] as two carry chains (the low halves of the
    // products into t[0..7], then the high halves into t[1..8]), adds m*p the same way with
    // m = t[0] * m0 so that t[0] becomes 0, and shifts t down one word. Invariant: t < 2p at
    // the start of every round, hence t < 2^288 inside it (t[9] stays 0 for p < 2^255; the
    // chains still carry into it so the code does not depend on that bound).
    __device__ __forceinline__ static mont_t mul(const mont_t& a, const mont_t& b) {
        u32 t[N + 2];
#pragma unroll
        for (int i = 0; i < N + 2; i++) t[i] = 0;
#pragma unroll
        for (int i = 0; i < N; i++) {
            const u32 bi = b.v[i];
            // t += lo(a * bi)
            t[0] = mad_lo_cc(a.v[0], bi, t[0]);
#pragma unroll
            for (int j = 1; j < N; j++) t[j] = madc_lo_cc(a.v[j], bi, t[j]);
            t[N] = addc_cc(t[N], 0);
            t[N + 1] = addc(t[N + 1], 0);
            // t += hi(a * bi) << 32
            t[1] = mad_hi_cc(a.v[0], bi, t[1]);
#pragma unroll
            for (int j = 1; j < N; j++) t[j + 1] = madc_hi_cc(a.v[j], bi, t[j + 1]);
            t[N + 1] = addc(t[N + 1], 0);
            // t += m * p, making t[0] zero
            const u32 m = t[0] * P::m0;
            t[0] = mad_lo_cc(m, P::mod(0), t[0]);
#pragma unroll
            for (int j = 1; j < N; j++) t[j] = madc_lo_cc(m, P::mod(j), t[j]);
            t[N] = addc_cc(t[N], 0);
            t[N + 1] = addc(t[N + 1], 0);
            t[1] = mad_hi_cc(m, P::mod(0), t[1]);
#pragma unroll
            for (int j = 1; j < N; j++) t[j + 1] = madc_hi_cc(m, P::mod(j), t[j + 1]);
            t[N + 1] = addc(t[N + 1], 0);
            // t /= 2^32
#pragma unroll
            for (int j = 0; j < N + 1; j++) t[j] = t[j + 1];
            t[N + 1] = 0;
        }
        return reduce_once(t);
    }

    __device__ __forceinline__ static mont_t sqr(const mont_t& a) { return mul(a, a); }

    // standard form -> Montgomery form (x * R^2 / R = x * R)
    __device__ __forceinline__ mont_t to_mont() const {
        mont_t rr;
#pragma unroll
        for (int i = 0; i < N; i++) rr.v[i] = P::rr(i);
        return mul(*this, rr);
    }
    // Montgomery form -> standard form (x * R * 1 / R = x)
    __device__ __forceinline__ mont_t from_mont() const {
        mont_t one_raw = zero();
        one_raw.v[0] = 1;
        return mul(*this, one_raw);
    }

    // x^e for a small exponent (host-side tables cover the hot paths; this is for tests and
    // one-off constants)
    __device__ static mont_t pow(const mont_t& x, u32 e) {
        mont_t r = one(), b = x;
        while (e) {
            if (e & 1) r = mul(r, b);
            b = sqr(b);
            e >>= 1;
        }
        return r;
    }

    __device__ __forceinline__ friend mont_t operator+(const mont_t& a, const mont_t& b) { return add(a, b); }
    __device__ __forceinline__ friend mont_t operator-(const mont_t& a, const mont_t& b) { return sub(a, b); }
    __device__ __forceinline__ friend mont_t operator*(const mont_t& a, const mont_t& b) { return mul(a, b); }

   private:
    // s < 2p -> s mod p, branch-free
    __device__ __forceinline__ static mont_t reduce_once(const u32* s) {
        u32 d[N];
        d[0] = sub_cc(s[0], P::mod(0));
#pragma unroll
        for (int i = 1; i < N; i++) d[i] = subc_cc(s[i], P::mod(i));
        const u32 mask = subc(0, 0);  // 0xffffffff if s < p: keep s
        mont_t r;
#pragma unroll
        for (int i = 0; i < N; i++) r.v[i] = (s[i] & mask) | (d[i] & ~mask);
        return r;
    }
};

typedef mont_t<bn254_fr_params> fr_t;
typedef mont_t<bn254_fq_params> fq_t;

// ---- Fq2 = Fq[u] / (u^2 + 1) ------------------------------------------------------------------
// Host layout (.zkey G2 coordinates): c0 then c1, 32 bytes each, both Montgomery over q.
template <class F>
struct fp2_t {
    F c0, c1;

    __device__ __forceinline__ static fp2_t zero() { return {F::zero(), F::zero()}; }
    __device__ __forceinline__ static fp2_t one() { return {F::one(), F::zero()}; }
    __device__ __forceinline__ static fp2_t load(const u64* src) { return {F::load(src), F::load(src + 4)}; }
    __device__ __forceinline__ void store(u64* dst) const {
        c0.store(dst);
        c1.store(dst + 4);
    }
    __device__ __forceinline__ bool is_zero() const { return c0.is_zero() && c1.is_zero(); }

    __device__ __forceinline__ static fp2_t add(const fp2_t& a, const fp2_t& b) { return {a.c0 + b.c0, a.c1 + b.c1}; }
    __device__ __forceinline__ static fp2_t sub(const fp2_t& a, const fp2_t& b) { return {a.c0 - b.c0, a.c1 - b.c1}; }
    // Karatsuba: 3 base-field products instead of 4
    __device__ __forceinline__ static fp2_t mul(const fp2_t& a, const fp2_t& b) {
        F v0 = a.c0 * b.c0, v1 = a.c1 * b.c1;
        F s = (a.c0 + a.c1) * (b.c0 + b.c1);
        return {v0 - v1, s - v0 - v1};
    }
    // (a0 + a1 u)^2 = (a0 + a1)(a0 - a1) + 2 a0 a1 u: 2 products
    __device__ __forceinline__ static fp2_t sqr(const fp2_t& a) {
        F m = a.c0 * a.c1;
        return {(a.c0 + a.c1) * (a.c0 - a.c1), m + m};
    }
    __device__ __forceinline__ static fp2_t mul_base(const fp2_t& a, const F& k) { return {a.c0 * k, a.c1 * k}; }

    __device__ __forceinline__ friend fp2_t operator+(const fp2_t& a, const fp2_t& b) { return add(a, b); }
    __device__ __forceinline__ friend fp2_t operator-(const fp2_t& a, const fp2_t& b) { return sub(a, b); }
    __device__ __forceinline__ friend fp2_t operator*(const fp2_t& a, const fp2_t& b) { return mul(a, b); }
};

typedef fp2_t<fq_t> fq2_t;

}  // namespace zk

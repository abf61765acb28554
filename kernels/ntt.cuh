// Radix-2 NTT building blocks over any mont_t field (curve-agnostic, as sppark's ntt).
//
// Orders (ARCHITECTURE §3 needs no bit-reversal pass in the prover):
//   DIF (Gentleman-Sande): natural order in -> bit-reversed order out.
//   DIT (Cooley-Tukey):    bit-reversed order in -> natural order out.
// The prover's H step runs inverse DIF (evaluations -> bit-reversed coefficients), scales
// coefficient bitrev(p) in place by n^-1 * w_2n^bitrev(p), then forward DIT (-> natural
// evaluations on the coset): two transforms and no permutation. Only the public
// natural-to-natural ntt() pays one permutation, fused with the copy it needs anyway.
//
// Stage fusion. Stage s (1..log_n) pairs elements whose indices differ in bit s-1. A pass
// takes k consecutive stage bits [p0, p0 + k) and runs those k stages in shared memory on a
// tile of 2^(k + c) elements: the k stage bits vary inside the tile, and so do the c lowest
// index bits ("columns", c <= p0), so that a warp reads 2^c consecutive elements (2^c * 32
// bytes) instead of one 32-byte element per stride. The other bits (the "mid" bits [c, p0) and
// the "high" bits [p0 + k, log_n)) are fixed per tile and come from blockIdx.x. Local index
// l = (stage_bits << c) | col; global index g = col | mid << c | stage_bits << p0 | high << (p0+k).
// Passes are planned by kernels/ntt_plan.py (DIT from bit 0 up; DIF the same passes in reverse).
//
// Twiddles: one table per direction of w^j, j < 2^(log_tw - 1), for the largest domain used
// (w = the 2^log_tw-th root, or its inverse); stage s uses w_{2^s}^j = table[j << (log_tw - s)],
// with j = g0 mod 2^(s-1) for the butterfly's lower element g0. Tables stay on the device.
//
// Every index formula here is mirrored in tests/test_gpu_mirror.py.
#pragma once

#include "bn254_fields.cuh"

#ifndef ZK_NTT_TILE_LOG
// 2^10 elements x 32 bytes = 32 KiB of static shared memory, 512 threads per block.
#define ZK_NTT_TILE_LOG 10
#endif

namespace zk {

// Bit reversal of the low `bits` bits of x (bits >= 1).
__device__ __forceinline__ u32 bitrev(u32 x, u32 bits) { return __brev(x) >> (32 - bits); }

// scale factor S(i) = hi[i >> lo_log] * lo[i & (2^lo_log - 1)]: a two-level table of powers
// (x^i = x^(i_hi * 2^L) * x^i_lo) that covers 2^26 exponents with a few thousand entries.
template <class F>
__device__ __forceinline__ F two_level(const u64* hi, const u64* lo, u32 lo_log, u64 i) {
    const F h = F::load(hi + 4 * (i >> lo_log));
    const F l = F::load(lo + 4 * (i & ((1ull << lo_log) - 1)));
    return h * l;
}

// One fused pass of k radix-2 stages (see the file comment). blockDim.x = 2^(k + c - 1),
// gridDim.x = 2^(log_n - k - c) tiles, gridDim.y = batch (vectors n apart in memory).
template <class F, bool DIF>
__device__ __forceinline__ void ntt_pass_body(u64* data, u32 log_n, u32 p0, u32 k, u32 c, const u64* tw,
                                              u32 log_tw) {
    __shared__ F tile[1 << ZK_NTT_TILE_LOG];
    const u64 n = 1ull << log_n;
    u64* vec = data + 4 * n * blockIdx.y;
    const u32 tid = threadIdx.x;
    const u32 half = 1u << (k + c - 1);  // butterflies per stage = threads
    const u32 col_mask = (1u << c) - 1;
    const u64 t = blockIdx.x;
    const u64 mid = t & ((1ull << (p0 - c)) - 1);
    const u64 high = t >> (p0 - c);
    const u64 base = (mid << c) | (high << (p0 + k));

    // load two elements per thread: local l and l + half (coalesced along the columns)
#pragma unroll
    for (u32 r = 0; r < 2; r++) {
        const u32 l = tid + r * half;
        const u64 g = base | (l & col_mask) | ((u64)(l >> c) << p0);
        tile[l] = F::load(vec + 4 * g);
    }
    __syncthreads();

    const u32 col = tid & col_mask;
    const u32 q = tid >> c;  // butterfly number inside the k stage bits
    for (u32 step = 0; step < k; step++) {
        const u32 b = DIF ? (k - 1 - step) : step;  // DIF walks the stage bits high to low
        const u32 i0 = ((q >> b) << (b + 1)) | (q & ((1u << b) - 1));
        const u32 i1 = i0 | (1u << b);
        const u32 l0 = (i0 << c) | col, l1 = (i1 << c) | col;
        const u64 g0 = base | col | ((u64)i0 << p0);
        const u32 s_bit = p0 + b;  // global stage s = s_bit + 1, half-size h = 2^s_bit
        const u64 j = g0 & ((1ull << s_bit) - 1);
        const F w = F::load(tw + 4 * (j << (log_tw - s_bit - 1)));
        const F x0 = tile[l0], x1 = tile[l1];
        if (DIF) {
            tile[l0] = x0 + x1;
            tile[l1] = (x0 - x1) * w;
        } else {
            const F m = x1 * w;
            tile[l0] = x0 + m;
            tile[l1] = x0 - m;
        }
        __syncthreads();
    }

#pragma unroll
    for (u32 r = 0; r < 2; r++) {
        const u32 l = tid + r * half;
        const u64 g = base | (l & col_mask) | ((u64)(l >> c) << p0);
        tile[l].store(vec + 4 * g);
    }
}

// Scale modes of permute_scale: which index the factor S(.) is taken at.
enum ScaleMode : u32 {
    SCALE_NONE = 0,        // plain permutation / copy
    SCALE_SRC = 1,         // S(source index): coset pre-scaling of coefficients x_i * g^i
    SCALE_DST = 2,         // S(destination index): n^-1 * g^-i after an inverse transform
    SCALE_DST_BITREV = 3,  // S(bitrev(destination)): coefficients held in bit-reversed order
};

// out[o] = in[permute ? bitrev(o) : o] * S(mode index), batched over gridDim.y. With
// permute == 0 it may run in place (each thread reads and writes only its own element).
template <class F>
__device__ __forceinline__ void permute_scale_body(const u64* in, u64* out, u32 log_n, u32 permute, u32 mode,
                                                   const u64* hi, const u64* lo, u32 lo_log) {
    const u64 n = 1ull << log_n;
    const u64 o = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (o >= n) return;
    const u64 off = 4 * n * blockIdx.y;
    // log_n <= 28 < 32, so the 32-bit reversal covers every index
    const u64 rev = log_n ? (u64)bitrev((u32)o, log_n) : 0;
    const u64 src = permute ? rev : o;
    F x = F::load(in + off + 4 * src);
    if (mode != SCALE_NONE) {
        const u64 si = mode == SCALE_SRC ? src : (mode == SCALE_DST ? o : rev);
        x = x * two_level<F>(hi, lo, lo_log, si);
    }
    x.store(out + off + 4 * o);
}

// out[i] = S(i) for i < count: expands a two-level table into a full twiddle table.
template <class F>
__device__ __forceinline__ void powers_body(u64* out, u64 count, const u64* hi, const u64* lo, u32 lo_log) {
    const u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count) return;
    two_level<F>(hi, lo, lo_log, i).store(out + 4 * i);
}

// Montgomery conversion in place over n * batch elements (to_mont != 0: standard -> Montgomery).
template <class F>
__device__ __forceinline__ void convert_body(u64* data, u64 count, u32 to_mont) {
    const u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count) return;
    const F x = F::load(data + 4 * i);
    (to_mont ? x.to_mont() : x.from_mont()).store(data + 4 * i);
}

}  // namespace zk

// Pippenger MSM building blocks, curve-agnostic (sppark's pippenger.cuh model). The host
// orchestration is prover.backend.gpu.GpuEngine.msm; tests/test_gpu_msm_mirror.py mirrors
// every kernel below step for step on the CPU.
//
// Pipeline for sum_i s_i * P_i with windows of c bits, W = ceil(255 / c) windows and
// B = 2^(c-1) buckets per window (signed digits d in [-2^(c-1)+1, 2^(c-1)], bucket |d| - 1):
//
//   1. msm_histogram  one thread per scalar: signed digits of every window (recomputed from
//                     the scalar, cheaper than storing W words per scalar), counts[w*B + |d|-1]++
//                     for the non-zero digits. Zero digits (zero scalars, the high windows of
//                     small witness values) never enter a bucket.
//   2. host           offsets = exclusive prefix sum of counts (CuPy cumsum)
//   3. msm_scatter    the same digits again; entry (point index | sign << 31) goes to
//                     sorted[cursor[bucket]++]: a counting sort, O(n W), no comparison sort.
//   4. sum_chunks     each bucket's entries are cut into chunks of at most L; one thread per
//                     chunk adds its bases into an XYZZ partial sum. Heavy buckets (scalar 1
//                     repeated a million times lands in one bucket) become many chunks, so
//                     skewed inputs keep every thread's work bounded by L.
//   5. sum_chunks     (XYZZ inputs) repeated with fan-in L2 until every bucket has <= 1 partial.
//   6. reduce_segments  per window, buckets cut into segments of Ls: one thread computes
//                     sum_{b in seg} (b+1) * S_b by the running-sum trick plus lo * (sum S_b).
//   7. sum_chunks     (XYZZ) the segments of each window, tree-wise, down to one point per window.
//   8. host           sum_w 2^(c w) * window_w: W points, combined by the CPU (a serial chain of
//                     ~255 doublings is latency-bound on one GPU thread, ~2 ms; on the native
//                     CPU backend it is microseconds).
//
// Counting in steps 1 and 3 uses warp-aggregated atomics (__match_any_sync): lanes with the
// same bucket elect one leader that does a single atomicAdd for the group. Without it, a
// witness full of ones would serialise n atomics on one counter.
#pragma once
#include "curve.cuh"

namespace zk {

//: the key of a zero digit: no bucket
constexpr u32 NO_BUCKET = 0xffffffffu;
constexpr u32 SIGN_BIT = 0x80000000u;

// Scalar i as 8 little-endian u32 limbs in standard form, reduced below r. Witness vectors
// resident on the device are Montgomery form (qap.cu), H is standard form: `mont` says which.
// Host-supplied scalars are any 256-bit values; s >= r is reduced by repeated subtraction
// (at most 5 times, almost never taken), so that s < r < 2^254 and the top window never
// carries out (W * c >= 255).
__device__ __forceinline__ fr_t load_scalar(const u64* scalars, u64 i, u32 mont) {
    fr_t s = fr_t::load(scalars + 4 * i);
    if (mont) return s.from_mont();
    for (int k = 0; k < 5; k++) {
        u32 d[8];
        d[0] = sub_cc(s.v[0], bn254_fr_params::mod(0));
#pragma unroll
        for (int j = 1; j < 8; j++) d[j] = subc_cc(s.v[j], bn254_fr_params::mod(j));
        const u32 borrow = subc(0, 0);
        if (borrow) break;  // s < r
#pragma unroll
        for (int j = 0; j < 8; j++) s.v[j] = d[j];
    }
    return s;
}

// Bits [off, off + c) of s (c <= 24, off < 256); bits past 255 read as zero.
__device__ __forceinline__ u32 window_bits(const fr_t& s, u32 off, u32 c) {
    const u32 limb = off >> 5, shift = off & 31;
    u64 two = s.v[limb];
    if (limb + 1 < 8) two |= (u64)s.v[limb + 1] << 32;
    return (u32)(two >> shift) & ((1u << c) - 1);
}

// Signed digit of window w given the carry from window w-1; updates the carry. Returns the
// entry code |d| | sign << 31 (0 for d = 0, never a signed zero). raw + carry is in
// [0, 2^c]; values above 2^(c-1) become raw + carry - 2^c (negative, or zero for 2^c) with a
// carry into the next window. Needs c >= 2.
__device__ __forceinline__ u32 signed_digit(const fr_t& s, u32 w, u32 c, u32& carry) {
    const u32 raw = window_bits(s, w * c, c) + carry;
    const u32 half = 1u << (c - 1);
    if (raw > half) {
        carry = 1;
        const u32 mag = (1u << c) - raw;  // 0 when raw = 2^c (all ones plus a carry)
        return mag ? (mag | SIGN_BIT) : 0;
    }
    carry = 0;
    return raw;
}

__device__ __forceinline__ u32 bucket_key(u32 code, u32 w, u32 n_buckets) {
    return code ? w * n_buckets + (code & ~SIGN_BIT) - 1 : NO_BUCKET;
}

// Warp-aggregated counter increment: every lane of the warp must call it (lanes without a
// bucket pass NO_BUCKET). Returns this lane's slot: the counter's old value plus the number of
// lower lanes with the same key. Lanes are ranked by lane id, so a warp's entries land in
// lane order; the order between warps is whatever the atomics give (sums do not care).
__device__ __forceinline__ u32 warp_claim(u32* counters, u32 key) {
    const u32 lane = threadIdx.x & 31;
    const u32 peers = __match_any_sync(0xffffffffu, key);
    const u32 leader = __ffs(peers) - 1;
    u32 base = 0;
    if (lane == leader && key != NO_BUCKET) base = atomicAdd(&counters[key], (u32)__popc(peers));
    base = __shfl_sync(0xffffffffu, base, leader);
    return base + __popc(peers & ((1u << lane) - 1));
}

// Steps 1 and 3. Block size must be a multiple of 32; threads past n take part in the warp
// votes with no bucket (no early return: __match_any_sync needs the whole warp).
__device__ __forceinline__ void digits_body(const u64* scalars, u64 n, u32 mont, u32 c, u32 n_windows,
                                            u32* counters, u32* sorted) {
    const u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    const bool live = i < n;
    const fr_t s = live ? load_scalar(scalars, i, mont) : fr_t::zero();
    const u32 n_buckets = 1u << (c - 1);
    u32 carry = 0;
    for (u32 w = 0; w < n_windows; w++) {
        const u32 code = signed_digit(s, w, c, carry);
        const u32 key = live ? bucket_key(code, w, n_buckets) : NO_BUCKET;
        const u32 slot = warp_claim(counters, key);
        if (sorted != nullptr && key != NO_BUCKET) sorted[slot] = (u32)i | (code & SIGN_BIT);
    }
}

// Largest g with off[g] <= t, given off[0] = 0 <= t < off[n_seg] (off non-decreasing): the
// segment that chunk t belongs to, skipping empty segments.
__device__ __forceinline__ u32 find_segment(const u32* off, u32 n_seg, u64 t) {
    u32 lo = 0, hi = n_seg;
    while (hi - lo > 1) {
        const u32 mid = (lo + hi) >> 1;
        if ((u64)off[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

// Steps 4, 5 and 7. Segment g holds items [item_off[g], item_off[g+1]) and is cut into chunks
// [item_off[g] + j L, min(... + L, item_off[g+1])); chunk_off[g] is the index of its first
// chunk (exclusive prefix sum of ceil(count / L)). One thread per chunk writes its XYZZ sum to
// out[chunk]. AFFINE: items are sorted entries (point index | sign) into `bases`; else items
// are XYZZ points in `bases` itself.
template <class F, bool AFFINE>
__device__ __forceinline__ void sum_chunks_body(const u64* bases, const u32* items, const u32* item_off,
                                                const u32* chunk_off, u32 n_seg, u32 L, u64 total, u64* out) {
    const u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= total) return;
    const u32 g = find_segment(chunk_off, n_seg, t);
    const u32 start = item_off[g] + (u32)(t - chunk_off[g]) * L;
    const u32 end = min(start + L, item_off[g + 1]);
    xyzz_t<F> acc = xyzz_t<F>::inf();
    for (u32 e = start; e < end; e++) {
        if constexpr (AFFINE) {
            const u32 code = items[e];
            affine_t<F> p = affine_t<F>::load(bases + 2 * affine_t<F>::W * (u64)(code & ~SIGN_BIT));
            if (p.is_inf()) continue;
            if (code & SIGN_BIT) p = p.neg();
            acc.add_affine(p);
        } else {
            acc.add(xyzz_t<F>::load(bases + 4 * xyzz_t<F>::W * (u64)e));
        }
    }
    acc.store(out + 4 * xyzz_t<F>::W * t);
}

// Step 6. Bucket g = w B + b has its sum at sums[off[g]] when off[g+1] > off[g] (else it is
// empty). Thread t = w * (B / Ls) + s handles buckets lo = s Ls .. lo + Ls - 1 of window w:
//   run = sum S_b, tot = sum (b - lo + 1) S_b   (running sum from the top bucket down)
//   out[t] = tot + lo * run = sum (b + 1) S_b   (bucket b holds digit b + 1)
// lo * run by double-and-add over the bits of lo (at most c - 1 of them).
template <class F>
__device__ __forceinline__ void reduce_segments_body(const u64* sums, const u32* off, u32 n_buckets, u32 seg_len,
                                                     u32 n_windows, u64* out) {
    const u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    const u32 per_window = n_buckets / seg_len;
    if (t >= (u64)n_windows * per_window) return;
    const u32 w = (u32)(t / per_window), s = (u32)(t % per_window);
    const u32 lo = s * seg_len;
    xyzz_t<F> run = xyzz_t<F>::inf(), tot = xyzz_t<F>::inf();
    for (u32 k = seg_len; k-- > 0;) {
        const u32 g = w * n_buckets + lo + k;
        if (off[g + 1] > off[g]) run.add(xyzz_t<F>::load(sums + 4 * xyzz_t<F>::W * (u64)off[g]));
        tot.add(run);
    }
    // tot goes to its output slot while lo * run is formed: two points live instead of three
    // (for G2 three XYZZ points are 192 registers, and the third one spilled)
    u64* dst = out + 4 * xyzz_t<F>::W * t;
    tot.store(dst);
    xyzz_t<F> m = xyzz_t<F>::inf();
    for (int bit = 31; bit >= 0; bit--) {
        m.dbl();
        if ((lo >> bit) & 1) m.add(run);
    }
    m.add(xyzz_t<F>::load(dst));
    m.store(dst);
}

}  // namespace zk

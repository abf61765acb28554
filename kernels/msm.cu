// MSM entry points for BN254 G1 (over Fq) and G2 (over Fq2): flat extern "C" wrappers around
// the templates in msm.cuh (see there for the pipeline). Point buffers are the .zkey layout
// ((n, 2, 4) / (n, 2, 2, 4) uint64, Montgomery); XYZZ buffers are 4 coordinates of the same
// layout. Scalar buffers are (n, 4) uint64, standard form unless `mont` is set.
#include "msm.cuh"

using namespace zk;

// Step 1: per-bucket entry counts (counts must be zeroed, W * 2^(c-1) of them).
extern "C" __global__ void msm_histogram(const u64* scalars, u64 n, u32 mont, u32 c, u32 n_windows, u32* counts) {
    digits_body(scalars, n, mont, c, n_windows, counts, nullptr);
}

// Step 3: entries into bucket order; cursor starts as the exclusive prefix sum of the counts.
extern "C" __global__ void msm_scatter(const u64* scalars, u64 n, u32 mont, u32 c, u32 n_windows, u32* cursor,
                                       u32* sorted) {
    digits_body(scalars, n, mont, c, n_windows, cursor, sorted);
}

// Steps 4 (affine bases through sorted entries) and 5 / 7 (XYZZ partial sums).
extern "C" __global__ void g1_sum_chunks_affine(const u64* bases, const u32* items, const u32* item_off,
                                                const u32* chunk_off, u32 n_seg, u32 L, u64 total, u64* out) {
    sum_chunks_body<fq_t, true>(bases, items, item_off, chunk_off, n_seg, L, total, out);
}
extern "C" __global__ void g1_sum_chunks_xyzz(const u64* parts, const u32* item_off, const u32* chunk_off, u32 n_seg,
                                              u32 L, u64 total, u64* out) {
    sum_chunks_body<fq_t, false>(parts, nullptr, item_off, chunk_off, n_seg, L, total, out);
}
extern "C" __global__ void g2_sum_chunks_affine(const u64* bases, const u32* items, const u32* item_off,
                                                const u32* chunk_off, u32 n_seg, u32 L, u64 total, u64* out) {
    sum_chunks_body<fq2_t, true>(bases, items, item_off, chunk_off, n_seg, L, total, out);
}
extern "C" __global__ void g2_sum_chunks_xyzz(const u64* parts, const u32* item_off, const u32* chunk_off, u32 n_seg,
                                              u32 L, u64 total, u64* out) {
    sum_chunks_body<fq2_t, false>(parts, nullptr, item_off, chunk_off, n_seg, L, total, out);
}

// Step 6: weighted bucket sums per segment of Ls buckets.
extern "C" __global__ void g1_reduce_segments(const u64* sums, const u32* off, u32 n_buckets, u32 seg_len,
                                              u32 n_windows, u64* out) {
    reduce_segments_body<fq_t>(sums, off, n_buckets, seg_len, n_windows, out);
}
extern "C" __global__ void g2_reduce_segments(const u64* sums, const u32* off, u32 n_buckets, u32 seg_len,
                                              u32 n_windows, u64* out) {
    reduce_segments_body<fq2_t>(sums, off, n_buckets, seg_len, n_windows, out);
}

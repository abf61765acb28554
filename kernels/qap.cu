// The prover's QAP witness map on the device (ARCHITECTURE §3; prover.backend.interface):
//   a = A.w, b = B.w per constraint row, c = a o b  (sparse, from the .zkey coefficient records)
//   then, per vector, inverse NTT -> coset scaling -> NTT (entry points in ntt.cu)
//   h = a * b - c pointwise on the coset, converted to standard form for the host / MSM.
//
// Forms: the witness is converted to Montgomery form once after upload; the matrix values,
// stored by snarkjs as coef * R^2 mod r, are reduced once at load_key to coef * R (Montgomery
// form). So a, b, c and every intermediate are Montgomery form, and h leaves in standard form.
#include "bn254_fields.cuh"

using namespace zk;

// vals[i] = vals[i] * 1 / R: coef * R^2 -> coef * R. Once per key, at load time.
extern "C" __global__ void fr_coeffs_from_zkey(u64* vals, u64 count) {
    const u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count) return;
    fr_t::load(vals + 4 * i).from_mont().store(vals + 4 * i);
}

// Rows in CSR form (ptr has n_rows + 1 entries, cols/vals by row). One thread per row of the
// n-element domain; rows >= n_rows (padding up to the power of two) are zero. Writes the batch
// abc = [a | b | c], three vectors of n elements, ready for the batched transforms.
// Why one thread per row: rows are short (a few terms) in circom/builder circuits, and this
// kernel is a small share of the H step; a warp-per-row variant is part of tuning.
extern "C" __global__ void fr_sparse_abc(const u64* a_ptr, const u32* a_cols, const u64* a_vals, const u64* b_ptr,
                                         const u32* b_cols, const u64* b_vals, u64 n_rows, const u64* w_mont,
                                         u64* abc, u64 n) {
    const u64 r = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= n) return;
    fr_t sa = fr_t::zero(), sb = fr_t::zero();
    if (r < n_rows) {
        for (u64 e = a_ptr[r]; e < a_ptr[r + 1]; e++)
            sa = sa + fr_t::load(a_vals + 4 * e) * fr_t::load(w_mont + 4 * (u64)a_cols[e]);
        for (u64 e = b_ptr[r]; e < b_ptr[r + 1]; e++)
            sb = sb + fr_t::load(b_vals + 4 * e) * fr_t::load(w_mont + 4 * (u64)b_cols[e]);
    }
    sa.store(abc + 4 * r);
    sb.store(abc + 4 * (n + r));
    (sa * sb).store(abc + 4 * (2 * n + r));
}

// h[i] = from_mont(a[i] * b[i] - c[i]) over the batch abc = [a | b | c] on the coset.
extern "C" __global__ void fr_quotient_h(const u64* abc, u64* h, u64 n) {
    const u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const fr_t a = fr_t::load(abc + 4 * i), b = fr_t::load(abc + 4 * (n + i)), c = fr_t::load(abc + 4 * (2 * n + i));
    (a * b - c).from_mont().store(h + 4 * i);
}

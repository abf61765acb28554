// NTT entry points over BN254 Fr: tiny extern "C" wrappers around the templates in ntt.cuh
// (flat C names so CuPy's RawModule finds them without name expressions).
//
// Data are (n, 4) uint64 vectors; batches are `gridDim.y` vectors stored n elements apart.
// Field values may be in standard or Montgomery form: every multiplication in a transform is
// by a Montgomery-form constant (twiddle, scale factor), and mont_mul(x, c * R) = x * c in
// whatever form x is in, so the transforms are form-preserving and the public ntt() skips
// the conversions.
#include "ntt.cuh"

using namespace zk;

extern "C" __global__ void __launch_bounds__(1 << (ZK_NTT_TILE_LOG - 1))
fr_ntt_dit_pass(u64* data, u32 log_n, u32 p0, u32 k, u32 c, const u64* tw, u32 log_tw) {
    ntt_pass_body<fr_t, false>(data, log_n, p0, k, c, tw, log_tw);
}

extern "C" __global__ void __launch_bounds__(1 << (ZK_NTT_TILE_LOG - 1))
fr_ntt_dif_pass(u64* data, u32 log_n, u32 p0, u32 k, u32 c, const u64* tw, u32 log_tw) {
    ntt_pass_body<fr_t, true>(data, log_n, p0, k, c, tw, log_tw);
}

extern "C" __global__ void fr_permute_scale(const u64* in, u64* out, u32 log_n, u32 permute, u32 mode,
                                            const u64* hi, const u64* lo, u32 lo_log) {
    permute_scale_body<fr_t>(in, out, log_n, permute, mode, hi, lo, lo_log);
}

extern "C" __global__ void fr_powers(u64* out, u64 count, const u64* hi, const u64* lo, u32 lo_log) {
    powers_body<fr_t>(out, count, hi, lo, lo_log);
}

extern "C" __global__ void fr_convert(u64* data, u64 count, u32 to_mont) { convert_body<fr_t>(data, count, to_mont); }

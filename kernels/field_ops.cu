// Element-wise field operations over whole vectors, for tests and micro-benchmarks of the
// arithmetic in bn254_fields.cuh (Fr, Fq, Fq2): out[i] = a[i] OP b[i] on Montgomery-form
// operands. They also make every template instance compile in CI, including Fq and Fq2 that
// only part 2's MSM kernels will use in production.
#include "bn254_fields.cuh"

using namespace zk;

enum Op : u32 { OP_ADD = 0, OP_SUB = 1, OP_MUL = 2, OP_SQR = 3 };

template <class F>
__device__ __forceinline__ void binop(const u64* a, const u64* b, u64* out, u64 n, u32 op, u32 words) {
    const u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const F x = F::load(a + words * i), y = F::load(b + words * i);
    F r;
    switch (op) {
        case OP_ADD: r = F::add(x, y); break;
        case OP_SUB: r = F::sub(x, y); break;
        case OP_MUL: r = F::mul(x, y); break;
        default: r = F::sqr(x); break;
    }
    r.store(out + words * i);
}

extern "C" __global__ void fr_binop(const u64* a, const u64* b, u64* out, u64 n, u32 op) {
    binop<fr_t>(a, b, out, n, op, 4);
}
extern "C" __global__ void fq_binop(const u64* a, const u64* b, u64* out, u64 n, u32 op) {
    binop<fq_t>(a, b, out, n, op, 4);
}
extern "C" __global__ void fq2_binop(const u64* a, const u64* b, u64* out, u64 n, u32 op) {
    binop<fq2_t>(a, b, out, n, op, 8);
}

// Carry chains split the ways the PTX carry check (kernels/carry_check.py) must catch; compiled
// to PTX by tests/test_carry_check.py. Not part of the product.
typedef unsigned int u32;

__device__ __forceinline__ u32 add_cc(u32 a, u32 b) {
    u32 r;
    asm volatile("add.cc.u32 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
__device__ __forceinline__ u32 addc(u32 a, u32 b) {
    u32 r;
    asm volatile("addc.u32 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
__device__ __forceinline__ u32 subc(u32 a, u32 b) {
    u32 r;
    asm volatile("subc.u32 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

// a loop between the two halves of a 64-bit add: the consumer is in another basic block
extern "C" __global__ void carry_across_loop(const u32* in, u32* out, u32 n) {
    const u32 lo = add_cc(in[0], in[1]);
    u32 acc = 0;
    for (u32 k = 0; k < n; k++) acc ^= in[k + 2] * (k + 1);
    out[0] = lo;
    out[1] = addc(in[2], acc);
}

// a barrier between producer and consumer
extern "C" __global__ void carry_across_barrier(const u32* in, u32* out) {
    const u32 lo = add_cc(in[threadIdx.x], 7u);
    __syncthreads();
    out[threadIdx.x] = lo + addc(in[threadIdx.x + 1], 0u);
}

// an addition's carry consumed by a subtraction
extern "C" __global__ void add_carry_into_subtract(const u32* in, u32* out) {
    const u32 lo = add_cc(in[0], in[1]);
    out[0] = lo;
    out[1] = subc(in[2], in[3]);
}

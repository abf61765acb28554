// Small kernels for tests/test_kernel_emulator.py: each breaks (or keeps) one CUDA rule that the
// emulator checks. Not part of the product; compiled only by the emulator tests.
typedef unsigned int u32;
typedef unsigned long long u64;

// lane-sum by __shfl_xor_sync, a ballot of odd values, and __match_any_sync of v & 3
extern "C" __global__ void warp_ok(const u32* in, u32* out) {
    const u32 i = blockIdx.x * blockDim.x + threadIdx.x;
    u32 v = in[i], sum = v;
    for (int d = 16; d > 0; d >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, d);
    const u32 odd = __ballot_sync(0xffffffffu, v & 1);
    const u32 same = __match_any_sync(0xffffffffu, v & 3);
    const u32 below = __shfl_up_sync(0xffffffffu, v, 1);
    out[4 * i] = sum;
    out[4 * i + 1] = odd;
    out[4 * i + 2] = same;
    out[4 * i + 3] = below;
}

// a tile reversed through shared memory (needs the barrier)
extern "C" __global__ void __launch_bounds__(64) reverse_ok(const u32* in, u32* out) {
    __shared__ u32 tile[64];
    tile[threadIdx.x] = in[blockIdx.x * 64 + threadIdx.x];
    __syncthreads();
    out[blockIdx.x * 64 + threadIdx.x] = tile[63 - threadIdx.x];
}

// 64-bit add as a carry chain of two 32-bit halves
extern "C" __global__ void carry_ok(const u32* a, const u32* b, u32* out) {
    const u32 i = threadIdx.x;
    u32 lo, hi;
    asm volatile("add.cc.u32 %0, %1, %2;" : "=r"(lo) : "r"(a[2 * i]), "r"(b[2 * i]));
    asm volatile("addc.u32 %0, %1, %2;" : "=r"(hi) : "r"(a[2 * i + 1]), "r"(b[2 * i + 1]));
    out[2 * i] = lo;
    out[2 * i + 1] = hi;
}

extern "C" __global__ void barrier_in_branch(u32* out) {
    if (threadIdx.x < 16) {
        __syncthreads();
        out[threadIdx.x] = 1;
    }
}

extern "C" __global__ void shuffle_outside_mask(u32* out) {
    if (threadIdx.x < 16) out[threadIdx.x] = __shfl_sync(0x0000ffffu, threadIdx.x, 20);
}

extern "C" __global__ void vote_after_return(u32* out) {
    if (threadIdx.x == 3) return;
    out[threadIdx.x] = __match_any_sync(0xffffffffu, threadIdx.x & 1);
}

extern "C" __global__ void carry_without_producer(u32* out) {
    u32 r;
    asm volatile("addc.u32 %0, %1, %2;" : "=r"(r) : "r"(threadIdx.x), "r"(1u));
    out[threadIdx.x] = r;
}

extern "C" __global__ void carry_across_barrier(u32* out) {
    u32 lo, hi;
    asm volatile("add.cc.u32 %0, %1, %2;" : "=r"(lo) : "r"(threadIdx.x), "r"(0xffffffffu));
    __syncthreads();
    asm volatile("addc.u32 %0, %1, %2;" : "=r"(hi) : "r"(0u), "r"(0u));
    out[threadIdx.x] = lo + hi;
}

extern "C" __global__ void add_carry_into_subtract(u32* out) {
    u32 lo, hi;
    asm volatile("add.cc.u32 %0, %1, %2;" : "=r"(lo) : "r"(threadIdx.x), "r"(0xffffffffu));
    asm volatile("subc.u32 %0, %1, %2;" : "=r"(hi) : "r"(5u), "r"(1u));
    out[threadIdx.x] = lo + hi;
}

// reads one element past the end of `in` (n elements)
extern "C" __global__ void read_past_end(const u64* in, u64* out, u64 n) {
    const u64 i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i <= n) out[i % n] = in[i];
}

// 64 threads index a 32-entry shared array
extern "C" __global__ void shared_index_past_end(u32* out) {
    __shared__ u32 small[32];
    small[threadIdx.x] = threadIdx.x;
    __syncthreads();
    out[threadIdx.x] = small[threadIdx.x & 31];
}

// cuda_host.h: the CUDA C++ the kernels use, as host C++, so that kernels/*.cu compile
// unchanged with g++ and run on the CPU (kernels/emulator/build.py makes one shared library per
// module; runtime.py launches it).
//
// The model, and where it is stricter than a GPU:
//   * Blocks of a grid run one after another (in a shuffled order when a seed is set).
//   * Each CUDA thread of a block is a fiber with its own stack. A fiber runs until it waits:
//     at __syncthreads, at a warp collective, or at its end. When every fiber waits, the
//     scheduler completes what CUDA would complete (a collective whose mask lanes all wait at
//     the same kind with the same mask; a barrier that every thread of the block reached at the
//     same place) and reports anything else as a launch error instead of hanging: a lane that
//     exited or waits elsewhere, a mask that excludes the caller or names missing lanes, a
//     shuffle that reads a lane outside the mask, a barrier some threads skipped.
//   * __shared__ variables are function statics: blocks never overlap, so one copy serves.
//   * Inline PTX: build.py rewrites each one-instruction asm statement into a call of
//     cuemu::ptx::<mnemonic>. The carry flag CC.CF is per CUDA thread, and a consumer (addc,
//     subc, madc) fails the launch when no producer of its family ran before it in the same
//     thread since the last sync point: PTX keeps CF inverted for subtraction, and no carry
//     is promised to survive a barrier or a warp collective.
//   * Faults inside a kernel become launch errors: SIGSEGV/SIGBUS (a read or write past a
//     device buffer, whose end runtime.py places against an unmapped page; a fiber stack
//     overflow) and SIGILL (an out-of-range index into a fixed-size array such as a __shared__
//     tile: build.py compiles with -fsanitize=bounds in trap mode).
//
// Launches are serialised by the caller (runtime.py holds a lock), so the state below is
// plain process-global data.
#pragma once

// standard headers before the CUDA keyword macros, which must not reach them
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#if !defined(__x86_64__)
#error "cuda_host.h: the fiber switch below is x86-64 only"
#endif

// ---- built-in vector types and indices ---------------------------------------------------------
struct uint3 {
    unsigned x, y, z;
};
struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};
struct alignas(16) ulonglong2 {
    unsigned long long x, y;
};
struct alignas(16) uint4 {
    unsigned x, y, z, w;
};

inline uint3 threadIdx;
inline uint3 blockIdx;
inline dim3 blockDim;
inline dim3 gridDim;
constexpr int warpSize = 32;

namespace cuemu {

// ---- errors of one launch --------------------------------------------------------------------------
struct Report {
    std::string text;
    int count = 0;
    void add(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
        if (++count > 12) return;  // the first few say what went wrong
        char line[600];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        if (!text.empty()) text += '\n';
        text += line;
    }
};
inline Report* report = nullptr;

// ---- fibers ------------------------------------------------------------------------------------------
extern "C" void cuemu_swap(void** save_sp, void* load_sp);
extern "C" void cuemu_trampoline();

enum Wait : int { RUNNING = 0, AT_BARRIER, AT_WARP, FINISHED };
enum Collective : int { SHFL_IDX = 1, SHFL_XOR, SHFL_DOWN, SHFL_UP, MATCH_ANY, BALLOT, VOTE_ANY, VOTE_ALL, SYNCWARP };
enum Carry : int { CARRY_NONE = 0, CARRY_ADD, CARRY_SUB, CARRY_STALE };

struct Thread {
    void* sp = nullptr;
    uint3 tid{0, 0, 0};
    int wait = RUNNING;
    const char* site = "";
    // the PTX condition code of this thread while it is switched out
    unsigned cf = 0;
    int carry = CARRY_NONE;
    // a pending warp collective and its result
    int op = 0;
    unsigned mask = 0;
    unsigned long long value = 0;
    int arg = 0;
    int width = 32;
    unsigned long long result = 0;
};

struct Settings {
    unsigned seed = 0;           // != 0: shuffled block order and thread order
    size_t stack_bytes = 256 << 10;
};
inline Settings settings;

// the running thread's condition code (saved into Thread on every switch)
inline unsigned cc_cf = 0;
inline int cc_carry = CARRY_NONE;

struct BlockRun {
    std::vector<Thread> threads;
    void* scheduler_sp = nullptr;
    Thread* current = nullptr;
    void (*body)(void*) = nullptr;
    void* args = nullptr;
    bool failed = false;
};
inline BlockRun block_run;

// fiber stacks: mmap'd once, reused by every launch, a PROT_NONE page under each
struct Stacks {
    std::vector<char*> lows;
    size_t bytes = 0;
    static constexpr size_t GUARD = 4096;
    char* get(size_t i) {
        if (bytes != settings.stack_bytes) {
            clear();
            bytes = settings.stack_bytes;
        }
        while (lows.size() <= i) {
            void* p = mmap(nullptr, bytes + GUARD, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                           -1, 0);
            if (p == MAP_FAILED) return nullptr;
            mprotect(p, GUARD, PROT_NONE);
            lows.push_back(static_cast<char*>(p) + GUARD);
        }
        return lows[i];
    }
    bool is_guard(const void* addr) const {
        const auto a = reinterpret_cast<uintptr_t>(addr);
        for (char* lo : lows) {
            const auto g = reinterpret_cast<uintptr_t>(lo) - GUARD;
            if (a >= g && a < g + GUARD) return true;
        }
        return false;
    }
    void clear() {
        for (char* lo : lows) munmap(lo - GUARD, bytes + GUARD);
        lows.clear();
    }
};
inline Stacks stacks;

extern "C" __attribute__((used, visibility("hidden"))) inline void cuemu_thread_main() {
    BlockRun& b = block_run;
    b.body(b.args);
    b.current->wait = FINISHED;
    cuemu_swap(&b.current->sp, b.scheduler_sp);
    __builtin_trap();  // a finished thread is never resumed
}

inline void park(int wait, const char* site) {
    Thread* t = block_run.current;
    t->wait = wait;
    t->site = site;
    // a carry never survives a sync point: ptxas promises nothing across one
    if (cc_carry != CARRY_NONE) cc_carry = CARRY_STALE;
    cuemu_swap(&t->sp, block_run.scheduler_sp);
}

[[noreturn]] inline void abort_launch() {
    block_run.failed = true;
    for (;;) park(AT_BARRIER, "(aborted)");
}

inline void resume(Thread& t) {
    BlockRun& b = block_run;
    threadIdx = t.tid;
    cc_cf = t.cf;
    cc_carry = t.carry;
    b.current = &t;
    t.wait = RUNNING;
    cuemu_swap(&b.scheduler_sp, t.sp);
    t.cf = cc_cf;
    t.carry = cc_carry;
    b.current = nullptr;
}

inline const char* collective_name(int op) {
    static const char* names[] = {"?",
                                  "__shfl_sync",
                                  "__shfl_xor_sync",
                                  "__shfl_down_sync",
                                  "__shfl_up_sync",
                                  "__match_any_sync",
                                  "__ballot_sync",
                                  "__any_sync",
                                  "__all_sync",
                                  "__syncwarp"};
    return op > 0 && op <= SYNCWARP ? names[op] : names[0];
}

#define CUEMU_BLOCK_FMT "block (%u,%u,%u)"
#define CUEMU_BLOCK_ARGS blockIdx.x, blockIdx.y, blockIdx.z

// The source lane of a shuffle for `lane`, as CUDA defines it (width splits the warp into
// segments; up/down keep the caller's own value at the segment's edge).
inline int shuffle_source(const Thread& t, int lane) {
    const int w = t.width, seg = lane / w * w, pos = lane - seg;
    switch (t.op) {
        case SHFL_IDX: return seg + (t.arg & (w - 1));
        case SHFL_XOR: return seg + ((pos ^ t.arg) & (w - 1));
        case SHFL_DOWN: return pos + t.arg < w ? lane + t.arg : lane;
        default: return pos - t.arg >= 0 ? lane - t.arg : lane;
    }
}

// Complete the pending collectives of one warp. Returns +1 if some completed, 0 if none
// waits, -1 after reporting a collective that can never complete correctly.
inline int settle_warp(unsigned warp, unsigned n_threads) {
    std::vector<Thread>& th = block_run.threads;
    const unsigned first = warp * 32, lanes = std::min(32u, n_threads - first);
    const unsigned present = lanes == 32 ? ~0u : (1u << lanes) - 1;
    Thread* L = &th[first];
    unsigned waiting = 0;
    for (unsigned l = 0; l < lanes; l++)
        if (L[l].wait == AT_WARP) waiting |= 1u << l;
    if (!waiting) return 0;
    while (waiting) {
        const unsigned l0 = __builtin_ctz(waiting);
        const Thread& lead = L[l0];
        const unsigned mask = lead.mask;
        const char* name = collective_name(lead.op);
        if (!(mask >> l0 & 1)) {
            report->add(CUEMU_BLOCK_FMT " warp %u lane %u: %s at %s: the mask %08x excludes the calling lane",
                        CUEMU_BLOCK_ARGS, warp, l0, name, lead.site, mask);
            return -1;
        }
        if (mask & ~present) {
            report->add(CUEMU_BLOCK_FMT " warp %u: %s at %s: mask %08x names lanes the block (%u threads) lacks",
                        CUEMU_BLOCK_ARGS, warp, name, lead.site, mask, n_threads);
            return -1;
        }
        for (unsigned l = 0; l < lanes; l++) {
            if (!(mask >> l & 1)) continue;
            const Thread& t = L[l];
            if (t.wait != AT_WARP) {
                report->add(CUEMU_BLOCK_FMT " warp %u: %s (mask %08x) at %s: lane %u never arrives (%s)",
                            CUEMU_BLOCK_ARGS, warp, name, mask, lead.site, l,
                            t.wait == FINISHED ? "it returned" : "it waits at __syncthreads");
                return -1;
            }
            if (t.op != lead.op || t.mask != mask) {
                report->add(CUEMU_BLOCK_FMT " warp %u: lane %u waits at %s (mask %08x, %s) but lane %u at %s "
                            "(mask %08x, %s)",
                            CUEMU_BLOCK_ARGS, warp, l0, name, mask, lead.site, l, collective_name(t.op), t.mask,
                            t.site);
                return -1;
            }
        }
        for (unsigned l = 0; l < lanes; l++) {
            if (!(mask >> l & 1)) continue;
            Thread& t = L[l];
            unsigned long long r = 0;
            if (t.op <= SHFL_UP) {
                const int src = shuffle_source(t, (int)l);
                if (src < 0 || src >= (int)lanes || !(mask >> src & 1)) {
                    report->add(CUEMU_BLOCK_FMT " warp %u lane %u: %s at %s reads lane %d, outside the mask %08x "
                                "(an undefined value on a GPU)",
                                CUEMU_BLOCK_ARGS, warp, l, name, t.site, src, mask);
                    return -1;
                }
                r = L[src].value;
            } else if (t.op == MATCH_ANY) {
                unsigned same = 0;
                for (unsigned k = 0; k < lanes; k++)
                    if ((mask >> k & 1) && L[k].value == t.value) same |= 1u << k;
                r = same;
            } else if (t.op != SYNCWARP) {
                unsigned set = 0;
                for (unsigned k = 0; k < lanes; k++)
                    if ((mask >> k & 1) && L[k].value) set |= 1u << k;
                r = t.op == BALLOT ? set : t.op == VOTE_ANY ? set != 0 : set == mask;
            }
            t.result = r;
        }
        for (unsigned l = 0; l < lanes; l++)
            if (mask >> l & 1) L[l].wait = RUNNING;
        waiting &= ~mask;
    }
    return 1;
}

// Run one block to its end. False after a reported error.
inline bool run_block(unsigned n_threads, std::mt19937* shuffle) {
    BlockRun& b = block_run;
    b.threads.assign(n_threads, Thread{});
    for (unsigned i = 0; i < n_threads; i++) {
        Thread& t = b.threads[i];
        t.tid = {i % blockDim.x, i / blockDim.x % blockDim.y, i / (blockDim.x * blockDim.y)};
        char* lo = stacks.get(i);
        if (lo == nullptr) {
            report->add("cannot map a stack for thread %u", i);
            return false;
        }
        // the initial frame cuemu_swap pops: six callee-saved registers, then the return address
        auto top = reinterpret_cast<uintptr_t>(lo + stacks.bytes) & ~uintptr_t(15);
        void** sp = reinterpret_cast<void**>(top);
        // (after the `ret` into the trampoline the stack is 16-byte aligned, as its `call` needs)
        *--sp = reinterpret_cast<void*>(&cuemu_trampoline);
        for (int r = 0; r < 6; r++) *--sp = nullptr;
        t.sp = sp;
    }
    std::vector<unsigned> order(n_threads);
    for (unsigned i = 0; i < n_threads; i++) order[i] = i;
    for (;;) {
        if (shuffle) std::shuffle(order.begin(), order.end(), *shuffle);
        for (unsigned i : order) {
            if (b.threads[i].wait != RUNNING) continue;
            resume(b.threads[i]);
            if (b.failed) return false;
        }
        unsigned finished = 0, at_barrier = 0, at_warp = 0;
        for (const Thread& t : b.threads) {
            finished += t.wait == FINISHED;
            at_barrier += t.wait == AT_BARRIER;
            at_warp += t.wait == AT_WARP;
        }
        if (finished == n_threads) return true;
        if (at_warp) {
            bool progress = false;
            for (unsigned w = 0; w * 32 < n_threads; w++) {
                const int r = settle_warp(w, n_threads);
                if (r < 0) return false;
                progress = progress || r > 0;
            }
            if (progress) continue;
            report->add(CUEMU_BLOCK_FMT ": deadlock: %u threads at warp collectives, %u at __syncthreads, %u returned",
                        CUEMU_BLOCK_ARGS, at_warp, at_barrier, finished);
            return false;
        }
        // every live thread waits at a barrier
        const Thread* first = nullptr;
        for (const Thread& t : b.threads)
            if (t.wait == AT_BARRIER) {
                first = &t;
                break;
            }
        if (finished) {
            report->add(CUEMU_BLOCK_FMT ": __syncthreads at %s reached by %u threads while %u had returned "
                        "(a barrier in divergent code)",
                        CUEMU_BLOCK_ARGS, first->site, at_barrier, finished);
            return false;
        }
        for (const Thread& t : b.threads)
            if (std::strcmp(t.site, first->site) != 0) {
                report->add(CUEMU_BLOCK_FMT ": threads wait at different __syncthreads (%s and %s)", CUEMU_BLOCK_ARGS,
                            first->site, t.site);
                return false;
            }
        for (Thread& t : b.threads) t.wait = RUNNING;
    }
}

// ---- faults inside a kernel become launch errors ------------------------------------------------------
inline sigjmp_buf fault_return;
inline volatile sig_atomic_t fault_armed = 0;
inline void* volatile fault_address = nullptr;

inline pthread_t launching_thread;

inline void on_fault(int sig, siginfo_t* info, void*) {
    // not ours (no launch running, or another OS thread faulted): the default action
    if (!fault_armed || !pthread_equal(pthread_self(), launching_thread)) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    fault_armed = 0;
    fault_address = info->si_addr;
    siglongjmp(fault_return, sig);
}

struct FaultScope {
    static constexpr int SIGNALS[] = {SIGSEGV, SIGBUS, SIGILL};
    struct sigaction saved[3];
    stack_t saved_stack{};
    std::vector<char> alt_stack = std::vector<char>(1 << 16);
    FaultScope() {
        stack_t ss{};
        ss.ss_sp = alt_stack.data();
        ss.ss_size = alt_stack.size();
        sigaltstack(&ss, &saved_stack);  // a fiber's stack overflow leaves no stack to handle on
        struct sigaction sa {};
        sa.sa_sigaction = on_fault;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        for (int i = 0; i < 3; i++) sigaction(SIGNALS[i], &sa, &saved[i]);
    }
    ~FaultScope() {
        fault_armed = 0;
        for (int i = 0; i < 3; i++) sigaction(SIGNALS[i], &saved[i], nullptr);
        sigaltstack(&saved_stack, nullptr);
    }
};

inline void run_grid(dim3 grid, dim3 block, void (*body)(void*), void* args) {
    FaultScope scope;
    if (const int sig = sigsetjmp(fault_return, 1)) {
        const Thread* t = block_run.current;
        const uint3 tid = t ? t->tid : uint3{0, 0, 0};
        const char* what = sig == SIGILL ? "index out of range of a fixed-size array (a __shared__ or local array)"
                           : stacks.is_guard(fault_address)
                               ? "stack overflow of the CUDA thread"
                               : "illegal memory access, e.g. past the end of a device buffer "
                                 "(cudaErrorIllegalAddress on a GPU)";
        report->add("thread (%u,%u,%u) of " CUEMU_BLOCK_FMT ": %s at address %p", tid.x, tid.y, tid.z,
                    CUEMU_BLOCK_ARGS, what, sig == SIGILL ? nullptr : fault_address);
        block_run.current = nullptr;
        return;
    }
    gridDim = grid;
    blockDim = block;
    block_run.body = body;
    block_run.args = args;
    block_run.failed = false;
    const unsigned n_threads = block.x * block.y * block.z;
    const unsigned long long n_blocks = (unsigned long long)grid.x * grid.y * grid.z;
    std::mt19937 rng(settings.seed);
    std::vector<unsigned long long> order;
    if (settings.seed) {
        order.resize(n_blocks);
        for (unsigned long long i = 0; i < n_blocks; i++) order[i] = i;
        std::shuffle(order.begin(), order.end(), rng);
    }
    launching_thread = pthread_self();
    fault_armed = 1;
    for (unsigned long long k = 0; k < n_blocks; k++) {
        const unsigned long long i = settings.seed ? order[k] : k;
        blockIdx = {unsigned(i % grid.x), unsigned(i / grid.x % grid.y), unsigned(i / ((unsigned long long)grid.x * grid.y))};
        if (!run_block(n_threads, settings.seed ? &rng : nullptr)) break;
    }
    fault_armed = 0;
}

// ---- warp collectives and barriers called by CUDA threads ----------------------------------------------
inline unsigned long long warp_op(int op, unsigned mask, unsigned long long value, int arg, int width,
                                  const char* site) {
    Thread* t = block_run.current;
    if (op <= SHFL_UP && (width < 1 || width > 32 || (width & (width - 1)))) {
        report->add("thread (%u,%u,%u): %s at %s: width %d is not a power of two up to 32", t->tid.x, t->tid.y,
                    t->tid.z, collective_name(op), site, width);
        abort_launch();
    }
    t->op = op;
    t->mask = mask;
    t->value = value;
    t->arg = arg;
    t->width = width;
    park(AT_WARP, site);
    return t->result;
}

// ---- carry flag -------------------------------------------------------------------------------------------
inline unsigned take_carry(int family, const char* insn) {
    if (cc_carry != family) {
        const char* why = cc_carry == CARRY_NONE    ? "no carry was produced before it in this thread"
                          : cc_carry == CARRY_STALE ? "the carry was produced before a sync point"
                          : family == CARRY_SUB     ? "the carry came from an add (PTX keeps CF inverted for subtraction)"
                                                    : "the carry came from a subtraction (PTX keeps CF inverted)";
        report->add("thread (%u,%u,%u) of " CUEMU_BLOCK_FMT ": %s reads CC.CF but %s", threadIdx.x, threadIdx.y,
                    threadIdx.z, CUEMU_BLOCK_ARGS, insn, why);
        abort_launch();
    }
    return cc_cf;
}

}  // namespace cuemu

// x86-64 System V context switch: push the callee-saved registers, swap stack pointers, pop.
__asm__(R"(
    .text
    .p2align 4
    .globl cuemu_swap
    .hidden cuemu_swap
    .type cuemu_swap,@function
cuemu_swap:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size cuemu_swap, .-cuemu_swap

    .p2align 4
    .globl cuemu_trampoline
    .hidden cuemu_trampoline
    .type cuemu_trampoline,@function
cuemu_trampoline:
    call cuemu_thread_main
    ud2
    .size cuemu_trampoline, .-cuemu_trampoline
)");

// ---- the PTX instructions the kernels use (build.py rewrites inline asm into these) ------------------
namespace cuemu {
namespace ptx {
using u32 = unsigned;
using u64 = unsigned long long;

inline u32 produce(u64 wide, int family) {
    cc_cf = (u32)(wide >> 32) & 1;
    cc_carry = family;
    return (u32)wide;
}
inline u32 borrow(u32 a, u64 b_plus_in) {
    cc_cf = (u64)a < b_plus_in;
    cc_carry = CARRY_SUB;
    return (u32)((u64)a - b_plus_in);
}
inline u64 lo(u32 a, u32 b) { return (u32)(a * b); }
inline u64 hi(u32 a, u32 b) { return ((u64)a * b) >> 32; }

inline u32 add_cc_u32(u32 a, u32 b) { return produce((u64)a + b, CARRY_ADD); }
inline u32 addc_cc_u32(u32 a, u32 b) { return produce((u64)a + b + take_carry(CARRY_ADD, "addc.cc.u32"), CARRY_ADD); }
inline u32 addc_u32(u32 a, u32 b) { return a + b + take_carry(CARRY_ADD, "addc.u32"); }
inline u32 sub_cc_u32(u32 a, u32 b) { return borrow(a, b); }
inline u32 subc_cc_u32(u32 a, u32 b) { return borrow(a, (u64)b + take_carry(CARRY_SUB, "subc.cc.u32")); }
inline u32 subc_u32(u32 a, u32 b) { return a - b - take_carry(CARRY_SUB, "subc.u32"); }
inline u32 mad_lo_cc_u32(u32 a, u32 b, u32 c) { return produce(lo(a, b) + c, CARRY_ADD); }
inline u32 madc_lo_cc_u32(u32 a, u32 b, u32 c) {
    return produce(lo(a, b) + c + take_carry(CARRY_ADD, "madc.lo.cc.u32"), CARRY_ADD);
}
inline u32 madc_lo_u32(u32 a, u32 b, u32 c) { return (u32)(lo(a, b) + c + take_carry(CARRY_ADD, "madc.lo.u32")); }
inline u32 mad_hi_cc_u32(u32 a, u32 b, u32 c) { return produce(hi(a, b) + c, CARRY_ADD); }
inline u32 madc_hi_cc_u32(u32 a, u32 b, u32 c) {
    return produce(hi(a, b) + c + take_carry(CARRY_ADD, "madc.hi.cc.u32"), CARRY_ADD);
}
inline u32 madc_hi_u32(u32 a, u32 b, u32 c) { return (u32)(hi(a, b) + c + take_carry(CARRY_ADD, "madc.hi.u32")); }
}  // namespace ptx
}  // namespace cuemu

// ---- CUDA keywords ----------------------------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __shared__ static
#define __constant__ static
#define __restrict__ __restrict

#define CUEMU_STR_(x) #x
#define CUEMU_STR(x) CUEMU_STR_(x)
#define CUEMU_SITE __FILE__ ":" CUEMU_STR(__LINE__)

inline void cuemu_syncthreads(const char* site) { cuemu::park(cuemu::AT_BARRIER, site); }
#define __syncthreads() cuemu_syncthreads(CUEMU_SITE)

template <class T>
inline T cuemu_shuffle(int op, unsigned mask, T v, int arg, int width, const char* site) {
    static_assert(sizeof(T) <= 8, "shuffles move at most 64 bits");
    unsigned long long raw = 0;
    std::memcpy(&raw, &v, sizeof(T));
    raw = cuemu::warp_op(op, mask, raw, arg, width, site);
    T out;
    std::memcpy(&out, &raw, sizeof(T));
    return out;
}
inline int cuemu_width(int w = warpSize) { return w; }
inline unsigned cuemu_full_mask(unsigned m = 0xffffffffu) { return m; }
#define __shfl_sync(m, v, lane, ...) cuemu_shuffle(cuemu::SHFL_IDX, (m), (v), (lane), cuemu_width(__VA_ARGS__), CUEMU_SITE)
#define __shfl_xor_sync(m, v, x, ...) cuemu_shuffle(cuemu::SHFL_XOR, (m), (v), (x), cuemu_width(__VA_ARGS__), CUEMU_SITE)
#define __shfl_down_sync(m, v, d, ...) \
    cuemu_shuffle(cuemu::SHFL_DOWN, (m), (v), (int)(d), cuemu_width(__VA_ARGS__), CUEMU_SITE)
#define __shfl_up_sync(m, v, d, ...) cuemu_shuffle(cuemu::SHFL_UP, (m), (v), (int)(d), cuemu_width(__VA_ARGS__), CUEMU_SITE)

template <class T>
inline unsigned cuemu_match_any(unsigned mask, T v, const char* site) {
    static_assert(sizeof(T) == 4 || sizeof(T) == 8, "__match_any_sync compares 32- or 64-bit values");
    unsigned long long raw = 0;
    std::memcpy(&raw, &v, sizeof(T));
    return (unsigned)cuemu::warp_op(cuemu::MATCH_ANY, mask, raw, 0, 32, site);
}
#define __match_any_sync(m, v) cuemu_match_any((m), (v), CUEMU_SITE)
#define __ballot_sync(m, p) ((unsigned)cuemu::warp_op(cuemu::BALLOT, (m), (p) != 0, 0, 32, CUEMU_SITE))
#define __any_sync(m, p) ((int)cuemu::warp_op(cuemu::VOTE_ANY, (m), (p) != 0, 0, 32, CUEMU_SITE))
#define __all_sync(m, p) ((int)cuemu::warp_op(cuemu::VOTE_ALL, (m), (p) != 0, 0, 32, CUEMU_SITE))
#define __syncwarp(...) ((void)cuemu::warp_op(cuemu::SYNCWARP, cuemu_full_mask(__VA_ARGS__), 0, 0, 32, CUEMU_SITE))

// atomics: one OS thread runs every CUDA thread, and a fiber never switches inside one
template <class T>
inline T atomicAdd(T* p, T v) {
    const T old = *p;
    *p = old + v;
    return old;
}
template <class T>
inline T atomicSub(T* p, T v) {
    const T old = *p;
    *p = old - v;
    return old;
}
template <class T>
inline T atomicExch(T* p, T v) {
    const T old = *p;
    *p = v;
    return old;
}
template <class T>
inline T atomicMax(T* p, T v) {
    const T old = *p;
    if (v > old) *p = v;
    return old;
}
template <class T>
inline T atomicMin(T* p, T v) {
    const T old = *p;
    if (v < old) *p = v;
    return old;
}
template <class T>
inline T atomicCAS(T* p, T expected, T v) {
    const T old = *p;
    if (old == expected) *p = v;
    return old;
}
inline void __threadfence() {}
inline void __threadfence_block() {}

// integer intrinsics
inline unsigned __brev(unsigned x) {
    x = (x & 0x55555555u) << 1 | (x >> 1 & 0x55555555u);  // swap neighbours, then pairs, nibbles, bytes
    x = (x & 0x33333333u) << 2 | (x >> 2 & 0x33333333u);
    x = (x & 0x0f0f0f0fu) << 4 | (x >> 4 & 0x0f0f0f0fu);
    return __builtin_bswap32(x);
}
inline unsigned long long __brevll(unsigned long long x) {
    return (unsigned long long)__brev((unsigned)x) << 32 | __brev((unsigned)(x >> 32));
}
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline int __clz(int x) { return x ? __builtin_clz((unsigned)x) : 32; }
inline int __clzll(long long x) { return x ? __builtin_clzll((unsigned long long)x) : 64; }
inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((unsigned long long)a * b) >> 32); }
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
    return (unsigned long long)(((unsigned __int128)a * b) >> 64);
}
[[noreturn]] inline void __trap() {
    cuemu::report->add("__trap() in thread (%u,%u,%u) of block (%u,%u,%u)", threadIdx.x, threadIdx.y, threadIdx.z,
                       CUEMU_BLOCK_ARGS);
    cuemu::abort_launch();
}

// CUDA's integer min/max accept mixed signedness, unlike std::min
template <class A, class B>
inline auto min(A a, B b) -> std::common_type_t<A, B> {
    return a < b ? a : b;
}
template <class A, class B>
inline auto max(A a, B b) -> std::common_type_t<A, B> {
    return a > b ? a : b;
}

// ---- launch entry points (build.py adds one CUEMU_KERNEL line per extern "C" __global__) --------------
namespace cuemu {

// one character per parameter: a pointer's pointee size (0 for void, 1, 2, 4, 8, 9 for larger),
// u/U unsigned 32/64-bit, i/I signed 32/64-bit
template <class T>
constexpr char param_code() {
    if constexpr (std::is_pointer_v<T>) {
        using P = std::remove_cv_t<std::remove_pointer_t<T>>;
        if constexpr (std::is_void_v<P>) return '0';
        else return sizeof(P) <= 8 ? char('0' + sizeof(P)) : '9';
    }
    else if constexpr (std::is_integral_v<T> && sizeof(T) == 4) return std::is_signed_v<T> ? 'i' : 'u';
    else if constexpr (std::is_integral_v<T> && sizeof(T) == 8) return std::is_signed_v<T> ? 'I' : 'U';
    else return '?';
}
template <class... A>
const char* signature_of(void (*)(A...)) {
    static const char codes[] = {param_code<A>()..., '\0'};
    return codes;
}

template <class... A>
struct Bound {
    void (*fn)(A...);
    std::tuple<A...> args;
    static void run(void* self) {
        auto* b = static_cast<Bound*>(self);
        std::apply(b->fn, b->args);
    }
};

template <class... A, size_t... I>
std::tuple<A...> read_args(void** argv, std::index_sequence<I...>) {
    return std::tuple<A...>{*static_cast<A*>(argv[I])...};
}

template <class... A>
int launch(void (*fn)(A...), long bound, const unsigned* g, const unsigned* b, void** argv, char* err, int err_len) {
    Report r;
    report = &r;
    const dim3 grid{g[0], g[1], g[2]}, block{b[0], b[1], b[2]};
    const unsigned long long n = (unsigned long long)block.x * block.y * block.z;
    if (!grid.x || !grid.y || !grid.z || !n) r.add("empty grid (%u,%u,%u) or block (%u,%u,%u)", grid.x, grid.y,
                                                   grid.z, block.x, block.y, block.z);
    else if (n > 1024 || block.z > 64)
        r.add("block (%u,%u,%u) exceeds CUDA's limits (1024 threads, z <= 64)", block.x, block.y, block.z);
    else if (bound > 0 && (long long)n > bound)
        r.add("block of %llu threads exceeds the kernel's __launch_bounds__(%ld)", n, bound);
    else if (grid.y > 65535 || grid.z > 65535)
        r.add("grid (%u,%u,%u) exceeds CUDA's limits (y, z <= 65535)", grid.x, grid.y, grid.z);
    if (!r.count) {
        Bound<A...> call{fn, read_args<A...>(argv, std::index_sequence_for<A...>{})};
        run_grid(grid, block, &Bound<A...>::run, &call);
    }
    report = nullptr;
    if (!r.count) return 0;
    snprintf(err, err_len, "%s%s", r.text.c_str(), r.count > 12 ? "\n(further errors left out)" : "");
    return 1;
}

}  // namespace cuemu

// the library's only exported symbols (build.py compiles with -fvisibility=hidden)
#define CUEMU_EXPORT extern "C" __attribute__((used, visibility("default")))

CUEMU_EXPORT void cuemu_set_seed(unsigned seed) { cuemu::settings.seed = seed; }

#define CUEMU_KERNEL(name, bound)                                                                           \
    CUEMU_EXPORT int cuemu_launch_##name(const unsigned* g, const unsigned* b, void** argv, char* err, int len) { \
        return cuemu::launch(&name, (long)(bound), g, b, argv, err, len);                                     \
    }                                                                                                         \
    CUEMU_EXPORT const char* cuemu_signature_##name() { return cuemu::signature_of(&name); }

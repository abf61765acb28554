"""The kernel launches of the GPU backend: :class:`CupyOps`, one method per kernel launch
(grid, block and argument types exactly as the C signatures in ``kernels/*.cu`` take them).
Nothing else in the backend touches CUDA.

``CupyOps()`` launches on the current CuPy device through ``kernels.loader``;
``CupyOps(xp, load)`` takes another array module and module loader, which is how the emulated
backend (``kernels.emulator``) runs the same launches on the CPU.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from kernels.ntt_plan import Pass

#: threads per block of the element-wise kernels
ELEMENTWISE_BLOCK = 256
#: threads per block of the MSM point kernels: G2's XYZZ arithmetic uses up to 255 registers
#: per thread, and 128 x 255 fits every SM's register file with room for two blocks
MSM_BLOCK = 128


def _u32(x: int) -> np.uint32:
    return np.uint32(x)


def _u64(x: int) -> np.uint64:
    return np.uint64(x)


class CupyOps:
    """The kernel launches on the current CuPy device. Argument types are NumPy scalars that
    match the C signatures exactly (CuPy passes them by value as those types)."""

    def __init__(self, xp: Any = None, load: Callable[[str], Any] | None = None) -> None:
        from kernels import loader

        if xp is None:
            import cupy as xp
        #: the array module (CuPy, or the emulator's NumPy stand-in)
        self.xp = xp
        #: the kernel module loader (``kernels.loader.load``, or the emulator's)
        self.load = load or loader.load
        self.tile_log = loader.NTT_TILE_LOG
        ntt, qap = self.load("ntt"), self.load("qap")
        self._dit = ntt.get_function("fr_ntt_dit_pass")
        self._dif = ntt.get_function("fr_ntt_dif_pass")
        self._permute_scale = ntt.get_function("fr_permute_scale")
        self._powers = ntt.get_function("fr_powers")
        self._convert = ntt.get_function("fr_convert")
        self._coeffs = qap.get_function("fr_coeffs_from_zkey")
        self._sparse = qap.get_function("fr_sparse_abc")
        self._qh = qap.get_function("fr_quotient_h")
        msm = self.load("msm")
        self._msm_hist = msm.get_function("msm_histogram")
        self._msm_scatter = msm.get_function("msm_scatter")
        self._msm_fn = {
            (g, kind): msm.get_function(f"{g}_{kind}")
            for g in ("g1", "g2")
            for kind in ("sum_chunks_affine", "sum_chunks_xyzz", "reduce_segments")
        }

    # memory
    def upload(self, host: np.ndarray) -> Any:
        return self.xp.asarray(np.ascontiguousarray(host))

    def download(self, dev: Any) -> np.ndarray:
        return self.xp.asnumpy(dev)

    def empty(self, shape: tuple[int, ...], dtype: Any = np.uint64) -> Any:
        return self.xp.empty(shape, dtype=dtype)

    def mem_available(self) -> int:
        free, _total = self.xp.cuda.runtime.memGetInfo()
        # blocks CuPy's pool holds but does not use are free for our purposes
        return int(free) + int(self.xp.get_default_memory_pool().free_bytes())

    def free_pool(self) -> None:
        self.xp.get_default_memory_pool().free_all_blocks()

    def synchronize(self) -> None:
        self.xp.cuda.get_current_stream().synchronize()

    @staticmethod
    def _grid1(count: int, batch: int = 1) -> tuple[tuple[int, int], tuple[int]]:
        return ((count + ELEMENTWISE_BLOCK - 1) // ELEMENTWISE_BLOCK, batch), (ELEMENTWISE_BLOCK,)

    # NTT
    def ntt_pass(self, data: Any, log_n: int, batch: int, p: Pass, tw: Any, log_tw: int, dif: bool) -> None:
        fn = self._dif if dif else self._dit
        grid = (1 << (log_n - p.k - p.c), batch)
        block = (1 << (p.k + p.c - 1),)
        fn(grid, block, (data, _u32(log_n), _u32(p.p0), _u32(p.k), _u32(p.c), tw, _u32(log_tw)))

    def permute_scale(
        self, src: Any, dst: Any, log_n: int, batch: int, permute: bool, mode: int, hi: Any, lo: Any, lo_log: int
    ) -> None:
        grid, block = self._grid1(1 << log_n, batch)
        self._permute_scale(grid, block, (src, dst, _u32(log_n), _u32(int(permute)), _u32(mode), hi, lo, _u32(lo_log)))

    def powers(self, out: Any, count: int, hi: Any, lo: Any, lo_log: int) -> None:
        grid, block = self._grid1(count)
        self._powers(grid, block, (out, _u64(count), hi, lo, _u32(lo_log)))

    def convert(self, data: Any, count: int, to_mont: bool) -> None:
        grid, block = self._grid1(count)
        self._convert(grid, block, (data, _u64(count), _u32(int(to_mont))))

    # QAP
    def coeffs_from_zkey(self, vals: Any, count: int) -> None:
        if count:
            grid, block = self._grid1(count)
            self._coeffs(grid, block, (vals, _u64(count)))

    def sparse_abc(
        self, a: tuple[Any, Any, Any], b: tuple[Any, Any, Any], n_rows: int, w: Any, abc: Any, n: int
    ) -> None:
        grid, block = self._grid1(n)
        self._sparse(grid, block, (*a, *b, _u64(n_rows), w, abc, _u64(n)))

    def quotient_h(self, abc: Any, h: Any, n: int) -> None:
        grid, block = self._grid1(n)
        self._qh(grid, block, (abc, h, _u64(n)))

    # MSM (kernels/msm.cu)
    def msm_histogram(self, scalars: Any, n: int, mont: bool, c: int, n_windows: int, counts: Any) -> None:
        grid, block = self._grid1(n)
        self._msm_hist(grid, block, (scalars, _u64(n), _u32(int(mont)), _u32(c), _u32(n_windows), counts))

    def msm_scatter(self, scalars: Any, n: int, mont: bool, c: int, n_windows: int, cursor: Any, sorted_: Any) -> None:
        grid, block = self._grid1(n)
        args = (scalars, _u64(n), _u32(int(mont)), _u32(c), _u32(n_windows), cursor, sorted_)
        self._msm_scatter(grid, block, args)

    def msm_sum_chunks(
        self,
        g2: bool,
        src: Any,
        items: Any | None,
        item_off: Any,
        chunk_off: Any,
        n_seg: int,
        L: int,
        total: int,
        out: Any,
    ) -> None:
        g = "g2" if g2 else "g1"
        grid = ((total + MSM_BLOCK - 1) // MSM_BLOCK,)
        tail = (item_off, chunk_off, _u32(n_seg), _u32(L), _u64(total), out)
        if items is not None:
            self._msm_fn[g, "sum_chunks_affine"](grid, (MSM_BLOCK,), (src, items, *tail))
        else:
            self._msm_fn[g, "sum_chunks_xyzz"](grid, (MSM_BLOCK,), (src, *tail))

    def msm_reduce_segments(
        self, g2: bool, sums: Any, off: Any, n_buckets: int, seg_len: int, n_windows: int, out: Any
    ) -> None:
        threads = n_windows * (n_buckets // seg_len)
        grid = ((threads + MSM_BLOCK - 1) // MSM_BLOCK,)
        args = (sums, off, _u32(n_buckets), _u32(seg_len), _u32(n_windows), out)
        self._msm_fn["g2" if g2 else "g1", "reduce_segments"](grid, (MSM_BLOCK,), args)

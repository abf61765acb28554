"""The start-up self-test that gates the GPU backend: it passes a correct backend and names the
operation of a wrong one."""

from __future__ import annotations

import numpy as np
import pytest

from prover.backend.python_backend import PythonBackend
from prover.backend.selftest import self_test


def _cpu():
    from prover.backend.cpu import CpuBackend

    ok, why = CpuBackend.available()
    if not ok:
        pytest.skip(why)
    return CpuBackend()


def test_correct_backends_pass():
    assert self_test(PythonBackend()) is None
    assert self_test(_cpu()) is None


class _NttWithoutCoset(PythonBackend):
    def ntt(self, values, *, inverse=False, coset=None):
        return super().ntt(values, inverse=inverse)  # forgets the coset


class _MsmOffByOne(PythonBackend):
    def msm_g1(self, bases, scalars):
        bumped = np.array(scalars, copy=True)
        bumped[-1, 0] ^= 1
        return super().msm_g1(bases, bumped)


class _BrokenG2(PythonBackend):
    def msm_g2(self, bases, scalars):
        return None


@pytest.mark.parametrize(
    ("broken", "name"),
    [(_NttWithoutCoset, "inverse coset ntt"), (_MsmOffByOne, "msm_g1"), (_BrokenG2, "msm_g2")],
)
def test_wrong_backends_are_named(broken, name):
    assert self_test(broken()).startswith(name)

"""The iden3 ``.wtns`` witness file (version 2): a header (n8, prime, count) and the values as
32-byte little-endian integers, w[0] = 1.

``read_wtns`` returns the values as a zero-copy (n, 4) uint64 array (``prover.field.arrays``
layout), which is what the provers consume; ``fr_ints`` turns it into integers when needed.
"""

from __future__ import annotations

import os

import numpy as np

from prover.binfile import BinFile, BinWriter, FormatError, bigint, u32
from prover.field.arrays import FrVector, check_fr_vector, fr_vector
from prover.field.bn254 import FR_MODULUS

WTNS_MAGIC = b"wtns"


def read_wtns(path: str | os.PathLike) -> FrVector:
    f = BinFile(path, WTNS_MAGIC, 2)
    h = f.reader(1, "header")
    h.field(FR_MODULUS, "scalar field")
    count = h.u32()
    h.expect_end()
    body = f.section(2, "values")
    if len(body) != 32 * count:
        raise f.fail(f"header says {count} values, the values section holds {len(body) / 32:g}")
    values = np.frombuffer(body, dtype="<u8").reshape(count, 4)
    try:
        check_fr_vector(values, "witness")
    except ValueError:
        raise f.fail("a witness value is not reduced mod r") from None
    if count == 0 or tuple(values[0]) != (1, 0, 0, 0):
        raise f.fail("witness[0] must be 1 (the constant wire)")
    return values


def write_wtns(values: FrVector | list[int], path: str | os.PathLike) -> None:
    """Write a witness (array or list of ints) atomically."""
    arr = fr_vector(values) if isinstance(values, list) else np.ascontiguousarray(values, dtype="<u8")
    writer = BinWriter(WTNS_MAGIC, 2)
    writer.add(1, u32(32), bigint(FR_MODULUS), u32(len(arr)))
    writer.add(2, arr.tobytes())
    writer.save(path)


__all__ = ["FormatError", "read_wtns", "write_wtns"]

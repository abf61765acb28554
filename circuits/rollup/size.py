"""How big a batch circuit will be, predicted from its shape without building it.

Building the circuit of a large batch takes a minute and gigabytes, and its setup and proofs take
many times that; a shape that cannot fit the machine should be refused before any of it. The
constraint count follows the circuit's structure (``batch_circuit``):

* a fixed part (domain and batch-number range checks, the fee account's update, the public
  input's bit decomposition) growing with the depth through the fee account's two Merkle paths;
* per transaction slot: four Merkle path checks (old and new leaf of A and of B), a signature
  check and range checks, so an affine function of the depth;
* SHA-256 over the public data: one compression per 512-bit block, the message being the header
  plus one fixed-width record per slot.

The coefficients below are a least-squares fit to built circuits (depths 1-3 and 12, batches
1-32; :data:`CALIBRATION`, where batches 64, 128 and 256 were built after the fit: 0.12%, 0.20%
and 0.24% off). The prediction is not exact: the SHA-256 gadget's cost also depends on which
message bits are constants, and that changes record by record. It stays within
:data:`TOLERANCE` of every calibration point, and ``tests/test_memory_model.py`` checks it
against a fresh build too: a change to the circuit's gadgets that moves the counts by more than
that fails there; refit with the counts of ``bench/bench_circuit_build.py``.
"""

from __future__ import annotations

from circuits.rollup.params import (
    AMOUNT_BITS,
    BATCH_NUMBER_BITS,
    CHAIN_ID_BITS,
    FEE_BITS,
    L1_ADDRESS_BITS,
    TYPE_BITS,
    BatchShape,
    index_bytes,
)

#: Relative error of :func:`predicted_constraints` against every calibration point, at most.
TOLERANCE = 0.03

#: (depth, batch size) -> constraints of the built circuit, the data the coefficients were fitted on.
CALIBRATION: dict[tuple[int, int], int] = {
    (1, 1): 90_346, (1, 2): 99_646, (1, 3): 108_962, (1, 5): 127_578, (1, 9): 190_264,
    (2, 1): 92_178, (2, 2): 102_702, (3, 1): 94_013,
    (12, 1): 110_479, (12, 2): 133_219, (12, 4): 197_996, (12, 8): 295_056, (12, 32): 993_314,
    (12, 64): 1_898_878,  # not in the fit: predicted 1,901,079 (+0.12%)
    (12, 128): 3_710_006,  # not in the fit: predicted 3,717,439 (+0.20%)
    (12, 256): 7_332_262,  # not in the fit: predicted 7,350,159 (+0.24%)
}  # fmt: skip

# constraints = FIXED + FIXED_PER_LEVEL·depth + batch·(SLOT + SLOT_PER_LEVEL·depth) + SHA_BLOCK·blocks
_FIXED = 15_341.4
_FIXED_PER_LEVEL = 434.5
_SLOT = 9_994.4
_SLOT_PER_LEVEL = 1_589.9
_SHA_BLOCK = 21_388.0
_SLOT_PER_INDEX_BIT = -223.8  # wider indices: more message bits per record, fewer free padding bits

_FIELD_BITS = 256  # old root, new root, L1 digest: each a full field element in the message


def public_data_bits(shape: BatchShape) -> int:
    """Length in bits of the SHA-256 message the circuit hashes (``public_data``'s layout)."""
    iw = 8 * index_bytes(shape.depth)
    header = CHAIN_ID_BITS + L1_ADDRESS_BITS + BATCH_NUMBER_BITS + 3 * _FIELD_BITS + iw
    record = TYPE_BITS + 2 * iw + AMOUNT_BITS + FEE_BITS
    return header + shape.batch_size * record


def sha256_blocks(message_bits: int) -> int:
    """SHA-256 compressions for a message of ``message_bits``: the padding adds a 1 bit and a
    64-bit length."""
    return (message_bits + 1 + 64 + 511) // 512


def predicted_constraints(shape: BatchShape) -> int:
    """The batch circuit's constraint count, within :data:`TOLERANCE`, without building it."""
    d, b = shape.depth, shape.batch_size
    iw = 8 * index_bytes(d)
    count = (
        _FIXED
        + _FIXED_PER_LEVEL * d
        + b * (_SLOT + _SLOT_PER_LEVEL * d + _SLOT_PER_INDEX_BIT * iw)
        + _SHA_BLOCK * sha256_blocks(public_data_bits(shape))
    )
    return round(count)


#: Public signals of every batch circuit: the one hash of the public data.
N_PUBLIC = 1

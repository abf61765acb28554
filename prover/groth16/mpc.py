"""Phase-2 contribution records: section 10 of a snarkjs .zkey, and the hashes over them.

Section 10 is the circuit hash (64 bytes, BLAKE2b-512 of the initial key, see ``phase2``), a u32
count, then per contribution: deltaAfter, g1_s, g1_sx (G1), g2_spx (G2), all in the zkey's
point layout; the 64-byte transcript; u32 type (0 contribution, 1 beacon); u32 length of a
parameter list of (tag byte, value) in increasing tag order: 1 name (length byte, UTF-8, at most
64 characters), 2 numIterationsExp (one byte), 3 beacon hash (length byte, bytes).

Hashes (BLAKE2b-512) feed points in snarkjs's "uncompressed" encoding: standard-form
coordinates big-endian, an Fq2 as c1 then c0, the point at infinity all zeros. A contribution's
public key (``hash_pubkey``) is deltaAfter, g1_s, g1_sx, g2_spx, transcript; its transcript is
the circuit hash, every earlier public key, g1_s and g1_sx; its *contribution hash* (what
snarkjs prints and participants publish) is the hash of its public key alone.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import numpy as np

from prover.binfile import FormatError, SectionReader, u32
from prover.field.arrays import g1_array, g1_points, g2_array, g2_points
from prover.field.curve import G1, G2

CONTRIBUTION, BEACON = 0, 1
_NAME, _ITERATIONS, _BEACON_HASH = 1, 2, 3


def blake512() -> hashlib._Hash:
    return hashlib.blake2b(digest_size=64)


def g1_uncompressed(p) -> bytes:
    if p is None:
        return bytes(64)
    return p[0].to_bytes(32, "big") + p[1].to_bytes(32, "big")


def g2_uncompressed(p) -> bytes:
    if p is None:
        return bytes(128)
    (x0, x1), (y0, y1) = p
    return b"".join(v.to_bytes(32, "big") for v in (x1, x0, y1, y0))


def uncompressed(points_mont_standard: np.ndarray) -> bytes:
    """The uncompressed encoding of a bulk point array already converted to standard form
    ((n, 2, 4) or (n, 2, 2, 4) u64): each coordinate's bytes reversed (an Fq2 as one 64-byte
    little-endian number c0 + 2^256 c1 reversed is c1, c0 big-endian)."""
    n = points_mont_standard.shape[0]
    raw = np.ascontiguousarray(points_mont_standard).view(np.uint8).reshape(n, 2, -1)
    return raw[:, :, ::-1].tobytes()


@dataclass
class Contribution:
    """One phase-2 contribution (snarkjs's record; points affine, standard form)."""

    delta_after: tuple
    g1_s: tuple
    g1_sx: tuple
    g2_spx: tuple
    transcript: bytes
    type: int = CONTRIBUTION
    name: str | None = None
    num_iterations_exp: int | None = None
    beacon_hash: bytes | None = None

    def public_key_bytes(self) -> bytes:
        return (
            g1_uncompressed(self.delta_after)
            + g1_uncompressed(self.g1_s)
            + g1_uncompressed(self.g1_sx)
            + g2_uncompressed(self.g2_spx)
            + self.transcript
        )

    def contribution_hash(self) -> bytes:
        h = blake512()
        h.update(self.public_key_bytes())
        return h.digest()

    def encode(self) -> bytes:
        points = g1_array([self.delta_after, self.g1_s, self.g1_sx]).tobytes() + g2_array([self.g2_spx]).tobytes()
        return points + self.transcript + encode_params(self)


@dataclass
class MpcParams:
    """Section 10: the circuit hash and the contributions so far."""

    cs_hash: bytes
    contributions: list[Contribution]

    def encode(self) -> bytes:
        return self.cs_hash + u32(len(self.contributions)) + b"".join(c.encode() for c in self.contributions)

    def transcript_hasher(self) -> hashlib._Hash:
        """The hasher a new contribution's transcript continues (circuit hash, earlier keys)."""
        h = blake512()
        h.update(self.cs_hash)
        for c in self.contributions:
            h.update(c.public_key_bytes())
        return h


def encode_params(c) -> bytes:
    """u32 type, u32 length, then the parameter list of a phase-1 or phase-2 record ``c`` (with
    ``type``, ``name``, ``num_iterations_exp`` and ``beacon_hash``): both phases share it."""
    params = bytearray()
    if c.name:
        # snarkjs keeps the first 64 UTF-16 units of the name; characters are close enough
        data = c.name[:64].encode()
        params += bytes([_NAME, len(data)]) + data
    if c.type == BEACON:
        assert c.beacon_hash is not None and c.num_iterations_exp is not None
        params += bytes([_ITERATIONS, c.num_iterations_exp, _BEACON_HASH, len(c.beacon_hash)])
        params += c.beacon_hash
    return u32(c.type) + u32(len(params)) + bytes(params)


def read_mpc_params(r: SectionReader) -> MpcParams:
    """Parse section 10; FormatError (naming the file) on anything malformed."""
    fail = r.owner.fail
    cs_hash = bytes(r.take(64))
    n = r.u32()
    out = []
    for i in range(n):
        g1 = np.frombuffer(bytes(r.take(3 * 64)), dtype="<u8").reshape(3, 2, 4)
        g2 = np.frombuffer(bytes(r.take(128)), dtype="<u8").reshape(1, 2, 2, 4)
        delta_after, g1_s, g1_sx = g1_points(g1)
        (g2_spx,) = g2_points(g2)
        for what, p, group in (("deltaAfter", delta_after, G1), ("g1_s", g1_s, G1), ("g1_sx", g1_sx, G1)):
            if p is not None and not group.is_on_curve(p):
                raise fail(f"contribution {i + 1}: {what} is not a point on G1")
        if g2_spx is not None and not G2.is_on_curve(g2_spx):
            raise fail(f"contribution {i + 1}: g2_spx is not a point on G2")
        c = Contribution(delta_after, g1_s, g1_sx, g2_spx, bytes(r.take(64)), r.u32())
        plen = r.u32()
        params = bytes(r.take(plen))
        parse_params(c, params, i, fail)
        out.append(c)
    r.expect_end()
    return MpcParams(cs_hash, out)


def parse_params(c, params: bytes, i: int, fail) -> None:
    """Fill the name, beacon hash and iterations of record ``c`` (either phase) from its list."""
    pos, last = 0, 0
    try:
        while pos < len(params):
            tag = params[pos]
            if tag <= last:
                raise fail(f"contribution {i + 1}: parameters are not in increasing tag order")
            last = tag
            if tag == _NAME:
                ln = params[pos + 1]
                c.name = params[pos + 2 : pos + 2 + ln].decode("utf-8", errors="replace")
                pos += 2 + ln
            elif tag == _ITERATIONS:
                c.num_iterations_exp = params[pos + 1]
                pos += 2
            elif tag == _BEACON_HASH:
                ln = params[pos + 1]
                c.beacon_hash = params[pos + 2 : pos + 2 + ln]
                pos += 2 + ln
            else:
                raise fail(f"contribution {i + 1}: unknown parameter tag {tag}")
    except IndexError:
        raise fail(f"contribution {i + 1}: parameter list is truncated") from None
    if pos != len(params):
        raise fail(f"contribution {i + 1}: parameter list is truncated")
    if c.type == BEACON and (c.num_iterations_exp is None or c.beacon_hash is None):
        raise fail(f"contribution {i + 1}: a beacon without its hash or iteration count")


def format_hash(h: bytes, indent: str = "\t\t") -> str:
    """A 64-byte hash as snarkjs prints it: 4 lines of 4 big-endian 32-bit words in hex."""
    words = struct.unpack(">16I", h)
    return "\n".join(indent + " ".join(f"{w:08x}" for w in words[i : i + 4]) for i in range(0, 16, 4))


__all__ = [
    "BEACON",
    "CONTRIBUTION",
    "Contribution",
    "FormatError",
    "MpcParams",
    "blake512",
    "encode_params",
    "format_hash",
    "g1_uncompressed",
    "g2_uncompressed",
    "parse_params",
    "read_mpc_params",
    "uncompressed",
]

"""Groth16 keys and proofs as plain data.

Single points are affine tuples of standard-form integers (``prover.field.curve``); a proving
key's bulk queries live in a :class:`~prover.backend.interface.KeyArrays` in the .zkey layout,
so that a snarkjs key is used without conversion.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from prover.backend.interface import KeyArrays
from prover.field.curve import G1Affine, G2Affine

DEV_SETUP_WARNING = (
    "development setup: toxic waste drawn at random in one process, NOT FOR PRODUCTION "
    "(use a multi-party ceremony, e.g. snarkjs powers of tau + zkey contribute)"
)


@dataclass(frozen=True)
class VerifyingKey:
    alpha1: G1Affine
    beta2: G2Affine
    gamma2: G2Affine
    delta2: G2Affine
    ic: tuple[G1Affine, ...]  # n_public + 1 points

    @property
    def n_public(self) -> int:
        return len(self.ic) - 1


@dataclass(frozen=True)
class Proof:
    a: G1Affine
    b: G2Affine
    c: G1Affine


@dataclass
class ProvingKey:
    vk: VerifyingKey
    beta1: G1Affine
    delta1: G1Affine
    arrays: KeyArrays
    #: where the key came from; a development setup says it is not for production
    origin: str = "unknown"
    metadata: dict = field(default_factory=dict)

    @property
    def n_vars(self) -> int:
        return self.arrays.n_vars

    @property
    def n_public(self) -> int:
        return self.arrays.n_public

    @property
    def domain_size(self) -> int:
        return self.arrays.domain_size

    @property
    def is_development(self) -> bool:
        return self.metadata.get("setup") == "development"

    @property
    def provenance(self) -> str:
        """``development`` (our in-process setup), ``ceremony`` (phase 2 with contributions),
        ``uncontributed`` (a snarkjs key before any contribution) or ``unknown``."""
        return str(self.metadata.get("setup", "unknown"))

    @property
    def contribution_hashes(self) -> list[str]:
        """The phase-2 contribution hashes (hex, in order), as snarkjs prints them."""
        return [c["hash"] for c in self.metadata.get("contributions", [])]

    def digest(self) -> str:
        """SHA-256 of the bulk arrays and the header points: the key's identity in caches."""
        h = hashlib.sha256(self.arrays.digest().encode())
        h.update(repr((self.vk, self.beta1, self.delta1)).encode())
        return h.hexdigest()

"""Where a batch circuit's proving key comes from, and which keys the operator accepts.

Production keys come from a phase-2 ceremony (``zkprover zkey new / contribute / beacon``, or
snarkjs): one ``.zkey`` per batch shape in a keys directory, named after the circuit
(``<keys dir>/rollup_b4_d12.zkey``), each pinned by the SHA-256 of its file in the
configuration. :func:`check_ceremony_keys` checks every configured shape's key at start (file
present, hash as pinned, header readable, counts); :func:`ceremony_key` loads one and also checks
that its coefficient records are this circuit's constraints (the part of a key that depends only
on the circuit), so a key for other circuit code is refused rather than proving garbage.

Without a keys directory, keys come from the development setup (``circuit_cache``). Whoever ran
it knows the toxic waste and can forge batches, so a :class:`KeyPolicy` refuses development keys,
and snarkjs keys with no phase-2 contribution, unless ``allow_development`` says otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from circuits.builder import CompiledCircuit
from prover.groth16.keys import ProvingKey
from prover.groth16.zkey import read_zkey
from prover.rollup.circuit_cache import _sha256_file

log = logging.getLogger("zkprover.rollup.keys")

#: provenances a key may have without ``allow_development`` (see ProvingKey.provenance)
PRODUCTION = ("ceremony",)


class KeyRefused(ValueError):
    """A proving key is missing, not as pinned, not this circuit's, or not allowed here."""


@dataclass(frozen=True)
class KeyPolicy:
    """Keys the operator accepts: ceremony keys from ``keys_dir`` pinned by ``pins``
    (circuit name -> SHA-256 hex of the .zkey file), and development keys only if allowed."""

    keys_dir: Path | None = None
    pins: Mapping[str, str] = field(default_factory=dict)
    allow_development: bool = False

    def key_path(self, name: str) -> Path:
        assert self.keys_dir is not None
        return self.keys_dir / f"{name}.zkey"


def parse_pins(text: str) -> dict[str, str]:
    """``NAME=SHA256,NAME=SHA256`` (the format of $ZKPROVER_KEY_SHA256) -> dict."""
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, digest = part.partition("=")
        digest = digest.strip().lower()
        if not sep or not name.strip() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"key pin {part!r}: want NAME=<64 hex digits>")
        out[name.strip()] = digest
    return out


def check_ceremony_keys(policy: KeyPolicy, names: list[str]) -> dict[str, ProvingKey]:
    """Every named key is in the keys directory, pinned, as pinned, readable and a ceremony key,
    and every pin names one of them; KeyRefused naming the first problem. Returns the keys read."""
    unknown = sorted(set(policy.pins) - set(names))
    if unknown:
        raise KeyRefused(f"pinned keys {', '.join(unknown)} are not among the configured batch shapes")
    return {name: _pinned_key(policy, name) for name in names}


def _pinned_key(policy: KeyPolicy, name: str) -> ProvingKey:
    if policy.keys_dir is None:
        raise KeyRefused("no keys directory configured")
    path = policy.key_path(name)
    want = policy.pins.get(name)
    if want is None:
        raise KeyRefused(f"{name}: ceremony key {path} is not pinned (give its sha256 as {name}=<sha256>)")
    if not path.is_file():
        raise KeyRefused(f"{name}: ceremony key {path} is missing")
    got = _sha256_file(path)
    if got != want:
        raise KeyRefused(f"{name}: {path} has sha256 {got}, the configuration pins {want}")
    try:
        pk = read_zkey(path)
    except ValueError as exc:  # FormatError names the file and the problem
        raise KeyRefused(f"{name}: {exc}") from None
    refuse_unless_allowed(pk, name, policy)
    return pk


def refuse_unless_allowed(pk: ProvingKey, name: str, policy: KeyPolicy) -> None:
    if pk.provenance in PRODUCTION:
        return
    if not policy.allow_development:
        raise KeyRefused(
            f"{name}: the key's provenance is {pk.provenance!r} (whoever made it can forge proofs); "
            "use a ceremony key (--keys-dir and pinned hashes) or allow development keys explicitly"
        )
    log.warning("%s: using a %s key (development keys allowed): NOT for production", name, pk.provenance)


def _records(coeffs: np.ndarray) -> np.ndarray:
    """Coefficient records in a canonical order: snarkjs keeps each combination's terms in .r1cs
    order (sorted by wire), the builder in its own; the set is what identifies the circuit."""
    order = np.lexsort((coeffs["signal"], coeffs["matrix"], coeffs["constraint"]))
    return coeffs[order]


def ceremony_key(circuit: CompiledCircuit, name: str, policy: KeyPolicy) -> ProvingKey:
    """The pinned ceremony key of ``circuit``; KeyRefused unless it fits the circuit exactly."""
    from prover.groth16.setup import _coefficients, _flat_terms

    pk = _pinned_key(policy, name)
    r1cs = circuit.r1cs
    if (pk.n_vars, pk.n_public) != (r1cs.n_wires, r1cs.n_public):
        raise KeyRefused(
            f"{name}: the key has {pk.n_vars} signals and {pk.n_public} public, the circuit "
            f"{r1cs.n_wires} and {r1cs.n_public}: a key for another circuit"
        )
    expected = _coefficients(_flat_terms(r1cs.constraints), r1cs.n_constraints, r1cs.n_public)
    if len(expected) != len(pk.arrays.coeffs) or _records(expected).tobytes() != _records(pk.arrays.coeffs).tobytes():
        raise KeyRefused(f"{name}: the key's constraint coefficients are not this circuit's (other circuit code?)")
    log.info("%s: ceremony key %s, contributions %s", name, policy.key_path(name), pk.contribution_hashes)
    return pk

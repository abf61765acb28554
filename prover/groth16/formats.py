"""snarkjs JSON: proof.json, public.json and verification_key.json.

Numbers are decimal strings; points are projective with z = 1 ([x, y, "1"]; G2 as
[[x.c0, x.c1], [y.c0, y.c1], ["1", "0"]]); the point at infinity is [0, 1, 0]. Readers raise
:class:`JsonFormatError` naming the file and field on anything malformed.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from prover.binfile import atomic_output
from prover.field.bn254 import FQ_MODULUS, FR_MODULUS
from prover.field.curve import G1, G2, g1_to_pyecc, g2_to_pyecc
from prover.groth16.keys import Proof, VerifyingKey

if TYPE_CHECKING:
    from py_ecc import optimized_bn128 as _o


class JsonFormatError(ValueError):
    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")


# --- encode -------------------------------------------------------------------------------
def _g1_json(p) -> list[str]:
    if p is None:
        return ["0", "1", "0"]
    return [str(p[0]), str(p[1]), "1"]


def _g2_json(p) -> list[list[str]]:
    if p is None:
        return [["0", "0"], ["1", "0"], ["0", "0"]]
    (x0, x1), (y0, y1) = p
    return [[str(x0), str(x1)], [str(y0), str(y1)], ["1", "0"]]


def proof_to_json(proof: Proof) -> dict:
    return {
        "pi_a": _g1_json(proof.a),
        "pi_b": _g2_json(proof.b),
        "pi_c": _g1_json(proof.c),
        "protocol": "groth16",
        "curve": "bn128",
    }


def public_to_json(signals: list[int]) -> list[str]:
    return [str(x) for x in signals]


def _fq12_tower(x: _o.FQ12) -> list:
    """py_ecc's Fq12 (polynomial in w, w^12 = 18 w^6 - 82) -> ffjavascript's tower
    Fq12 = Fq6[w]/(w^2 - v), Fq6 = Fq2[v]/(v^3 - (9 + u)), as nested decimal strings.

    With u = w^6 - 9 the two agree on w; a coefficient pair (c_e, c_{e+6}) of w^e and
    w^(e+6) is the Fq2 element (c_e + 9 c_{e+6}) + c_{e+6} u sitting at w^e = w^j v^k, e = j + 2k.
    """
    c = [int(v) for v in x.coeffs]
    out = []
    for j in range(2):
        fq6 = []
        for k in range(3):
            e = j + 2 * k
            fq6.append([str((c[e] + 9 * c[e + 6]) % FQ_MODULUS), str(c[e + 6] % FQ_MODULUS)])
        out.append(fq6)
    return out


# ffjavascript's final exponentiation computes the hard part with the multiple
# 2x(6x^2 + 3x + 1) of (q^4 - q^2 + 1)/r (BN parameter x), so its pairing is py_ecc's raised to
# that power. vk_alphabeta_12 must match snarkjs's byte for byte, so we apply it here.
_BN_X = 4965661367192848881
_FFJS_PAIRING_POWER = 2 * _BN_X * (6 * _BN_X * _BN_X + 3 * _BN_X + 1) % FR_MODULUS


def vk_to_json(vk: VerifyingKey) -> dict:
    # imported here, not at module level: writing a proof's JSON (the prove path) needs no pairing
    from py_ecc import optimized_bn128 as _o

    alphabeta = _o.pairing(g2_to_pyecc(vk.beta2), g1_to_pyecc(vk.alpha1)) ** _FFJS_PAIRING_POWER
    return {
        "protocol": "groth16",
        "curve": "bn128",
        "nPublic": vk.n_public,
        "vk_alpha_1": _g1_json(vk.alpha1),
        "vk_beta_2": _g2_json(vk.beta2),
        "vk_gamma_2": _g2_json(vk.gamma2),
        "vk_delta_2": _g2_json(vk.delta2),
        "vk_alphabeta_12": _fq12_tower(alphabeta),
        "IC": [_g1_json(p) for p in vk.ic],
    }


def write_json(obj: Any, path: str | os.PathLike) -> None:
    with atomic_output(path, "w") as fh:
        json.dump(obj, fh, indent=1)
        fh.write("\n")


# --- decode -------------------------------------------------------------------------------
def load_json(path: str | os.PathLike) -> Any:
    try:
        with open(path) as fh:
            return json.load(fh)
    except OSError as exc:
        raise JsonFormatError(str(path), f"cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise JsonFormatError(str(path), f"not valid JSON ({exc})") from None


def _num(v: Any, src: str, what: str, modulus: int = FQ_MODULUS) -> int:
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        raise JsonFormatError(src, f"{what}: expected a decimal string, got {v!r}")
    try:
        n = int(v)
    except ValueError:
        raise JsonFormatError(src, f"{what}: {v!r} is not a decimal integer") from None
    if not 0 <= n < modulus:
        raise JsonFormatError(src, f"{what}: {n} is out of range")
    return n


def _g1_from(v: Any, src: str, what: str):
    if not isinstance(v, list) or len(v) != 3:
        raise JsonFormatError(src, f"{what}: expected [x, y, z]")
    x, y, z = (_num(c, src, what) for c in v)
    if z == 0:
        return None
    if z != 1:
        zi = pow(z, -1, FQ_MODULUS)
        x, y = x * zi * zi % FQ_MODULUS, y * zi * zi * zi % FQ_MODULUS
    p = (x, y)
    if not G1.is_on_curve(p):
        raise JsonFormatError(src, f"{what}: not a point on G1")
    return p


def _g2_from(v: Any, src: str, what: str):
    if not isinstance(v, list) or len(v) != 3 or any(not isinstance(c, list) or len(c) != 2 for c in v):
        raise JsonFormatError(src, f"{what}: expected [[x0, x1], [y0, y1], [z0, z1]]")
    (x0, x1), (y0, y1), (z0, z1) = ([_num(e, src, what) for e in c] for c in v)
    if (z0, z1) == (0, 0):
        return None
    if (z0, z1) != (1, 0):
        raise JsonFormatError(src, f"{what}: only affine G2 points (z = [1, 0]) are supported")
    p = ((x0, x1), (y0, y1))
    if not G2.is_on_curve(p):
        raise JsonFormatError(src, f"{what}: not a point on G2")
    return p


def _obj(data: Any, src: str, keys: tuple[str, ...]) -> dict:
    if not isinstance(data, dict):
        raise JsonFormatError(src, "expected a JSON object")
    missing = [k for k in keys if k not in data]
    if missing:
        raise JsonFormatError(src, f"missing field(s) {', '.join(missing)}")
    if data.get("protocol", "groth16") != "groth16":
        raise JsonFormatError(src, f"protocol {data['protocol']!r} is not groth16")
    if data.get("curve", "bn128") not in ("bn128", "bn254"):
        raise JsonFormatError(src, f"curve {data['curve']!r} is not bn128")
    return data


def proof_from_json(data: Any, src: str = "proof") -> Proof:
    d = _obj(data, src, ("pi_a", "pi_b", "pi_c"))
    return Proof(
        a=_g1_from(d["pi_a"], src, "pi_a"), b=_g2_from(d["pi_b"], src, "pi_b"), c=_g1_from(d["pi_c"], src, "pi_c")
    )


def public_from_json(data: Any, src: str = "public signals") -> list[int]:
    if not isinstance(data, list):
        raise JsonFormatError(src, "expected a JSON list of decimal strings")
    # Values >= r are kept as given: the verifier rejects them, as the L1 contract does.
    return [_num(v, src, f"signal {i}", modulus=1 << 256) for i, v in enumerate(data)]


def vk_from_json(data: Any, src: str = "verification key") -> VerifyingKey:
    d = _obj(data, src, ("vk_alpha_1", "vk_beta_2", "vk_gamma_2", "vk_delta_2", "IC"))
    if not isinstance(d["IC"], list) or not d["IC"]:
        raise JsonFormatError(src, "IC: expected a non-empty list of points")
    vk = VerifyingKey(
        alpha1=_g1_from(d["vk_alpha_1"], src, "vk_alpha_1"),
        beta2=_g2_from(d["vk_beta_2"], src, "vk_beta_2"),
        gamma2=_g2_from(d["vk_gamma_2"], src, "vk_gamma_2"),
        delta2=_g2_from(d["vk_delta_2"], src, "vk_delta_2"),
        ic=tuple(_g1_from(p, src, f"IC[{i}]") for i, p in enumerate(d["IC"])),
    )
    if "nPublic" in d and d["nPublic"] != vk.n_public:
        raise JsonFormatError(src, f"nPublic is {d['nPublic']} but IC has {len(d['IC'])} points")
    return vk

"""Random test vectors computed by circomlibjs (the reference) in one batched node process.

Node start-up plus building circomlibjs's wasm Poseidon/EdDSA takes a second or two, so every
interop check of the crypto twins and gadgets asks for its vectors here: one call per test session
(cached), many vectors per call. Inputs are drawn in Python from a seeded RNG and passed as JSON.
"""

from __future__ import annotations

import json
import random
from functools import cache

from tests.interop.peers import run_node

R = 21888242871839275222246405745257275088548364400416034343698204186575808495617

_SCRIPT = r"""
const {buildPoseidon, buildEddsa, buildBabyjub} = require("circomlibjs");
const createBlakeHash = require("blake-hash");
(async () => {
  const req = JSON.parse(process.argv[1]);
  const poseidon = await buildPoseidon();
  const eddsa = await buildEddsa();
  const babyJub = await buildBabyjub();
  const F = poseidon.F;
  const E = eddsa.babyJub.F;
  const obj = (x) => E.toObject(x).toString();
  const out = {poseidon: [], eddsa: [], blake: [], pack: [], verify: []};
  for (const inputs of req.poseidon) {
    out.poseidon.push(F.toObject(poseidon(inputs.map(BigInt))).toString());
  }
  for (const [prvHex, msg] of req.eddsa) {
    const prv = Buffer.from(prvHex, "hex");
    const A = eddsa.prv2pub(prv);
    const sig = eddsa.signPoseidon(prv, E.e(BigInt(msg)));
    out.eddsa.push({
      A: [obj(A[0]), obj(A[1])],
      R8: [obj(sig.R8[0]), obj(sig.R8[1])],
      S: sig.S.toString(),
      Apacked: Buffer.from(eddsa.babyJub.packPoint(A)).toString("hex"),
      sigPacked: Buffer.from(eddsa.packSignature(sig)).toString("hex"),
    });
  }
  for (const hex of req.blake) {
    out.blake.push(createBlakeHash("blake512").update(Buffer.from(hex, "hex")).digest("hex"));
  }
  for (const hex of req.unpack) {
    const P = babyJub.unpackPoint(Buffer.from(hex, "hex"));
    out.pack.push(P === null ? null : [babyJub.F.toObject(P[0]).toString(), babyJub.F.toObject(P[1]).toString()]);
  }
  // Signatures made in Python, checked by circomlibjs.
  for (const v of req.verify) {
    const sig = {R8: [E.e(BigInt(v.R8[0])), E.e(BigInt(v.R8[1]))], S: BigInt(v.S)};
    const A = [E.e(BigInt(v.A[0])), E.e(BigInt(v.A[1]))];
    out.verify.push(eddsa.verifyPoseidon(E.e(BigInt(v.msg)), sig, A));
  }
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
"""


@cache
def circomlibjs_vectors(seed: int = 2024) -> dict:
    """Inputs and circomlibjs's outputs: ``{"poseidon": [(inputs, out)], "eddsa": [...], ...}``.

    eddsa entries are ``(prv_hex, msg, A, R8, S, A_packed_hex, sig_packed_hex)``; ``verify`` holds
    Python-made signatures and whether circomlibjs accepted them.
    """
    from circuits.native.eddsa import prv2pub, sign_poseidon

    rng = random.Random(seed)
    pos_in = [[rng.randrange(R) for _ in range(n)] for n in range(1, 17) for _ in range(3)]
    # Edge values: zeros, ones, p - 1.
    pos_in += [[0, 0], [R - 1, R - 1, R - 1, R - 1], [1] * 16]
    eddsa_in = [(rng.randbytes(32).hex(), rng.randrange(R)) for _ in range(12)]
    eddsa_in.append(("0001020304050607080900010203040506070809000102030405060708090001", 42649378395939397566720))
    blake_in = [rng.randbytes(n).hex() for n in (0, 1, 32, 64, 110, 111, 112, 127, 128, 200, 239, 240, 256)]
    # Random 32-byte strings: roughly half are not points (circomlibjs returns null).
    unpack_in = [rng.randbytes(32).hex() for _ in range(24)]
    verify_in = []
    for i in range(6):
        prv = rng.randbytes(32)
        msg = rng.randrange(R)
        a = prv2pub(prv)
        sig = sign_poseidon(prv, msg)
        # Every other one is tampered with (wrong message): circomlibjs must reject it.
        verify_in.append(
            {
                "A": [str(a[0]), str(a[1])],
                "R8": [str(sig.r8[0]), str(sig.r8[1])],
                "S": str(sig.s),
                "msg": str(msg + (i % 2)),
            }
        )
    req = {
        "poseidon": [[str(x) for x in xs] for xs in pos_in],
        "eddsa": [[h, str(m)] for h, m in eddsa_in],
        "blake": blake_in,
        "unpack": unpack_in,
        "verify": verify_in,
    }
    out = json.loads(run_node(_SCRIPT, json.dumps(req), timeout=300))
    return {
        "poseidon": [(xs, int(y)) for xs, y in zip(pos_in, out["poseidon"], strict=True)],
        "eddsa": [
            (h, m, tuple(map(int, o["A"])), tuple(map(int, o["R8"])), int(o["S"]), o["Apacked"], o["sigPacked"])
            for (h, m), o in zip(eddsa_in, out["eddsa"], strict=True)
        ],
        "blake": [(bytes.fromhex(h), bytes.fromhex(d)) for h, d in zip(blake_in, out["blake"], strict=True)],
        "unpack": [
            (bytes.fromhex(h), None if p is None else (int(p[0]), int(p[1])))
            for h, p in zip(unpack_in, out["pack"], strict=True)
        ],
        "verify": [(v, ok) for v, ok in zip(verify_in, out["verify"], strict=True)],
    }

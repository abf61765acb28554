"""The operator's L1 signing key, from a file or the environment — never from the command line.

A key on argv is visible to every user of the machine (``ps``, ``/proc/*/cmdline``) and lands in
shell histories; a file readable only by the operator, or an environment variable set by a
secret store (Kubernetes Secret, systemd ``LoadCredential``), is not. Sources, in order:

1. an explicit ``path`` (e.g. from ``--l1-key-file``),
2. ``$ZKPROVER_L1_KEY_FILE``: a file holding the key,
3. ``$ZKPROVER_L1_KEY``: the key itself.

The key is 32 bytes as 64 hex digits, with or without ``0x``; surrounding whitespace is ignored.
A key file that other users can read is refused (as ssh refuses a private key left open).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from eth_keys import keys

from l1.evm import Account

KEY_FILE_ENV = "ZKPROVER_L1_KEY_FILE"
KEY_ENV = "ZKPROVER_L1_KEY"

#: the order of the secp256k1 group: a private key must lie in [1, N)
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class OperatorKeyError(ValueError):
    """No usable operator key: missing, malformed, out of range, or in a file others can read."""


def parse_key(text: str, where: str) -> Account:
    """An account from a hex private key; ``where`` names the source in errors (never the key)."""
    digits = text.strip().removeprefix("0x").removeprefix("0X")
    if len(digits) != 64:
        raise OperatorKeyError(
            f"{where}: expected a 32-byte hex private key (64 hex digits), got {len(digits)} characters"
        )
    try:
        value = int(digits, 16)
    except ValueError:
        raise OperatorKeyError(f"{where}: the private key is not hexadecimal") from None
    if not 0 < value < _SECP256K1_N:
        raise OperatorKeyError(f"{where}: the private key is outside the secp256k1 range [1, n)")
    key = keys.PrivateKey(value.to_bytes(32, "big"))
    return Account(key, key.public_key.to_canonical_address())


def read_key_file(path: str | os.PathLike) -> Account:
    p = Path(path)
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        raise OperatorKeyError(f"key file {p} does not exist") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise OperatorKeyError(f"key file {p} is accessible by other users (mode {stat.S_IMODE(mode):o}); chmod 600 it")
    return parse_key(p.read_text(), f"key file {p}")


def load_operator_key(path: str | os.PathLike | None = None, environ: dict[str, str] | None = None) -> Account:
    """The operator's account from ``path``, else ``$ZKPROVER_L1_KEY_FILE``, else ``$ZKPROVER_L1_KEY``."""
    env = os.environ if environ is None else environ
    if path is not None:
        return read_key_file(path)
    if env.get(KEY_FILE_ENV):
        return read_key_file(env[KEY_FILE_ENV])
    if env.get(KEY_ENV):
        return parse_key(env[KEY_ENV], f"${KEY_ENV}")
    raise OperatorKeyError(f"no operator key: pass a key file, or set ${KEY_FILE_ENV} (a file) or ${KEY_ENV} (the key)")

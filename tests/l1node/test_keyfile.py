"""The operator key comes from a file or the environment, and bad keys are refused by name."""

from __future__ import annotations

import pytest

from l1.keyfile import KEY_ENV, KEY_FILE_ENV, OperatorKeyError, load_operator_key, parse_key

# anvil's first dev account: a published test key, never used for anything of value
KEY = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ADDRESS = "f39fd6e51aad88f6f4ce6ab8827279cfffb92266"


def test_key_from_a_file_or_the_environment(tmp_path):
    path = tmp_path / "operator.key"
    path.write_text("0x" + KEY + "\n")
    path.chmod(0o600)
    assert load_operator_key(path, environ={}).address.hex() == ADDRESS
    assert load_operator_key(environ={KEY_FILE_ENV: str(path)}).address.hex() == ADDRESS
    assert load_operator_key(environ={KEY_ENV: KEY}).address.hex() == ADDRESS
    # An explicit file wins over the environment; the file variable over the key variable.
    other = "11" * 32
    assert load_operator_key(path, environ={KEY_ENV: other}).address.hex() == ADDRESS
    assert load_operator_key(environ={KEY_FILE_ENV: str(path), KEY_ENV: other}).address.hex() == ADDRESS


def test_missing_key_names_the_sources():
    with pytest.raises(OperatorKeyError, match=f"no operator key: .*{KEY_FILE_ENV}.*{KEY_ENV}"):
        load_operator_key(environ={})


def test_key_file_readable_by_others_is_refused(tmp_path):
    path = tmp_path / "operator.key"
    path.write_text(KEY)
    path.chmod(0o644)
    with pytest.raises(OperatorKeyError, match=r"accessible by other users .*chmod 600"):
        load_operator_key(path, environ={})
    with pytest.raises(OperatorKeyError, match="does not exist"):
        load_operator_key(tmp_path / "absent.key", environ={})


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (KEY[:-2], "64 hex digits"),
        ("zz" + KEY[2:], "not hexadecimal"),
        ("00" * 32, "outside the secp256k1 range"),
        ("ff" * 32, "outside the secp256k1 range"),
    ],
)
def test_malformed_keys_are_refused_without_echoing_them(text, error):
    with pytest.raises(OperatorKeyError, match=error) as err:
        parse_key(text, "$ZKPROVER_L1_KEY")
    assert text not in str(err.value) and "$ZKPROVER_L1_KEY" in str(err.value)

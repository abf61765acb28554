"""Foundry's anvil as a test peer: a real Ethereum dev node on 127.0.0.1, started and stopped by
the tests, with the mining controls they need (mine, snapshot/revert for reorgs, automine off,
dropping a pooled transaction, balances, base fee).

anvil comes from npm (``@foundry-rs/anvil``, which ships the binary) pinned in this folder's
package.json, installed on first use; tests skip with the reason where npm is absent.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import requests

from l1.evm import Account
from l1.node import NodeChain
from tests.npm_peers import install_pinned

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules"
FUNDS = 10**22  # 10,000 ether per test account


def ensure_anvil() -> Path:
    """The anvil binary (installing the pinned npm package if needed); skips where npm is absent.

    The package's ``.bin/anvil`` is a Node wrapper that spawns the platform binary from an
    optional dependency (``@foundry-rs/anvil-linux-amd64`` and so on); the tests run that binary
    itself, so that a SIGKILL reaches the node and not only its wrapper.
    """
    wrapper = install_pinned(HERE, "anvil (npm @foundry-rs/anvil)") / "anvil"
    native = sorted(NODE_MODULES.glob("@foundry-rs/anvil-*/bin/anvil"))
    return native[0] if native else wrapper


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Anvil:
    """One anvil process; ``restart`` keeps its port (and, with ``state``, its chain)."""

    def __init__(self, binary: Path, *, state: Path | None = None, chain_id: int = 31337) -> None:
        self.binary = binary
        self.state = state
        self.chain_id = chain_id
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 30.0) -> None:
        args = [str(self.binary), "--host", "127.0.0.1", "--port", str(self.port), "--chain-id", str(self.chain_id)]
        if self.state is not None:
            args += ["--state", str(self.state)]  # loaded at start, dumped at exit
        # A session of its own: stop/kill signal the whole group, wrapper or not, and nothing outlives a test.
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.rpc("eth_chainId")
                return
            except requests.ConnectionError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"anvil exited at start: {self.proc.stderr.read().decode()[-2000:]}") from None
                if time.monotonic() > deadline:
                    raise TimeoutError(f"anvil did not answer on {self.url} within {timeout_s} s") from None
                time.sleep(0.05)

    def _signal(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)
        self.proc = None

    def stop(self) -> None:
        """SIGTERM: anvil dumps its state (with ``state``) and exits."""
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL: gone at once, nothing written."""
        self._signal(signal.SIGKILL)

    def restart(self) -> None:
        self.stop()
        self.start()

    # --- JSON-RPC and anvil's test methods ---------------------------------------------------
    def rpc(self, method: str, *params: Any) -> Any:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        reply = requests.post(self.url, json=body, timeout=30).json()
        if "error" in reply:
            raise RuntimeError(f"anvil {method}: {reply['error']}")
        return reply["result"]

    def mine(self, blocks: int = 1) -> None:
        self.rpc("anvil_mine", hex(blocks))

    def snapshot(self) -> str:
        return self.rpc("evm_snapshot")

    def revert(self, snapshot: str) -> None:
        if not self.rpc("evm_revert", snapshot):
            raise RuntimeError(f"evm_revert to {snapshot} refused")

    def automine(self, on: bool) -> None:
        self.rpc("evm_setAutomine", on)

    def interval_mining(self, seconds: int) -> None:
        self.rpc("evm_setIntervalMining", seconds)

    def set_balance(self, address: bytes, wei: int) -> None:
        self.rpc("anvil_setBalance", "0x" + address.hex(), hex(wei))

    def drop(self, tx_hash: bytes) -> None:
        self.rpc("anvil_dropTransaction", "0x" + tx_hash.hex())

    def set_next_base_fee(self, wei: int) -> None:
        self.rpc("anvil_setNextBlockBaseFeePerGas", hex(wei))

    def pool(self) -> dict:
        return self.rpc("txpool_content")


def funded(anvil: Anvil, node: NodeChain, seed: str, wei: int = FUNDS) -> Account:
    """A deterministic account from ``seed`` with ``wei`` on anvil (anvil_setBalance)."""
    account = node.new_account(seed)
    anvil.set_balance(account.address, wei)
    return account

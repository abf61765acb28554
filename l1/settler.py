"""Sends the operator's L1 transactions in order, pays a capped fee, and sees each one mined once.

One :class:`Settler` owns one operator account on one node. It

- numbers transactions itself (from the node's pending nonce, then counting locally), so several
  batches can be in flight and still land in the order they were sent;
- prices them as EIP-1559 transactions: ``max fee = base fee x multiplier + tip``, never above
  the configured cap (:class:`FeePolicy`); a base fee already above the cap is refused with
  :class:`FeeCapExceeded` instead of sending a transaction that cannot be included;
- waits for the receipt and then for ``confirmations`` blocks on top of it, re-checking that the
  receipt is still there (a reorg that drops it puts the transaction back into the wait);
- resubmits the same nonce with both fee fields raised by ``bump_percent`` (at least the 10 %
  nodes require of a replacement) when the node dropped the transaction or it sat unmined for
  ``resend_after_s``;
- refuses up front, with :class:`~l1.node.InsufficientFunds`, a transaction the account cannot
  pay for (gas limit x max fee + value), and maps a node's own refusal to the same error;
- settles a batch at most once across restarts (:meth:`Settler.settle`): it first waits for
  transactions of this account still in flight, then asks the contract how far L1 has settled,
  and sends nothing for a batch that is already there.

Gas and wei spent per transaction go to the Prometheus objects in :mod:`prover.metrics`.

:class:`InProcessSettler` offers the same :class:`BatchSettler` surface (``transact``,
``settle``) on :class:`l1.evm.EvmChain`, where every transaction is mined at once, so the
operator settles through one interface whichever chain it was given.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from l1.evm import GAS_PRICE, Account, CallReverted, Contract, Receipt
from l1.node import InsufficientFunds, NodeChain, NodeUnavailable, RpcError, revert_data
from prover import metrics

log = logging.getLogger("zkprover.l1.settler")

#: geth, anvil and most pools refuse a replacement that does not raise both fee fields by 10 %
MIN_BUMP_PERCENT = 10
#: seconds a used nonce may go without a receipt for any of our versions before it counts as taken
NONCE_RECEIPT_GRACE_S = 5.0


class SettlerError(RuntimeError):
    """A transaction could not be settled."""


class FeeCapExceeded(SettlerError):
    """The network's base fee is above the fee cap: no transaction under the cap can be included."""

    def __init__(self, base_fee: int, cap: int) -> None:
        super().__init__(
            f"L1 base fee {base_fee} wei/gas is above the configured fee cap {cap} wei/gas: "
            "not sending (raise the cap or wait for fees to fall)"
        )
        self.base_fee = base_fee
        self.cap = cap


class SettlementTimeout(SettlerError):
    """A transaction was not mined and confirmed in time."""


@dataclass(frozen=True)
class FeePolicy:
    """How the settler prices transactions (all values in wei per gas)."""

    #: the most this operator pays per gas, base fee and tip together
    max_fee_per_gas: int
    #: the most offered as a tip; None leaves the node's suggestion (eth_maxPriorityFeePerGas) uncapped
    max_priority_fee_per_gas: int | None = None
    #: headroom over the newest base fee, which may rise 12.5 % a block while the tx waits
    base_fee_multiplier: int = 2
    #: how much a replacement raises both fee fields, in percent
    bump_percent: int = 12

    def __post_init__(self) -> None:
        if self.max_fee_per_gas <= 0:
            raise ValueError(f"max_fee_per_gas must be positive, got {self.max_fee_per_gas}")
        if self.max_priority_fee_per_gas is not None and not 0 <= self.max_priority_fee_per_gas <= self.max_fee_per_gas:
            raise ValueError("max_priority_fee_per_gas must lie in [0, max_fee_per_gas]")
        if self.base_fee_multiplier < 1:
            raise ValueError(f"base_fee_multiplier must be >= 1, got {self.base_fee_multiplier}")
        if self.bump_percent < MIN_BUMP_PERCENT:
            raise ValueError(f"bump_percent must be >= {MIN_BUMP_PERCENT} (nodes refuse smaller replacements)")


@dataclass
class SentTx:
    """One logical transaction: a fixed nonce, and every signed version broadcast for it."""

    nonce: int
    to: bytes
    data: bytes
    value: int
    gas: int
    max_fee: int
    priority_fee: int
    label: str = ""
    #: hashes of every version sent, oldest first; the one that mines may be any of them
    hashes: list[bytes] = field(default_factory=list)
    sent_at: float = 0.0
    #: when the node first reported this nonce used while no version of ours had a receipt
    nonce_used_since: float = 0.0

    @property
    def resends(self) -> int:
        return max(0, len(self.hashes) - 1)


def _record_mined(gas: int, fee_wei: int, ok: bool) -> None:
    metrics.L1_TRANSACTIONS.labels("mined" if ok else "reverted").inc()
    metrics.L1_TX_GAS.observe(gas)
    metrics.L1_TX_FEE.observe(fee_wei)
    metrics.L1_FEE_TOTAL.inc(fee_wei)


def _skip_if_settled(batch: int, settled: Callable[[], int]) -> bool:
    """True (and counted) when L1 already has ``batch``; publishes the settled batch number."""
    current = settled()
    metrics.L1_SETTLED_BATCH.set(current)
    if current < batch:
        return False
    metrics.L1_TRANSACTIONS.labels("skipped").inc()
    log.info("batch %d is already settled on L1 (L1 is at batch %d): not sending", batch, current)
    return True


def _settle_unless_settled(
    settler: BatchSettler,
    contract: Contract,
    fn: str,
    args: tuple,
    batch: int,
    settled: Callable[[], int],
    gas: int | None,
) -> Receipt | None:
    if _skip_if_settled(batch, settled):
        return None
    receipt = settler.transact(contract, fn, *args, gas=gas, label=f"batch {batch}")
    if receipt.ok:
        metrics.L1_SETTLED_BATCH.set(batch)
    return receipt


@runtime_checkable
class BatchSettler(Protocol):
    """What the operator settles batches through, on a node or in process."""

    def transact(
        self, contract: Contract, fn: str, *args: Any, value: int = 0, gas: int | None = None, label: str = ""
    ) -> Receipt: ...

    def settle(
        self, contract: Contract, fn: str, *args: Any, batch: int, settled: Callable[[], int], gas: int | None = None
    ) -> Receipt | None: ...


def _bumped(old: int, percent: int) -> int:
    return -(-old * (100 + percent) // 100)  # ceiling: a rounded-down bump can fall under 10 %


class Settler:
    """Sends ``sender``'s transactions through ``node`` (see the module docstring)."""

    def __init__(
        self,
        node: NodeChain,
        sender: Account,
        fees: FeePolicy,
        *,
        confirmations: int = 1,
        resend_after_s: float = 60.0,
        timeout_s: float = 900.0,
        poll_s: float = 0.1,
        gas_margin_percent: int = 20,
    ) -> None:
        if confirmations < 0:
            raise ValueError(f"confirmations must be >= 0, got {confirmations}")
        self.node = node
        self.sender = sender
        self.fees = fees
        self.confirmations = confirmations
        self.resend_after_s = resend_after_s
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self.gas_margin_percent = gas_margin_percent
        self._next_nonce: int | None = None
        self._lock = threading.Lock()

    # --- pricing ---------------------------------------------------------------------------
    def quote(self) -> tuple[int, int]:
        """(max fee, tip) for a transaction sent now; FeeCapExceeded if the base fee is over the cap."""
        head = self.node.header("latest")
        base = (head.base_fee if head else None) or 0
        cap = self.fees.max_fee_per_gas
        if base > cap:
            raise FeeCapExceeded(base, cap)
        tip = self.node.max_priority_fee()
        if self.fees.max_priority_fee_per_gas is not None:
            tip = min(tip, self.fees.max_priority_fee_per_gas)
        tip = min(tip, cap - base)  # a tip the cap cannot cover on top of the base fee is never paid
        return min(base * self.fees.base_fee_multiplier + tip, cap), tip

    def _check_funds(self, gas: int, max_fee: int, value: int) -> None:
        needed = gas * max_fee + value
        balance = self.node.balance(self.sender.address)
        if balance < needed:
            raise InsufficientFunds(
                self.sender.address, balance, needed, f"gas {gas} x max fee {max_fee} + value {value}"
            )

    # --- sending ---------------------------------------------------------------------------
    def estimate_gas(self, to: bytes, data: bytes, value: int = 0) -> int:
        """The node's gas estimate plus the margin; CallReverted (raw data) if it would revert."""
        tx: dict[str, Any] = {
            "from": "0x" + self.sender.address.hex(),
            "to": "0x" + to.hex(),
            "data": "0x" + data.hex(),
        }
        if value:
            tx["value"] = hex(value)
        try:
            estimate = int(self.node.rpc("eth_estimateGas", tx, "pending"), 16)
        except RpcError as exc:
            reverted = revert_data(exc)
            if reverted is None:
                raise
            raise CallReverted(f"would revert: 0x{reverted.hex()}", reverted) from exc
        return estimate * (100 + self.gas_margin_percent) // 100

    def send(self, to: bytes, data: bytes, *, value: int = 0, gas: int | None = None, label: str = "") -> SentTx:
        """Price, sign and broadcast one transaction with the next nonce; do not wait for it."""
        if gas is None:
            gas = self.estimate_gas(to, data, value)
        max_fee, tip = self.quote()
        self._check_funds(gas, max_fee, value)
        with self._lock:
            pending = self.node.nonce(self.sender.address, "pending")
            # The node's count wins when it is ahead (a restart, or another sender on this key);
            # ours wins when the node has not yet seen our last broadcasts in its pending view.
            nonce = pending if self._next_nonce is None else max(self._next_nonce, pending)
            tx = SentTx(nonce, to, data, value, gas, max_fee, tip, label)
            self._broadcast(tx)
            self._next_nonce = nonce + 1
        metrics.L1_TRANSACTIONS.labels("sent").inc()
        log.info(
            "L1 tx %s sent: nonce %d, max fee %d, tip %d, hash 0x%s", label, nonce, max_fee, tip, tx.hashes[-1].hex()
        )
        return tx

    def _broadcast(self, tx: SentTx) -> None:
        raw, tx_hash = self.node.sign(
            self.sender,
            nonce=tx.nonce,
            to=tx.to,
            data=tx.data,
            value=tx.value,
            gas=tx.gas,
            max_fee=tx.max_fee,
            priority_fee=tx.priority_fee,
        )
        try:
            self.node.send_raw(raw, self.sender)
        except RpcError as exc:
            if "already known" not in exc.message.lower():
                raise
        if tx_hash not in tx.hashes:
            tx.hashes.append(tx_hash)
        tx.sent_at = time.monotonic()

    def _resend(self, tx: SentTx, why: str) -> bool:
        """Replace ``tx`` (same nonce) with both fees bumped; False if the cap leaves no room."""
        fresh_max, fresh_tip = self.quote()
        cap = self.fees.max_fee_per_gas
        max_fee = max(_bumped(tx.max_fee, self.fees.bump_percent), fresh_max)
        tip = max(_bumped(tx.priority_fee, self.fees.bump_percent), fresh_tip)
        if max_fee > cap:
            if why != "dropped":
                log.warning("L1 tx %s (nonce %d) is %s but already at the fee cap %d", tx.label, tx.nonce, why, cap)
                tx.sent_at = time.monotonic()  # wait another period before asking again
                return False
            # A dropped tx is gone from the pool: resending it at the cap needs no outbidding.
            max_fee, tip = cap, min(tip, cap)
        self._check_funds(tx.gas, max_fee, tx.value)
        tx.max_fee, tx.priority_fee = max_fee, min(tip, max_fee)
        try:
            self._broadcast(tx)
        except RpcError as exc:
            if "nonce too low" in exc.message.lower():
                return False  # a version already mined: the wait loop finds its receipt
            raise
        metrics.L1_TRANSACTIONS.labels("resent").inc()
        log.warning(
            "L1 tx %s (nonce %d) %s: resent with max fee %d, tip %d as 0x%s",
            tx.label,
            tx.nonce,
            why,
            tx.max_fee,
            tx.priority_fee,
            tx.hashes[-1].hex(),
        )
        return True

    # --- waiting ---------------------------------------------------------------------------
    def _mined(self, tx: SentTx) -> dict | None:
        for tx_hash in reversed(tx.hashes):
            receipt = self.node.receipt(tx_hash)
            if receipt is not None and receipt.get("blockNumber") is not None:
                return receipt
        return None

    def wait(self, tx: SentTx) -> dict:
        """Block until a version of ``tx`` is mined with ``confirmations`` blocks on top; its receipt.

        Resends a dropped or stuck transaction (see the module docstring); SettlementTimeout after
        ``timeout_s``; SettlerError if the nonce was taken by a transaction that is not ours.
        """
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                receipt = self._step(tx)
            except NodeUnavailable as exc:
                # The node restarts or the network blips: the transaction is signed and its
                # hashes known, so carry on from the same state once the node answers again.
                log.warning("L1 node unavailable while waiting for tx %s (%s); retrying", tx.label, exc)
                receipt = None
            if receipt is not None:
                self._record(receipt)
                return receipt
            if time.monotonic() > deadline:
                raise SettlementTimeout(
                    f"L1 tx {tx.label} (nonce {tx.nonce}) not mined and confirmed within {self.timeout_s} s "
                    f"({len(tx.hashes)} versions sent, last max fee {tx.max_fee}, cap {self.fees.max_fee_per_gas})"
                )
            time.sleep(self.poll_s)

    def _step(self, tx: SentTx) -> dict | None:
        """One look at ``tx``: its receipt once confirmed, else None after resending if needed."""
        receipt = self._mined(tx)
        if receipt is not None:
            block = int(receipt["blockNumber"], 16)
            if self.node.block_number - block < self.confirmations:
                return None
            again = self.node.receipt(bytes.fromhex(receipt["transactionHash"][2:]))
            # Reorged out between the two reads: the next look sees where it went.
            return receipt if again is not None and again.get("blockHash") == receipt["blockHash"] else None
        if self.node.nonce(self.sender.address, "latest") > tx.nonce:
            # A node may count the nonce before it serves the receipt (anvil under load does):
            # only a nonce used for a while with none of our versions mined is someone else's.
            tx.nonce_used_since = tx.nonce_used_since or time.monotonic()
            if self._mined(tx) is None and time.monotonic() - tx.nonce_used_since > NONCE_RECEIPT_GRACE_S:
                raise SettlerError(
                    f"nonce {tx.nonce} of 0x{self.sender.address.hex()} was used by a transaction "
                    f"the settler did not send (is another process using the operator key?)"
                )
            return None
        if all(self.node.transaction(h) is None for h in tx.hashes):
            self._resend(tx, "dropped")
        elif time.monotonic() - tx.sent_at > self.resend_after_s:
            self._resend(tx, "not mined")
        return None

    def _record(self, receipt: dict) -> None:
        gas = int(receipt["gasUsed"], 16)
        _record_mined(gas, gas * int(receipt.get("effectiveGasPrice", "0x0"), 16), int(receipt["status"], 16) == 1)

    def wait_in_flight(self) -> None:
        """Wait until every transaction this account has in the node's pool is mined (e.g. ones
        sent before a restart, whose contents this process no longer knows)."""
        deadline = time.monotonic() + self.timeout_s
        while self.node.nonce(self.sender.address, "pending") > self.node.nonce(self.sender.address, "latest"):
            if time.monotonic() > deadline:
                raise SettlementTimeout(
                    f"transactions of 0x{self.sender.address.hex()} still in flight after {self.timeout_s} s"
                )
            time.sleep(self.poll_s)

    # --- contract-level helpers ------------------------------------------------------------
    def transact(
        self, contract: Contract, fn: str, *args: Any, value: int = 0, gas: int | None = None, label: str = ""
    ) -> Receipt:
        """Send ``contract.fn(*args)`` and wait for it; a revert gives ``ok=False`` with the decoded error.

        With ``gas=None`` the node estimates the gas first: a call that would revert raises
        CallReverted (decoded) and sends nothing, so a refused settlement costs no gas. With an
        explicit ``gas`` nothing is simulated, so a transaction can follow one still pending
        (batch n+1 sent before batch n has mined).
        """
        data = contract.encode(fn, *args)
        try:
            tx = self.send(contract.address, data, value=value, gas=gas, label=label or fn)
        except CallReverted as exc:
            raise CallReverted(contract.decode_error(exc.output), exc.output) from exc
        raw = self.wait(tx)
        receipt = self.node.to_receipt(raw, sender=self.sender.address, to=tx.to, data=data, value=value, gas=tx.gas)
        receipt.events = contract.decode_logs(receipt.logs_raw) if receipt.ok else []
        if not receipt.ok:
            receipt.error = contract.decode_error(receipt.output)
        return receipt

    def settle(
        self,
        contract: Contract,
        fn: str,
        *args: Any,
        batch: int,
        settled: Callable[[], int],
        gas: int | None = None,
    ) -> Receipt | None:
        """Send ``contract.fn(*args)`` settling batch ``batch``, unless L1 already has it.

        ``settled()`` reads the contract's settled batch number (e.g. ``lambda:
        rollup.call("batchNumber")``); it is asked after this account's in-flight transactions
        have mined, so a batch sent before a crash is found, not sent twice. Returns the receipt,
        or None when the batch was already settled.
        """
        self.wait_in_flight()
        return _settle_unless_settled(self, contract, fn, args, batch, settled, gas)


class InProcessSettler:
    """:class:`BatchSettler` on a chain whose ``send`` mines at once (:class:`l1.evm.EvmChain`):
    no nonces, fees or confirmations to manage, the same settle-once rule and metrics."""

    def __init__(self, sender: Account | None = None) -> None:
        self.sender = sender

    def transact(
        self, contract: Contract, fn: str, *args: Any, value: int = 0, gas: int | None = None, label: str = ""
    ) -> Receipt:
        ok, output, _ = contract.chain.call(
            contract.address, contract.encode(fn, *args), sender=self.sender, value=value
        )
        if not ok:  # as the node settler: a transaction that would revert is not sent
            raise CallReverted(contract.decode_error(output), output)
        kwargs = {} if gas is None else {"gas": gas}
        receipt = contract.transact(fn, *args, sender=self.sender, value=value, **kwargs)
        receipt.fee_wei = receipt.gas_used * GAS_PRICE
        _record_mined(receipt.gas_used, receipt.gas_used * GAS_PRICE, receipt.ok)
        return receipt

    def settle(
        self, contract: Contract, fn: str, *args: Any, batch: int, settled: Callable[[], int], gas: int | None = None
    ) -> Receipt | None:
        return _settle_unless_settled(self, contract, fn, args, batch, settled, gas)

"""Apply a batch of transactions atomically and record the batch circuit's inputs (the operator).

``apply_batch`` checks every transaction against the state as the earlier ones left it. If any
is bad, every change is undone and :class:`BatchRejected` lists one reason per bad transaction
(the state is untouched). Otherwise the state keeps the changes and the :class:`BatchResult`
holds the new root, the public data (``public_data``), its public input, the L1 entries in order
(what the L1 matches against its priority queue, pays and digests), and the named inputs of
``circuits.rollup.batch_circuit`` for this batch. The deployment is named by a
:class:`~prover.rollup.public_data.Domain` (chain id and Rollup address).

Rules (the circuit enforces the same ones):

* indices inside the tree; senders and receivers exist (``unknown account``);
* amount < 2^40, fee < 2^16, L1 addresses (withdrawal, depositor, requester) < 2^160
  (``amount or fee out of range``);
* the signature verifies over the message with this domain (``bad signature``);
* the transaction's nonce is the sender's nonce (``wrong nonce``);
* the sender holds amount + fee (``insufficient balance``);
* no balance reaches 2^64 and no nonce 2^32 (``overflow``);
* a deposit with a key creates its account: the index must be free (``account exists``) and in
  the tree (``tree full`` when the operator picked it); a deposit without a key tops up an
  existing account (``unknown account``);
* a forced exit pays min(balance, 2^40 - 1) if the requester owns the account, else 0 (a claimed
  amount that differs: ``wrong forced-exit amount``); a request for another's account is not an
  error, it is consumed and pays nothing, as on L1;
* fees go to the batch's fee account, which must exist when fees are due.

With the native extension built (``circuits.native.fast.enabled()``), the hashing runs in C and
the batch's signatures are checked up front, all at once across cores (``_presigned``); each
transaction then looks its verdict up where the rules check it, so the order of the checks and
the reasons are those of the Python path, which stays the reference (``ZKPROVER_NO_NATIVE=1``).

``check=False`` skips the rules and applies the arithmetic mod r: only tests use it, to build the
inputs of a batch that breaks a rule and show that the circuit refuses them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from circuits.native import fast
from circuits.native.babyjub import B8, Point
from circuits.native.eddsa import Signature, verify_poseidon
from circuits.native.poseidon_constants import P
from circuits.rollup.params import AMOUNT_BITS, FEE_BITS, FORCED_EXIT_CAP, L1_ADDRESS_BITS, BatchShape, TxType
from prover.rollup import public_data as pd
from prover.rollup.accounts import MAX_BALANCE, MAX_NONCE, Account
from prover.rollup.state import State
from prover.rollup.transactions import Deposit, ForcedExit, NoOp, Transaction, Transfer, Withdrawal


class Reason(StrEnum):
    BAD_SIGNATURE = "bad signature"
    WRONG_NONCE = "wrong nonce"
    INSUFFICIENT_BALANCE = "insufficient balance"
    UNKNOWN_ACCOUNT = "unknown account"
    OUT_OF_RANGE = "amount or fee out of range"
    OVERFLOW = "overflow"
    ACCOUNT_EXISTS = "account exists"
    TREE_FULL = "tree full"
    WRONG_AMOUNT = "wrong forced-exit amount"
    BATCH_TOO_LARGE = "batch too large"


@dataclass(frozen=True)
class TxError:
    """Why one transaction (``position`` in the batch; None for the batch as a whole) is bad."""

    position: int | None
    reason: Reason
    detail: str = ""

    def __str__(self) -> str:
        where = "batch" if self.position is None else f"tx {self.position}"
        return f"{where}: {self.reason}" + (f" ({self.detail})" if self.detail else "")


class BatchRejected(ValueError):
    """The batch breaks the rules; the state was left as it was."""

    def __init__(self, errors: Sequence[TxError]) -> None:
        self.errors = list(errors)
        super().__init__("batch rejected: " + "; ".join(str(e) for e in self.errors))


@dataclass
class BatchResult:
    """An applied batch: what the prover and the L1 need."""

    domain: pd.Domain
    batch_number: int
    shape: BatchShape
    old_root: int
    new_root: int
    public_data: pd.PublicData
    public_data_bytes: bytes
    public_input: int
    inputs: dict[str, int | list[int]]
    #: every record with an L1 entry (deposit, withdrawal, forced exit), in order; their
    #: ``digest_input()`` tuples are the links of ``public_data.l1_digest``
    l1_entries: list[pd.L1Entry] = field(default_factory=list)

    @property
    def deposits(self) -> list[pd.L1Entry]:
        """The deposit entries consumed, in order (the L1 matches them against its queue)."""
        return [e for e in self.l1_entries if e.kind == TxType.DEPOSIT]

    @property
    def withdrawals(self) -> list[tuple[int, int]]:
        """(L1 address, amount) per withdrawal, in order: the addresses passed with the batch."""
        return [(e.address, e.amount) for e in self.l1_entries if e.kind == TxType.WITHDRAWAL]

    @property
    def forced_exits(self) -> list[tuple[int, int, int]]:
        """(account index, requester, amount paid) per forced exit, in order (amount 0: not the owner)."""
        return [(e.index, e.address, e.amount) for e in self.l1_entries if e.kind == TxType.FORCED_EXIT]

    @property
    def payouts(self) -> list[tuple[int, int]]:
        """What the L1 pays or credits, in record order: (address, amount) per withdrawal and
        per forced exit (zero amounts included: each still consumes its entry)."""
        return [(e.address, e.amount) for e in self.l1_entries if e.kind != TxType.DEPOSIT]


class _Slot:
    """The circuit inputs of one slot, filled while the transaction is applied."""

    def __init__(self) -> None:
        self.v: dict[str, int] = {}
        self.a_path: list[int] = []
        self.b_path: list[int] = []


def _flat(path: Sequence[Sequence[int]]) -> list[int]:
    return [x for level in path for x in level]


def _account_fields(prefix: str, acct: Account | None) -> dict[str, int]:
    if acct is None:
        return {f"{prefix}_{k}": 0 for k in ("ax", "ay", "balance", "nonce", "owner")} | {f"{prefix}_empty": 1}
    return {
        f"{prefix}_ax": acct.ax,
        f"{prefix}_ay": acct.ay,
        f"{prefix}_balance": acct.balance,
        f"{prefix}_nonce": acct.nonce,
        f"{prefix}_owner": acct.owner,
        f"{prefix}_empty": 0,
    }


def _presigned(state: State, txs: Sequence[Transaction], domain: pd.Domain) -> dict[tuple[int, Point], bool]:
    """Verdicts on the batch's signatures, by (position, signer's key), checked together natively.

    A transaction is checked against the key its sender holds when it is reached: the key in
    the state now, or one that a deposit earlier in the batch creates (at the sender's index,
    or at the next free index when the deposit names none). Every such candidate is checked;
    one that is not here (none should be missing) is checked on the spot by ``_Applier``.
    """
    created: list[tuple[int | None, Point]] = []
    wanted: list[tuple[int, Point, int, Signature]] = []
    for pos, tx in enumerate(txs):
        if isinstance(tx, Deposit) and tx.public_key is not None:
            created.append((tx.index, tx.public_key.point))
        if not isinstance(tx, Transfer | Withdrawal) or tx.signature is None:
            continue
        keys = {key for index, key in created if index in (None, tx.from_index)}
        if (sender := state.get(tx.from_index)) is not None:
            keys.add(sender.key)
        msg = tx.message(domain)
        wanted += [(pos, key, msg, tx.signature) for key in keys]
    verdicts = fast.verify_many([(msg, sig.r8, sig.s, key) for _, key, msg, sig in wanted])
    return {(pos, key): ok for (pos, key, _, _), ok in zip(wanted, verdicts, strict=True)}


class _Applier:
    def __init__(self, state: State, domain: pd.Domain, check: bool) -> None:
        self.state = state
        self.domain = domain
        self.check = check
        self.errors: list[TxError] = []
        #: signature verdicts worked out before the batch is applied (native path only)
        self.verdicts: dict[tuple[int, Point], bool] = {}

    def signature_ok(self, pos: int, tx: Transfer | Withdrawal, signer: Account) -> bool:
        if tx.signature is None:
            return False
        known = self.verdicts.get((pos, signer.key))
        if known is not None:
            return known
        verify = fast.verify_poseidon if fast.enabled() else verify_poseidon
        return verify(tx.message(self.domain), tx.signature, signer.key)

    def fail(self, pos: int | None, reason: Reason, detail: str = "") -> None:
        self.errors.append(TxError(pos, reason, detail))

    def index_ok(self, pos: int, index: int, what: str) -> bool:
        if 0 <= index < self.state.capacity:
            return True
        if self.check:
            self.fail(pos, Reason.UNKNOWN_ACCOUNT, f"{what} index {index} outside the tree")
            return False
        return True

    def address_ok(self, pos: int, address: int, what: str) -> bool:
        if not self.check or 0 <= address < 1 << L1_ADDRESS_BITS:
            return True
        self.fail(pos, Reason.OUT_OF_RANGE, f"{what} address {address:#x} is not 160 bits")
        return False

    def apply(self, pos: int, tx: Transaction) -> tuple[_Slot, pd.Record, pd.L1Entry | None] | None:
        """Apply one transaction; None (and an error recorded) if it breaks a rule."""
        if isinstance(tx, NoOp):
            return self._slot(TxType.NOOP, 0, 0, 0, 0, (0, 0), 0, None, None, None), pd.Record(TxType.NOOP), None
        if isinstance(tx, Deposit):
            return self._deposit(pos, tx)
        if isinstance(tx, ForcedExit):
            return self._forced_exit(pos, tx)
        if isinstance(tx, Transfer | Withdrawal):
            return self._signed(pos, tx)
        raise TypeError(f"not a transaction: {tx!r}")

    def _slot(self, tx_type, idx_a, idx_b, amount, fee, l1_key, l1_addr, new_a, new_b, sig) -> _Slot:
        """Fill one slot's inputs and write the new A, then B, into the state (in that order)."""
        st = self.state
        slot = _Slot()
        a = st.get(idx_a)
        slot.v.update(_account_fields("a", a))
        slot.a_path = _flat(st.path(idx_a) if new_a is None else st.set(idx_a, new_a))
        b = st.get(idx_b)
        slot.v.update(_account_fields("b", b))
        slot.b_path = _flat(st.path(idx_b) if new_b is None else st.set(idx_b, new_b(b)))
        r8, s = (sig.r8, sig.s) if sig is not None else (B8, 0)
        slot.v.update(
            tx_type=tx_type, from_index=idx_a, to_index=idx_b, amount=amount % P, fee=fee % P,
            l1_x=l1_key[0], l1_y=l1_key[1], l1_addr=l1_addr % P, sig_r8x=r8[0], sig_r8y=r8[1], sig_s=s,
        )  # fmt: skip
        return slot

    def _deposit(self, pos: int, tx: Deposit):
        st = self.state
        creating = tx.public_key is not None
        index = tx.index if tx.index is not None else st.next_free_index()
        if self.check:
            if not 0 <= tx.amount < 1 << AMOUNT_BITS:
                return self.fail(pos, Reason.OUT_OF_RANGE, f"amount {tx.amount}")
            if not self.address_ok(pos, tx.depositor, "depositor"):
                return None
            if not 0 <= index < st.capacity:
                reason = Reason.TREE_FULL if tx.index is None else Reason.UNKNOWN_ACCOUNT
                return self.fail(pos, reason, f"index {index}")
            old = st.get(index)
            if creating and old is not None:
                return self.fail(pos, Reason.ACCOUNT_EXISTS, f"a deposit with a key creates account {index}")
            if not creating and old is None:
                return self.fail(pos, Reason.UNKNOWN_ACCOUNT, f"top-up of account {index}")
            if (old.balance if old else 0) + tx.amount > MAX_BALANCE:
                return self.fail(pos, Reason.OVERFLOW, f"balance of account {index}")
        key = tx.public_key.point if creating else (0, 0)
        old = st.get(index)
        if old is None:  # the circuit creates it: the entry's key, owner = depositor
            new = Account(key[0], key[1], tx.amount % P, 0, tx.depositor % P)
        else:  # top-up: key and owner stay (a key carried anyway is the circuit's to refuse)
            new = old.with_balance((old.balance + tx.amount) % P)
        slot = self._slot(TxType.DEPOSIT, index, 0, tx.amount, 0, key, tx.depositor, new, None, None)
        entry = pd.L1Entry(TxType.DEPOSIT, index, tx.amount, tx.depositor, *key)
        return slot, pd.Record(TxType.DEPOSIT, index, 0, tx.amount, 0), entry

    def _forced_exit(self, pos: int, tx: ForcedExit):
        st = self.state
        if not (self.index_ok(pos, tx.index, "forced-exit") and self.address_ok(pos, tx.requester, "requester")):
            return None
        acct = st.get(tx.index)
        owned = acct is not None and acct.owner == tx.requester
        due = min(acct.balance, FORCED_EXIT_CAP) if owned else 0
        amount = due if tx.amount is None else tx.amount
        if self.check and amount != due:
            why = "the requester owns it" if owned else "the requester does not own it"
            return self.fail(pos, Reason.WRONG_AMOUNT, f"account {tx.index} pays {due} ({why}), not {amount}")
        new = None if acct is None else acct.with_balance((acct.balance - amount) % P)
        slot = self._slot(TxType.FORCED_EXIT, tx.index, 0, amount, 0, (0, 0), tx.requester, new, None, None)
        entry = pd.L1Entry(TxType.FORCED_EXIT, tx.index, amount, tx.requester)
        return slot, pd.Record(TxType.FORCED_EXIT, tx.index, 0, amount, 0), entry

    def _signed(self, pos: int, tx: Transfer | Withdrawal):
        st = self.state
        is_transfer = isinstance(tx, Transfer)
        to_index = tx.to_index if is_transfer else 0
        if not (self.index_ok(pos, tx.from_index, "sender") and self.index_ok(pos, to_index, "receiver")):
            return None
        sender = st.get(tx.from_index)
        if self.check:
            if sender is None:
                return self.fail(pos, Reason.UNKNOWN_ACCOUNT, f"sender {tx.from_index}")
            if is_transfer and st.get(to_index) is None:
                return self.fail(pos, Reason.UNKNOWN_ACCOUNT, f"receiver {to_index}")
            if not (0 <= tx.amount < 1 << AMOUNT_BITS and 0 <= tx.fee < 1 << FEE_BITS):
                return self.fail(pos, Reason.OUT_OF_RANGE, f"amount {tx.amount}, fee {tx.fee}")
            if not is_transfer and not self.address_ok(pos, tx.address, "withdrawal"):
                return None
            if not self.signature_ok(pos, tx, sender):
                return self.fail(pos, Reason.BAD_SIGNATURE)
            if tx.nonce != sender.nonce:
                return self.fail(pos, Reason.WRONG_NONCE, f"expected {sender.nonce}, got {tx.nonce}")
            if tx.amount + tx.fee > sender.balance:
                return self.fail(pos, Reason.INSUFFICIENT_BALANCE, f"{sender.balance} < {tx.amount} + {tx.fee}")
            if sender.nonce + 1 > MAX_NONCE:
                return self.fail(pos, Reason.OVERFLOW, "nonce")
            if is_transfer:
                receiver = st.get(to_index)
                start = sender.balance - tx.amount - tx.fee if to_index == tx.from_index else receiver.balance
                if start + tx.amount > MAX_BALANCE:
                    return self.fail(pos, Reason.OVERFLOW, f"balance of account {to_index}")
        # (Unchecked, a missing account stays missing: the circuit keeps an empty leaf empty.)
        new_a = None
        if sender is not None:
            new_a = replace(sender, balance=(sender.balance - tx.amount - tx.fee) % P, nonce=sender.nonce + 1)

        def credit(b: Account | None) -> Account | None:
            return None if b is None else b.with_balance((b.balance + tx.amount) % P)

        address = 0 if is_transfer else tx.address
        slot = self._slot(
            tx.tx_type, tx.from_index, to_index, tx.amount, tx.fee, (0, 0), address, new_a,
            credit if is_transfer else None, tx.signature,
        )  # fmt: skip
        record = pd.Record(tx.tx_type, tx.from_index, to_index, tx.amount, tx.fee)
        entry = None if is_transfer else pd.L1Entry(TxType.WITHDRAWAL, tx.from_index, tx.amount, address)
        return slot, record, entry


def apply_batch(
    state: State,
    txs: Sequence[Transaction],
    *,
    batch_size: int,
    domain: pd.Domain,
    batch_number: int,
    fee_account: int = 0,
    check: bool = True,
) -> BatchResult:
    """Apply ``txs`` (padded with no-ops to ``batch_size``) to ``state``, all or nothing."""
    shape = BatchShape(batch_size, state.depth)
    if len(txs) > batch_size:
        raise BatchRejected([TxError(None, Reason.BATCH_TOO_LARGE, f"{len(txs)} > {batch_size}")])
    padded = list(txs) + [NoOp()] * (batch_size - len(txs))
    app = _Applier(state, domain, check)
    if check and fast.enabled():
        app.verdicts = _presigned(state, padded, domain)
    old_root = state.root
    slots: list[_Slot] = []
    records: list[pd.Record] = []
    l1_entries: list[pd.L1Entry] = []
    total_fee = 0
    state.begin()
    try:
        for pos, tx in enumerate(padded):
            out = app.apply(pos, tx)
            if out is None:
                continue
            slot, record, entry = out
            total_fee += slot.v["fee"]  # as the circuit adds them: before any masking below
            if not check:  # what the circuit's bit hints make of out-of-range values (tests only)
                record = replace(record, amount=record.amount % (1 << AMOUNT_BITS), fee=record.fee % (1 << FEE_BITS))
            slots.append(slot)
            records.append(record)
            if entry is not None:
                l1_entries.append(replace(entry, amount=record.amount))
        fee_fields, fee_path = _collect_fees(app, state, fee_account, total_fee)
        if app.errors:
            raise BatchRejected(app.errors)
    except BaseException:
        state.rollback()
        raise
    state.commit()

    data = pd.PublicData(fee_account, pd.l1_digest(l1_entries), tuple(records))
    data_bytes = data.encode(state.depth)
    new_root = state.root
    inputs: dict[str, int | list[int]] = {
        "public_input": pd.public_input(domain, batch_number, old_root, new_root, data_bytes),
        "chain_id": domain.chain_id,
        "rollup_address": domain.rollup_address,
        "batch_number": batch_number,
        "old_root": old_root,
        "fee_account": fee_account,
        **fee_fields,
        "fee_path": fee_path,
    }
    for name in slots[0].v:
        inputs[name] = [s.v[name] for s in slots]
    inputs["a_path"] = [x for s in slots for x in s.a_path]
    inputs["b_path"] = [x for s in slots for x in s.b_path]
    return BatchResult(
        domain=domain,
        batch_number=batch_number,
        shape=shape,
        old_root=old_root,
        new_root=new_root,
        public_data=data,
        public_data_bytes=data_bytes,
        public_input=int(inputs["public_input"]),
        inputs=inputs,
        l1_entries=l1_entries,
    )


def _collect_fees(app: _Applier, state: State, fee_account: int, total_fee: int) -> tuple[dict[str, int], list[int]]:
    """Credit the batch's fees to ``fee_account``; its inputs for the circuit."""
    if not 0 <= fee_account < state.capacity:
        app.fail(None, Reason.UNKNOWN_ACCOUNT, f"fee account {fee_account} outside the tree")
        return {}, []
    acct = state.get(fee_account)
    if app.check and total_fee:
        if acct is None:
            app.fail(None, Reason.UNKNOWN_ACCOUNT, f"fee account {fee_account}")
        elif acct.balance + total_fee > MAX_BALANCE:
            app.fail(None, Reason.OVERFLOW, f"balance of fee account {fee_account}")
    fields = {k.replace("a_", "fee_", 1): v for k, v in _account_fields("a", acct).items()}
    if acct is None:
        return fields, _flat(state.path(fee_account))
    return fields, _flat(state.set(fee_account, acct.with_balance((acct.balance + total_fee) % P)))

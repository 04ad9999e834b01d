"""An in-memory stand-in for the peer side of ``fabric_shim``'s stub, plus identities and a driver.

Writes go straight into the state (no write set): if the chaincode ever wrote before refusing, a test
comparing the state before and after a refusal would see it. Calls go through the real
``ContractChaincode.invoke`` so the dispatch layer (names, argument counts, errors) is exercised too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fabric_protos.ledger.queryresult import kv_query_result_pb2 as kv_pb
from google.protobuf.timestamp_pb2 import Timestamp

from chaincode.batching import PeerBatching
from chaincode.clock import iso, parse_iso
from chaincode.contract import FlexledgerContract, KindedChaincode
from chaincode.identity import ATTRIBUTE_OID
from chaincode.oracle import Oracle


@cache
def _ca() -> tuple[ec.EllipticCurvePrivateKey, x509.Name]:
    return ec.generate_private_key(ec.SECP256R1()), x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-ca")])


@cache
def certificate(msp: str, role: str | None, name: str = "user1", raw_attrs: bytes | None = None) -> bytes:
    """A PEM certificate signed by a test CA, carrying Fabric CA's attribute extension when a role is given."""
    ca_key, ca_name = _ca()
    key = ec.generate_private_key(ec.SECP256R1())
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, msp),
                                 x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=730))
    )
    payload = raw_attrs
    if payload is None and role is not None:
        payload = json.dumps({"attrs": {"hf.EnrollmentID": name, "role": role}}).encode()
    if payload is not None:
        builder = builder.add_extension(x509.UnrecognizedExtension(ATTRIBUTE_OID, payload), critical=False)
    return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class Identity:
    msp: str
    role: str | None
    pem: bytes


def identity(msp: str, role: str | None, name: str = "user1") -> Identity:
    return Identity(msp, role, certificate(msp, role, name))


class _Iter:
    def __init__(self, items: list[Any]) -> None:
        self._items = list(items)

    def __aiter__(self) -> _Iter:
        return self

    async def __anext__(self) -> Any:
        if not self._items:
            raise StopAsyncIteration
        return self._items.pop(0)


@dataclass
class FakeLedger:
    state: dict[str, bytes] = field(default_factory=dict)
    history: dict[str, list[kv_pb.KeyModification]] = field(default_factory=dict)
    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # (tx id, name, payload)
    #: key-level endorsement policies (Fabric's VALIDATION_PARAMETER metadata), serialised
    policies: dict[str, bytes] = field(default_factory=dict)


class FakeStub:
    """The subset of ``fabric_shim.stub.ChaincodeStub`` the contract uses, over a :class:`FakeLedger`."""

    def __init__(self, ledger: FakeLedger, fn: str, args: list[str], who: Identity, now_ms: int, tx_id: str) -> None:
        self.ledger = ledger
        self._fn, self._args = fn, args
        self._creator = {"mspid": who.msp, "idBytes": who.pem}
        self._ts = Timestamp(seconds=now_ms // 1000, nanos=(now_ms % 1000) * 1_000_000)
        self._tx_id = tx_id
        self._events: list[tuple[str, bytes]] = []
        #: what Fabric's MVCC validation would check: keys read, ranges scanned, keys written
        self.reads: set[str] = set()
        self.ranges: list[tuple[str, str]] = []
        self.writes: set[str] = set()
        self.policy_writes: set[str] = set()

    def get_function_and_parameters(self) -> tuple[str, list[str]]:
        return self._fn, list(self._args)

    def get_creator(self) -> dict[str, Any]:
        return self._creator

    def get_tx_timestamp(self) -> Timestamp:
        return self._ts

    def get_txid(self) -> str:
        return self._tx_id

    def get_channel_id(self) -> str:
        return "flexchannel"

    async def get_state(self, key: str) -> bytes:
        self.reads.add(key)
        return self.ledger.state.get(key, b"")

    async def put_state(self, key: str, value: bytes) -> None:
        assert isinstance(value, bytes)
        self.writes.add(key)
        self.ledger.state[key] = value
        self.ledger.history.setdefault(key, []).append(
            kv_pb.KeyModification(tx_id=self._tx_id, value=value, timestamp=self._ts, is_delete=False))

    async def delete_state(self, key: str) -> None:
        self.writes.add(key)
        self.ledger.state.pop(key, None)
        self.ledger.policies.pop(key, None)  # Fabric deletes a key's metadata with it
        self.ledger.history.setdefault(key, []).append(
            kv_pb.KeyModification(tx_id=self._tx_id, timestamp=self._ts, is_delete=True))

    async def put_state_policy(self, key: str, policy: bytes) -> None:
        assert key in self.ledger.state, "Fabric ignores metadata of a key that has no value"
        self.writes.add(key)
        self.policy_writes.add(key)
        self.ledger.policies[key] = policy

    async def get_state_by_range(self, start: str, end: str) -> _Iter:
        self.ranges.append((start, end))
        keys = sorted(k for k in self.ledger.state if start <= k < end)
        return _Iter([kv_pb.KV(namespace="flexledger", key=k, value=self.ledger.state[k]) for k in keys])

    async def get_history_for_key(self, key: str) -> _Iter:
        return _Iter(list(reversed(self.ledger.history.get(key, []))))

    def set_event(self, name: str, payload: bytes) -> None:
        self._events.append((name, payload))

    def get_events(self) -> list[tuple[str, bytes]]:
        return list(self._events)


class BatchingFakeStub(FakeStub):
    """A stub whose peer offers batched reads and writes (Fabric 3.1+), counting the messages each costs."""

    def __init__(self, *args: Any, batching: PeerBatching) -> None:
        super().__init__(*args)
        self.batching = batching
        self.batches: list[tuple[str, int]] = []  # ("read" | "write", keys in the message)

    async def get_states(self, keys: list[str]) -> list[bytes | None]:
        assert 0 < len(keys) <= self.batching.max_read_keys
        self.batches.append(("read", len(keys)))
        return [(await self.get_state(k)) or None for k in keys]

    async def write_states(self, writes: list[tuple[str, bytes | None]]) -> None:
        assert len(writes) <= self.batching.max_write_records
        self.batches.append(("write", len(writes)))
        for k, v in writes:
            await (self.delete_state(k) if v is None else self.put_state(k, v))


#: The only functions allowed to change the sum of all balances.
MONEY_IN_OUT = ("Deposit", "Withdraw")
#: Functions that move money across the marketplace's boundary, and by how much (from their answer).
EXTERNAL_FLOWS = {"SettleSpotSession": lambda answer: answer["received_cents"] - answer["paid_cents"]}


class Refused(Exception):
    """The chaincode answered with an error; ``str()`` is its message, ``status`` the response status."""

    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.status = status


@lru_cache(maxsize=1)
def _chaincode() -> tuple[FlexledgerContract, Any]:
    """Building the ContractChaincode (metadata, schemas) takes ~0.2 s: once per test session."""
    contract = FlexledgerContract()
    return contract, KindedChaincode(contract)


class Chain:
    """One channel with the flexledger chaincode: invoke functions as an identity at a settable time."""

    def __init__(self, oracle: Oracle | None = None, batching: PeerBatching | None = None) -> None:
        self.contract, self.cc = _chaincode()
        #: the peer's offer of batched state access (None: a peer before Fabric 3.1)
        self.batching = batching
        self.use_oracle(oracle or Oracle())
        self.ledger = FakeLedger()
        self.now_ms = parse_iso("2026-11-20T08:00:00Z", "now")
        #: how far every endorser's own clock is ahead of the claimed transaction time (ms)
        self.clock_offset_ms = 0
        self.contract._local_clock = lambda: self.now_ms + self.clock_offset_ms
        self._seq = 0

    def use_oracle(self, oracle: Oracle) -> None:
        """Swap the contract's oracle (the shared chaincode is reused across tests)."""
        self.contract._oracle = oracle

    def at(self, when: str) -> None:
        self.now_ms = parse_iso(when, "when")

    @property
    def now(self) -> str:
        return iso(self.now_ms)

    def stub(self, who: Identity, fn: str, args: tuple[Any, ...]) -> FakeStub:
        self._seq += 1
        text = [a if isinstance(a, str) else json.dumps(a) for a in args]
        if self.batching is not None:
            return BatchingFakeStub(self.ledger, fn, text, who, self.now_ms, f"tx{self._seq:05d}",
                                    batching=self.batching)
        return FakeStub(self.ledger, fn, text, who, self.now_ms, f"tx{self._seq:05d}")

    def conflicts(self, first: FakeStub, second: FakeStub) -> set[str]:
        """Keys ``first`` writes that ``second`` read or scanned: had they been endorsed on the same state,
        Fabric would invalidate ``second`` (MVCC_READ_CONFLICT or PHANTOM_READ_CONFLICT)."""
        scanned = {k for k in first.writes for start, end in second.ranges if start <= k < end}
        return (first.writes & second.reads) | scanned

    def _answer(self, stub: FakeStub, response: Any) -> Any:
        if response.status != 200:
            assert not stub.get_events(), "a refused transaction must not emit events"
            raise Refused(response.message, response.status)
        for name, payload in stub.get_events():
            self.ledger.events.append((stub.get_txid(), name, json.loads(payload)))
        return json.loads(response.payload) if response.payload else None

    async def ainvoke(self, who: Identity, fn: str, *args: Any) -> Any:
        """Invoke; every successful transaction except Deposit/Withdraw must conserve the sum of all balances."""
        stub = self.last_stub = self.stub(who, fn, args)
        before = self.total_cents()
        policies = dict(self.ledger.policies)
        answer = self._answer(stub, await self.cc.invoke(stub))
        #: who had to endorse the last call (None: every market organisation), see endorsers_required
        self.last_endorsers = self.endorsers_required(stub, policies)
        if fn in EXTERNAL_FLOWS:
            assert self.total_cents() == before + EXTERNAL_FLOWS[fn](answer), f"{fn} moved money it did not record"
        elif fn not in MONEY_IN_OUT:
            assert self.total_cents() == before, f"{fn} changed the sum of all balances"
        self.assert_escrow_consistent()
        return answer

    def invoke(self, who: Identity, fn: str, *args: Any) -> Any:
        return asyncio.run(self.ainvoke(who, fn, *args))

    def endorsers_required(self, stub: FakeStub, policies: dict[str, bytes] | None = None) -> set[str] | None:
        """Which organisations' peers Fabric's validator asks for ``stub``'s writes, given the key policies
        committed before it (default: now): the union of the written keys' own policies when every written
        key has one, else None (the definition's ``AND(all market organisations)``)."""
        from chaincode.key_policy import organisations

        policies = self.ledger.policies if policies is None else policies
        if not stub.writes or any(k not in policies for k in stub.writes):
            return None
        return {msp for k in stub.writes for msp in organisations(policies[k])}

    def market_organisations(self) -> set[str]:
        record = json.loads(self.ledger.state["\x00marketplace\x00"])
        return {record["dso"], *record["aggregators"]}

    def block(self, *calls: tuple[Any, ...]) -> list[str]:
        """Endorse ``calls`` concurrently (all on the same state), then commit them as one block the way
        Fabric validates it: in order, a transaction whose endorsers do not satisfy the policies of the keys it
        writes is invalidated (ENDORSEMENT_POLICY_FAILURE), and one that read or scanned a key an earlier valid
        one of the block wrote too (MVCC_READ_CONFLICT, PHANTOM_READ_CONFLICT). A call is ``(who, function,
        args)``, endorsed by every market organisation, or ``(who, function, args, endorsing MSPs or None, time)``
        (the time the call claims and its endorsers' clocks show; default: the chain's). Returns each call's
        outcome: VALID, REFUSED or the invalidation."""
        endorsed = []
        now = self.now_ms
        for who, fn, args, *extra in calls:
            scratch = FakeLedger(state=dict(self.ledger.state), history={k: list(v) for k, v in self.ledger.history.items()},
                                 policies=dict(self.ledger.policies))
            self.now_ms = parse_iso(extra[1], "time") if len(extra) > 1 else now
            stub = self.stub(who, fn, args)
            stub.ledger = scratch
            response = asyncio.run(self.cc.invoke(stub))
            endorsing = set(extra[0]) if extra and extra[0] is not None else self.market_organisations()
            endorsed.append((stub, response, scratch, endorsing))
        self.now_ms = now
        outcomes: list[str] = []
        written: set[str] = set()
        # Fabric's validator takes a key's policy from the state before the block, updated only by the metadata
        # writes of earlier valid transactions in it (a deletion is no metadata write: core/common/validation)
        policies = dict(self.ledger.policies)
        for stub, response, scratch, endorsing in endorsed:
            if response.status != 200:
                outcomes.append("REFUSED")
                continue
            required = self.endorsers_required(stub, policies)
            if not (required or self.market_organisations()) <= endorsing:
                outcomes.append("ENDORSEMENT_POLICY_FAILURE")
                continue
            if stub.reads & written:
                outcomes.append("MVCC_READ_CONFLICT")
                continue
            if any(start <= k < end for k in written for start, end in stub.ranges):
                outcomes.append("PHANTOM_READ_CONFLICT")
                continue
            for k in stub.writes:
                if k in scratch.state:
                    self.ledger.state[k] = scratch.state[k]
                else:
                    self.ledger.state.pop(k, None)
                if k in scratch.policies:
                    self.ledger.policies[k] = scratch.policies[k]
                else:
                    self.ledger.policies.pop(k, None)
                self.ledger.history[k] = scratch.history.get(k, [])
            for name, payload in stub.get_events():
                self.ledger.events.append((stub.get_txid(), name, json.loads(payload)))
            written |= stub.writes
            policies.update({k: scratch.policies[k] for k in stub.policy_writes if k in scratch.policies})
            outcomes.append("VALID")
        self.assert_escrow_consistent()
        return outcomes

    def refuse(self, who: Identity, fn: str, *args: Any, field: str) -> str:
        """Invoke expecting a refusal whose message starts with ``field``; the state must not change."""
        before = dict(self.ledger.state)
        events = len(self.ledger.events)
        try:
            self.invoke(who, fn, *args)
        except Refused as exc:
            message = str(exc)
        else:
            raise AssertionError(f"{fn} was accepted, expected a refusal on {field}")
        assert message.startswith(f"{field}:"), message
        assert self.ledger.state == before, f"{fn} changed the ledger although it was refused"
        assert len(self.ledger.events) == events
        return message

    def events(self, name: str) -> list[dict[str, Any]]:
        return [payload for _, n, payload in self.ledger.events if n == name]

    def total_cents(self) -> int:
        """Sum of every participant's available + escrow money, read straight from the state."""
        total = 0
        for key, raw in self.ledger.state.items():
            if key.startswith("\x00balance\x00"):
                record = json.loads(raw)
                total += record["available_cents"] + record["escrow_cents"]
        return total

    def assert_escrow_consistent(self) -> None:
        """Each participant's escrow_cents equals the sum of its per-market escrow records."""
        per: dict[str, int] = {}
        balances: dict[str, int] = {}
        for key, raw in self.ledger.state.items():
            record = json.loads(raw) if key.startswith(("\x00escrow\x00", "\x00balance\x00")) else None
            if key.startswith("\x00escrow\x00"):
                per[record["participant"]] = per.get(record["participant"], 0) + record["cents"]
            elif key.startswith("\x00balance\x00"):
                balances[record["participant"]] = record["escrow_cents"]
        for msp, cents in balances.items():
            assert per.get(msp, 0) == cents, f"{msp}: escrow {cents} != sum of market escrows {per.get(msp, 0)}"

"""Ledger access for one transaction: composite keys, JSON values, a write buffer and the one event.

Why a buffer: a refused transaction must change nothing. Every write is kept here and handed to the
stub only after the transaction function returned successfully (:meth:`Ledger.flush`), so a refusal
half-way through cannot leave partial writes behind (the peer would discard them anyway; an in-memory
stub would not). Reads see the transaction's own earlier writes, which keeps multi-step logic simple.

Values are canonical JSON (sorted keys, no whitespace), so every endorser writes identical bytes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

from chaincode.batching import NONE as NO_BATCHING
from chaincode.batching import PeerBatching, chunks
from chaincode.errors import ChaincodeError
from clearing.limits import echo

#: Fabric's composite-key namespace and separator (``\\x00`` type ``\\x00`` attr ``\\x00`` ...).
_NS = "\x00"
_SEP = "\x00"
_MAX_RUNE = "\U0010ffff"

#: Object types of every ledger key; the audit query ``GetHistory`` accepts these names.
KINDS: dict[str, int] = {
    "marketplace": 0,  # governance record
    "device": 1,  # [device id]
    "network": 1,  # [version, 8 digits]
    "networkhead": 0,  # latest network version
    "baseline": 1,  # [day]
    "limits": 1,  # [market id]
    "balance": 1,  # [msp]
    "escrow": 2,  # [market id, msp]
    "market": 1,  # [market id]
    "enrolment": 2,  # [market id, msp]
    "bid": 2,  # [market id, bid id]
    "bidref": 1,  # [bid id] -> market id
    "devicebids": 2,  # [market id, device id] -> active bids of the device and their periods
    "bidslot": 3,  # [msp, market id, device id] owner-endorsed bids before gate closure (chaincode.owner_bids)
    "clearing": 1,  # [market id] clearing record
    "clearinginput": 1,  # [market id] canonical input bytes
    "clearingresult": 1,  # [market id] canonical result bytes
    "trade": 2,  # [market id, 4-digit sequence]
    "settlement": 1,  # [market id]
    "proposal": 1,  # [proposal id] membership change and its approvals
    # wholesale modules (chaincode.spot, chaincode.mfrr)
    "exchangekey": 1,  # [exchange] its published signing key
    "spotsession": 1,  # [session id]
    "spotoffer": 2,  # [session id, offer id]
    "spotbook": 1,  # [session id] canonical bytes of the order book sent to the exchange
    "spotresult": 1,  # [session id] the exchange's signed results as recorded
    "spotsettlement": 1,  # [session id]
    "mfrrbid": 1,  # [bid id]
    "mfrrconsent": 1,  # [device id] may undispatched local flexibility go to the TSO
    "mfrractivation": 1,  # [activation id]
}


def key(kind: str, *attrs: str) -> str:
    """Composite key exactly as Fabric's ``CreateCompositeKey`` builds it."""
    if kind not in KINDS:
        raise ValueError(f"unknown key kind {kind!r}")
    for attr in attrs:
        if not attr or _SEP in attr:
            raise ChaincodeError(kind, f"invalid key part {echo(attr)}")
    return _NS + kind + _SEP + "".join(a + _SEP for a in attrs)


def split_key(composite: str) -> tuple[str, list[str]]:
    parts = composite[1:].split(_SEP)
    return parts[0], parts[1:-1]


def encode(value: Any) -> bytes:
    """Canonical JSON bytes (sorted keys, compact) of a ledger value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class Ledger:
    """Buffered, JSON-typed view of the world state for one transaction."""

    def __init__(self, stub: Any, *, read_only: bool = False) -> None:
        self._stub = stub
        self._read_only = read_only
        self._writes: dict[str, bytes | None] = {}
        self._policies: dict[str, bytes] = {}
        self._event: tuple[str, bytes] | None = None
        self._read_cache: dict[str, bytes | None] = {}

    @property
    def stub(self) -> Any:
        return self._stub

    async def get_bytes(self, k: str) -> bytes | None:
        if k in self._writes:
            return self._writes[k]
        if k not in self._read_cache:  # one round trip to the peer per key and transaction
            raw = await self._stub.get_state(k)
            self._read_cache[k] = bytes(raw) if raw else None
        return self._read_cache[k]

    def _offer(self) -> PeerBatching:
        offer = getattr(self._stub, "batching", None)
        return offer if isinstance(offer, PeerBatching) else NO_BATCHING

    async def prefetch(self, keys: Iterable[str]) -> None:
        """Read ``keys`` now, in as few messages as the peer allows, for the ``get`` calls that follow.

        Only keys the transaction reads anyway belong here: each one enters the read set, and a key read
        needlessly would make the transaction collide with every concurrent write of it. Without the peer's
        batched reads this does nothing (each ``get`` then asks for its key).
        """
        limit = self._offer().max_read_keys
        wanted = sorted({k for k in keys if k not in self._writes and k not in self._read_cache})
        if limit < 2 or len(wanted) < 2:
            return
        for chunk in chunks(wanted, limit):
            for k, raw in zip(chunk, await self._stub.get_states(list(chunk)), strict=True):
                self._read_cache[k] = raw

    async def get(self, k: str) -> Any | None:
        raw = await self.get_bytes(k)
        return None if raw is None else json.loads(raw)

    def put(self, k: str, value: Any) -> None:
        self.put_bytes(k, encode(value))

    def put_bytes(self, k: str, raw: bytes) -> None:
        if self._read_only:
            raise ChaincodeError("transaction", "is evaluate-only and cannot write to the ledger")
        self._writes[k] = raw

    def delete(self, k: str) -> None:
        if self._read_only:
            raise ChaincodeError("transaction", "is evaluate-only and cannot write to the ledger")
        self._writes[k] = None

    def restrict_writers(self, k: str, policy: bytes) -> None:
        """Give key ``k`` its own endorsement policy (:mod:`chaincode.key_policy`), set with this transaction's
        writes. Only a key this transaction also writes: the policy then travels with the value."""
        if self._read_only:
            raise ChaincodeError("transaction", "is evaluate-only and cannot write to the ledger")
        if self._writes.get(k) is None:
            raise RuntimeError(f"a key policy goes with a value written in the same transaction; {k!r} is not")
        self._policies[k] = policy

    async def scan(self, kind: str, *attrs: str) -> AsyncIterator[tuple[str, Any]]:
        """Every ``(key, value)`` under a partial composite key, in key order, own writes included."""
        start = key(kind, *attrs)
        end = start + _MAX_RUNE
        found: dict[str, bytes] = {}
        iterator = await self._stub.get_state_by_range(start, end)
        async for kv in iterator:
            found[kv.key] = bytes(kv.value)
        for k, raw in self._writes.items():
            if start <= k < end:
                if raw is None:
                    found.pop(k, None)
                else:
                    found[k] = raw
        for k in sorted(found):
            yield k, json.loads(found[k])

    async def values(self, kind: str, *attrs: str) -> list[Any]:
        return [value async for _, value in self.scan(kind, *attrs)]

    def emit(self, name: str, payload: Any) -> None:
        """Set the transaction's chaincode event (Fabric carries at most one per transaction)."""
        if self._read_only:
            raise ChaincodeError("transaction", "is evaluate-only and cannot emit events")
        if self._event is not None:
            raise RuntimeError(f"a transaction carries one event; {self._event[0]} was already set")
        self._event = (name, encode(payload))

    async def flush(self) -> None:
        """Hand the buffered writes (in key order), then the key policies, and the event to the stub: in write
        batches where the peer takes them, else one message per key."""
        ordered = sorted(self._writes)
        limit = self._offer().max_write_records
        if limit and len(ordered) > 1:
            for chunk in chunks(ordered, limit):
                await self._stub.write_states([(k, self._writes[k]) for k in chunk])
        else:
            for k in ordered:
                raw = self._writes[k]
                if raw is None:
                    await self._stub.delete_state(k)
                else:
                    await self._stub.put_state(k, raw)
        for k in sorted(self._policies):
            if self._writes.get(k) is not None:  # a key deleted after its policy was set takes none
                await self._stub.put_state_policy(k, self._policies[k])
        if self._event is not None:
            self._stub.set_event(self._event[0], self._event[1])

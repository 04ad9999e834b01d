"""The aggregator's side of sealed bidding: seal a bid, keep its salt, reveal it after the gate closes.

Why the gateway keeps the bid: a sealed bid is on the ledger only as a salted hash, so whoever loses the
exact bid JSON or its salt can never reveal it, and an unrevealed bid takes no part in the clearing. The
store is a file in the organisation's wallet (0600, written before the commitment is submitted), so the
REST service, the CLI and a restarted gateway of the organisation all find it; nobody outside the
organisation ever receives it before the gate closes.

The functions take the two ledger doors as callables (``submit(function, *args)`` and
``evaluate(function, *args)`` returning the chaincode's bytes), so the REST service (one user's identity per
request) and the client library (:class:`gateway.client.Contract`) share them.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from clearing.sealing import SALT_BYTES, commitment

STORE_FILE = "sealed-bids.json"
Door = Callable[..., bytes]


@dataclass(frozen=True)
class SealedBid:
    """One bid as its organisation keeps it until (and after) it is revealed."""

    bid_id: str
    market_id: str
    device: str
    bid_json: str  # the exact text that was hashed and will be revealed
    salt: str  # hex
    commitment: str
    user: str
    created: int

    def bid(self) -> dict[str, Any]:
        return json.loads(self.bid_json)


def seal(bid: dict[str, Any], user: str) -> SealedBid:
    """A fresh salt of :data:`~clearing.sealing.SALT_BYTES` random bytes and the commitment of ``bid``."""
    bid_json = json.dumps(bid, sort_keys=True, separators=(",", ":"))
    salt = secrets.token_hex(SALT_BYTES)
    return SealedBid(bid_id=str(bid["id"]), market_id=str(bid["market_id"]), device=str(bid["device"]),
                     bid_json=bid_json, salt=salt, commitment=commitment(salt, bid_json), user=user,
                     created=int(time.time()))


class AlreadySealed(ValueError):
    """The organisation already keeps another sealed bid under this id (its salt must not be replaced)."""


class SealedBidStore:
    """``<wallet>/sealed-bids.json`` (0600): ``{bid id: SealedBid}``, re-read when another process wrote it."""

    def __init__(self, wallet: Path) -> None:
        self.path = Path(wallet) / STORE_FILE
        self._lock = threading.Lock()

    def _read(self) -> dict[str, SealedBid]:
        try:
            raw = json.loads(self.path.read_text() or "{}")
        except FileNotFoundError:
            return {}
        return {bid_id: SealedBid(**record) for bid_id, record in raw.items()}

    def add(self, sealed: SealedBid) -> None:
        """Keep ``sealed`` durably (fsync'd, atomic replace); refuse to overwrite another bid's salt."""
        with self._lock:
            records = self._read()
            if sealed.bid_id in records and records[sealed.bid_id] != sealed:
                raise AlreadySealed(f"bid {sealed.bid_id} is already sealed by this organisation")
            records[sealed.bid_id] = sealed
            text = json.dumps({k: asdict(v) for k, v in sorted(records.items())}, indent=1, sort_keys=True)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)

    def get(self, bid_id: str) -> SealedBid | None:
        with self._lock:
            return self._read().get(bid_id)

    def of_market(self, market_id: str) -> list[SealedBid]:
        with self._lock:
            return sorted((s for s in self._read().values() if s.market_id == market_id), key=lambda s: s.bid_id)


def market_is_sealed(evaluate: Door, market_id: str) -> bool:
    """Whether the market takes sealed bids, asked of the caller's own organisation's peer only.

    A market the chaincode does not know is not sealed: the bid then goes to ``PlaceBid``, which refuses it
    naming ``bid.market_id``.
    """
    from gateway.errors import EvaluateError

    try:
        market = json.loads(evaluate("ReadMarket", market_id))
    except EvaluateError as exc:
        if (exc.chaincode_message or "").startswith("marketId:"):
            return False
        raise
    return bool(isinstance(market, dict) and market.get("sealed"))


def place_bid(submit: Door, evaluate: Door, store: SealedBidStore, bid: dict[str, Any], user: str) -> Any:
    """Commit ``bid`` sealed if its market is sealed (its content stays in ``store``), else place it openly."""
    if market_is_sealed(evaluate, str(bid.get("market_id"))):
        return commit_bid(submit, store, bid, user)
    return json.loads(submit("PlaceBid", json.dumps(bid, sort_keys=True, separators=(",", ":"))))


def commit_bid(submit: Door, store: SealedBidStore, bid: dict[str, Any], user: str) -> Any:
    """Seal ``bid``, keep it, then submit only its commitment (``CommitBid``); returns the ledger record."""
    sealed = seal(bid, user)
    store.add(sealed)
    doc = {"id": sealed.bid_id, "market_id": sealed.market_id, "device": sealed.device,
           "commitment": sealed.commitment}
    return json.loads(submit("CommitBid", json.dumps(doc, sort_keys=True, separators=(",", ":"))))


@dataclass
class RevealReport:
    """What revealing an organisation's sealed bids of one market did, bid by bid."""

    market_id: str
    revealed: list[str] = field(default_factory=list)
    already_revealed: list[str] = field(default_factory=list)
    not_revealed: dict[str, str] = field(default_factory=dict)  # bid id -> why (the chaincode's refusal)


def reveal_market(submit: Door, evaluate: Door, store: SealedBidStore, market_id: str,
                  refused: type[Exception] | tuple[type[Exception], ...] = ()) -> RevealReport:
    """Reveal every bid this organisation sealed in ``market_id`` that the ledger still holds sealed.

    ``refused``: the exception type(s) of a chaincode refusal; a refused reveal is reported and the others go
    on (any other error propagates).
    """
    on_ledger = {b["id"]: b for b in json.loads(evaluate("ListBids", market_id))}
    report = RevealReport(market_id)
    for sealed in store.of_market(market_id):
        status = on_ledger.get(sealed.bid_id, {}).get("status")
        if status != "sealed":
            if status == "active":
                report.already_revealed.append(sealed.bid_id)
            else:
                report.not_revealed[sealed.bid_id] = f"the ledger holds it as {status or 'missing'}"
            continue
        try:
            submit("RevealBid", sealed.bid_id, sealed.bid_json, sealed.salt)
        except refused as exc:
            report.not_revealed[sealed.bid_id] = getattr(exc, "chaincode_message", None) or str(exc)
        else:
            report.revealed.append(sealed.bid_id)
    return report

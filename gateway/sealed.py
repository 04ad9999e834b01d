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
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from clearing.sealing import SALT_BYTES, commitment
from contract.records import Bid, BidDocument, Market
from gateway.local_db import write_ahead_log

STORE_FILE = "sealed-bids.sqlite"
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

    def document(self) -> BidDocument:
        return BidDocument.of(json.loads(self.bid_json))


class IncompleteBid(ValueError):
    """A bid to seal lacks a field the store keys it by (its id, market or device)."""


def seal(bid: BidDocument, user: str) -> SealedBid:
    """A fresh salt of :data:`~clearing.sealing.SALT_BYTES` random bytes and the commitment of ``bid``."""
    for name in ("id", "market_id", "device"):
        if getattr(bid, name) is None:
            raise IncompleteBid(f"bid.{name}: required to seal a bid")
    salt = secrets.token_hex(SALT_BYTES)
    return SealedBid(bid_id=str(bid.id), market_id=str(bid.market_id), device=str(bid.device), bid_json=bid.text,
                     salt=salt, commitment=commitment(salt, bid.text), user=user, created=int(time.time()))


class AlreadySealed(ValueError):
    """The organisation already keeps another sealed bid under this id (its salt must not be replaced)."""


class SealedBidStore:
    """``<wallet>/sealed-bids.sqlite`` (0600): one row per sealed bid, shared by every process of the org.

    Why SQLite: each bid is kept durably before its commitment leaves, and a market's gate closes with
    hundreds of bids arriving at once; a row insert is one small synced transaction, where rewriting a
    whole file per bid grew with the number of bids kept and serialised them all. The REST service, the
    CLI and a restarted gateway read the same database; a bid id is the primary key, so a salt is never
    replaced.
    """

    _COLUMNS = ("bid_id", "market_id", "device", "bid_json", "salt", "commitment", "user", "created")

    def __init__(self, wallet: Path) -> None:
        self.path = Path(wallet) / STORE_FILE
        self._local = threading.local()

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            write_ahead_log(db)
            db.execute("PRAGMA synchronous=FULL")
            db.execute("CREATE TABLE IF NOT EXISTS sealed (bid_id TEXT PRIMARY KEY, market_id TEXT NOT NULL, "
                       "device TEXT NOT NULL, bid_json TEXT NOT NULL, salt TEXT NOT NULL, commitment TEXT NOT NULL, "
                       "user TEXT NOT NULL, created INTEGER NOT NULL)")
            db.execute("CREATE INDEX IF NOT EXISTS sealed_market ON sealed (market_id, bid_id)")
            self._local.db = db
        return db

    def add(self, sealed: SealedBid) -> None:
        """Keep ``sealed`` durably (synced before this returns); refuse to replace another bid's salt."""
        row = tuple(asdict(sealed)[c] for c in self._COLUMNS)
        try:
            self._db().execute(f"INSERT INTO sealed ({', '.join(self._COLUMNS)}) VALUES ({', '.join('?' * 8)})", row)
        except sqlite3.IntegrityError:
            if self.get(sealed.bid_id) != sealed:
                raise AlreadySealed(f"bid {sealed.bid_id} is already sealed by this organisation") from None

    def get(self, bid_id: str) -> SealedBid | None:
        row = self._db().execute(f"SELECT {', '.join(self._COLUMNS)} FROM sealed WHERE bid_id = ?",
                                 (bid_id,)).fetchone()
        return None if row is None else SealedBid(*row)

    def of_market(self, market_id: str) -> list[SealedBid]:
        rows = self._db().execute(f"SELECT {', '.join(self._COLUMNS)} FROM sealed WHERE market_id = ? "
                                  "ORDER BY bid_id", (market_id,)).fetchall()
        return [SealedBid(*row) for row in rows]


class MarketModes:
    """Whether a market is sealed, asked of the ledger once per market once its gate has opened.

    Why a cache is safe there: the DSO can change ``sealed`` only before the gate opens (``UpdateMarket``),
    so from then on the answer is fixed; before that every bid asks again (and is refused anyway). Asking
    per bid cost one more chaincode execution per bid on the organisation's own peer.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._known: dict[str, bool] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def known(self, market_id: str) -> bool | None:
        """Whether the market is sealed, if that is settled and was asked before (no I/O); else None."""
        return self._known.get(market_id)

    def is_sealed(self, evaluate: Door, market_id: str) -> bool:
        with self._lock:
            if market_id in self._known:
                return self._known[market_id]
        market = read_market(evaluate, market_id)
        sealed = bool(market and market.sealed)
        opens_ms = market.gate_opens_ms if market else None
        if isinstance(opens_ms, int) and opens_ms <= self._clock() * 1000:
            with self._lock:
                self._known[market_id] = sealed
        return sealed


def read_market(evaluate: Door, market_id: str) -> Market | None:
    """The market record from the caller's own organisation's peer; None for a market the chaincode does not know."""
    from gateway.errors import EvaluateError

    try:
        market = json.loads(evaluate("ReadMarket", market_id))
    except EvaluateError as exc:
        if (exc.chaincode_message or "").startswith("marketId:"):
            return None
        raise
    return Market.model_validate(market) if isinstance(market, dict) else None


def market_is_sealed(evaluate: Door, market_id: str) -> bool:
    """Whether the market takes sealed bids, asked of the caller's own organisation's peer only.

    A market the chaincode does not know is not sealed: the bid then goes to ``PlaceBid``, which refuses it
    naming ``bid.market_id``.
    """
    market = read_market(evaluate, market_id)
    return bool(market and market.sealed)


def place_bid(submit: Door, evaluate: Door, store: SealedBidStore, bid: BidDocument, user: str,
              modes: MarketModes | None = None) -> Bid:
    """Commit ``bid`` sealed if its market is sealed (its content stays in ``store``), else place it openly."""
    market_id = str(bid.market_id)
    sealed = modes.is_sealed(evaluate, market_id) if modes is not None else market_is_sealed(evaluate, market_id)
    if sealed:
        return commit_bid(submit, store, bid, user)
    return Bid.model_validate_json(submit("PlaceBid", bid.text))


def commit_bid(submit: Door, store: SealedBidStore, bid: BidDocument, user: str) -> Bid:
    """Seal ``bid``, keep it, then submit only its commitment (``CommitBid``); returns the ledger record."""
    sealed = seal(bid, user)
    store.add(sealed)
    doc = {"id": sealed.bid_id, "market_id": sealed.market_id, "device": sealed.device,
           "commitment": sealed.commitment}
    return Bid.model_validate_json(submit("CommitBid", json.dumps(doc, sort_keys=True, separators=(",", ":"))))


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

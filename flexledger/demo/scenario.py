"""A full market day, done as the real users would do it: every step is a REST call to the gateway of
the organisation whose user acts, signed with that user's own Fabric identity.

DSO: publishes the feeder, the day's baseline and capacity limits, opens and clears markets.
Settlement (DSO org): deposits funds and settles. Aggregators: enrol their users, register devices,
enrol in markets and bid. Auditor: re-verifies every cleared market from the ledger alone.

Every market is sealed: while the gate is open the ledger holds only each bid's salted hash (the
aggregator's gateway keeps the bid), after gate closure each aggregator reveals its bids in one call and
the DSO clears exactly the committed bids.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flexledger.demo import data as demo_data
from flexledger.demo.api import ApiError, OrgApi
from flexledger.demo.wholesale import WholesaleDay, WholesaleOutcome

Progress = Callable[[str], None]

#: Funds deposited at the start of the day, in cents.
DEPOSITS_CENTS = {"dsoMSP": 5_000_000, "agg1MSP": 500_000, "agg2MSP": 500_000}
FLEX_BUDGET_CENTS = 2_000_000
#: Seconds after gate closure in which bids may be revealed; the DSO clears as soon as all are revealed.
REVEAL_SECONDS = 120
SEALED = {"sealed": True, "reveal_seconds": REVEAL_SECONDS}


@dataclass
class MarketOutcome:
    market_id: str
    kind: str
    rule: str
    clearing: dict[str, Any]
    result: dict[str, Any]
    verification: dict[str, Any]
    bids: list[dict[str, Any]]
    clearing_input: dict[str, Any]
    committed: dict[str, Any]  # the clearing transaction as committed: validation code, endorsing MSPs


@dataclass
class DayOutcome:
    day: str
    run_id: str
    data: demo_data.DayData
    markets: list[MarketOutcome] = field(default_factory=list)
    balances_before: dict[str, dict[str, int]] = field(default_factory=dict)
    balances_after: dict[str, dict[str, int]] = field(default_factory=dict)
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    wholesale: WholesaleOutcome | None = None  # after the local markets (balances_after excludes it)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class MarketDay:
    """Runs the day through the gateways at ``urls`` (org → URL) with the org admins' tokens."""

    def __init__(self, admins: dict[str, OrgApi], progress: Progress = print, gate_seconds: float = 8.0,
                 drop: Path | None = None) -> None:
        self.admins = admins
        #: the file drop shared with the (local) exchange and TSO platform
        self.drop = drop or Path(tempfile.mkdtemp(prefix="flexledger-drop-"))
        self.progress = progress
        self.gate_seconds = gate_seconds
        self.run_id = dt.datetime.now(dt.UTC).strftime("%H%M%S")
        self.day = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).strftime("%Y-%m-%d")

    # ---- users --------------------------------------------------------------------------
    def _users(self) -> None:
        self.progress("each organisation's admin enrols its users at the org's Fabric CA (through its gateway)")
        self.dso = self.admins["dso"].as_user("dana", "dso")
        self.settlement = self.admins["dso"].as_user("sam", "settlement")
        self.traders = {a: self.admins[a].as_user(f"trader-{a}", "aggregator") for a in demo_data.AGGREGATORS}
        self.auditor = self.admins["auditor"].as_user("audrey", "auditor")

    # ---- helpers ------------------------------------------------------------------------
    def _gate(self, bids_per_trader: int = 3) -> tuple[str, str, float]:
        """Gate times for a market opening now, long enough for every trader's bids (about 1 s each)."""
        now = dt.datetime.now(dt.UTC)
        closes = now + dt.timedelta(seconds=max(self.gate_seconds, 4 + 1.2 * bids_per_trader))
        return _iso(now - dt.timedelta(seconds=1)), _iso(closes), closes.timestamp()

    def _wait_gate(self, closes_at: float, market_id: str) -> None:
        wait = closes_at - time.time() + 0.5
        if wait > 0:
            self.progress(f"  waiting {wait:.1f} s for the gate of {market_id} to close")
            time.sleep(wait)

    def _balances(self) -> dict[str, dict[str, int]]:
        out = {}
        for msp in DEPOSITS_CENTS:
            out[msp] = self.auditor.get(f"/audit/participants/{msp}")["balance"]
        return out

    def _bid_all(self, bids: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
        """Each aggregator submits its bids concurrently, as independent traders would."""

        def place(agg: str) -> list[dict[str, Any]]:
            return [self.traders[agg].post("/bids", bid) for bid in bids[agg]]

        with ThreadPoolExecutor(max_workers=len(bids)) as pool:
            placed = [b for group in pool.map(place, bids) for b in group]
        market_id = placed[0]["market_id"]
        seen = self.dso.items(f"/markets/{market_id}/bids")
        hidden = sum(1 for b in seen if b["status"] == "sealed" and "price_eur_per_mwh" not in b
                     and "products" not in b)  # fmt: skip
        self.progress(f"  {len(placed)} sealed bids committed: the ledger holds salted hashes only "
                      f"(the DSO sees {hidden} of {len(seen)} bids without price or quantity)")
        return placed

    def _reveal(self, market_id: str) -> list[dict[str, Any]]:
        """After gate closure each aggregator reveals its sealed bids; the revealed bids, as on the ledger."""
        for agg in demo_data.AGGREGATORS:
            out = self.traders[agg].post(f"/markets/{market_id}/reveal")
            if out["not_revealed"]:
                raise RuntimeError(f"{agg} could not reveal {out['not_revealed']}")
        revealed = [b for b in self.dso.items(f"/markets/{market_id}/bids") if b.get("seal")]
        self.progress(f"  aggregators revealed {len(revealed)} bids, each checked against its commitment")
        return revealed

    def _clear_settle_verify(self, market_id: str, kind: str, rule: str, bids: list[dict[str, Any]]) -> MarketOutcome:
        self.progress(f"  DSO clears {market_id}: the oracle runs on every endorsing peer")
        clearing = self.dso.post(f"/markets/{market_id}/clear")
        self.progress(f"  cleared, result hash {clearing.get('result_hash', '')[:16]}...; settlement moves the funds")
        self.settlement.post(f"/markets/{market_id}/settle")
        stored = self.auditor.get(f"/audit/markets/{market_id}")
        verification = self.auditor.post(f"/audit/markets/{market_id}/verify")
        mark = "matches" if verification["matches"] else "DOES NOT MATCH"
        sealed = verification.get("commitments") or {}
        seals = (f"{sealed.get('revealed')} revealed bids match their commitments" if sealed.get("verified")
                 else f"COMMITMENTS DO NOT VERIFY: {sealed.get('problems')}")
        self.progress(f"  auditor re-ran the oracle on the stored input: hash {mark}; {seals}")
        ac = verification.get("ac_check")
        if ac is not None:
            self.progress("  auditor's AC power flow of the dispatch: "
                          + ("no AC limit violated" if ac.get("ok") else "AC LIMITS VIOLATED (see summary)"))
        return MarketOutcome(market_id, kind, rule, clearing, stored["result"], verification, bids, stored["input"],
                             stored.get("committed", {}))  # fmt: skip

    # ---- the day ------------------------------------------------------------------------
    def run(self) -> DayOutcome:
        self._users()
        data = demo_data.build(self.day)
        outcome = DayOutcome(self.day, self.run_id, data)

        self.progress(f"DSO publishes the 15-node feeder ({len(data.feeders)} trading zones) and the baseline of {self.day}")
        self.dso.put("/network", {"network": data.network, "feeders": data.feeders})
        self.dso.put("/baseline", data.baseline)

        self.progress("aggregators register their devices (the FLEXGRID suppliers and EV charging hubs)")
        self._register_devices(data)
        outcome.devices = {d["id"]: d for a in demo_data.AGGREGATORS
                           for d in data.devices[a] + data.capacity_devices[a]}  # fmt: skip

        self.progress("settlement deposits funds")
        for msp, cents in DEPOSITS_CENTS.items():
            self.settlement.post("/funds/deposit", {"participant": msp, "amount_cents": cents})
        outcome.balances_before = self._balances()

        outcome.markets.append(self._capacity_day_ahead(data))
        outcome.markets.append(self._capacity_intraday(data, outcome.markets[-1].market_id))
        wholesale = WholesaleDay(self, self.drop)
        wholesale.consent(data)
        outcome.markets.append(self._flexibility(data))
        outcome.balances_after = self._balances()
        outcome.wholesale = wholesale.run(data)
        return outcome

    def _register_devices(self, data: demo_data.DayData) -> None:
        def register(agg: str) -> int:
            count = 0
            for device in data.devices[agg] + data.capacity_devices[agg]:
                body = {k: v for k, v in device.items() if v is not None}
                try:
                    self.traders[agg].post("/devices", body)
                    count += 1
                except ApiError as exc:
                    if exc.status != 409:  # already registered by an earlier run: keep it
                        raise
            return count

        with ThreadPoolExecutor(max_workers=2) as pool:
            counts = list(pool.map(register, demo_data.AGGREGATORS))
        self.progress(f"  {sum(counts)} new devices registered")

    def _capacity_market(self, market_id: str, kind: str, rule: str, extra: dict[str, Any]) -> float:
        opens, closes, closes_at = self._gate()
        self.dso.post("/markets", {"id": market_id, "kind": kind, "feeder": "F1", "day": self.day, "rule": rule,
                                   "gate_opens": opens, "gate_closes": closes, "periods": 24,
                                   "period_minutes": 60, "rules": {"price_resolution_eur": 0.01,
                                   "quantity_step_mw": 0.001, "min_quantity_mw": 0.0, "max_quantity_mw": 1.0,
                                   "min_price_eur_per_mwh": 0.0, "max_price_eur_per_mwh": 500.0},
                                   **SEALED, **extra})  # fmt: skip
        for agg in demo_data.AGGREGATORS:
            self.traders[agg].post(f"/markets/{market_id}/enrolment")
        return closes_at

    def _capacity_day_ahead(self, data: demo_data.DayData) -> MarketOutcome:
        market_id = f"cap-da-{self.run_id}"
        self.progress(f"capacity day-ahead market {market_id}: premium capacity, pay as bid, feeder F1")
        closes_at = self._capacity_market(market_id, "capacity_day_ahead", "premium_capacity",
                                          {"pricing": "pay_as_bid"})  # fmt: skip
        self.dso.put("/capacity-limits", {"market_id": market_id, "limits": demo_data.capacity_limits(data, 24)})
        self._bid_all(demo_data.capacity_bids(data, market_id))
        self._wait_gate(closes_at, market_id)
        bids = self._reveal(market_id)
        return self._clear_settle_verify(market_id, "capacity_day_ahead", "premium_capacity", bids)

    def _capacity_intraday(self, data: demo_data.DayData, day_ahead_id: str) -> MarketOutcome:
        market_id = f"cap-id-{self.run_id}"
        self.progress(f"capacity intraday market {market_id}: social equity, first come first served, on what "
                      "the day-ahead market left")  # fmt: skip
        closes_at = self._capacity_market(market_id, "capacity_intraday", "social_equity", {"priority": "fcfs"})
        self.dso.put("/capacity-limits", {"market_id": market_id, "from_day_ahead": day_ahead_id})
        bids = demo_data.capacity_bids(data, market_id)
        for agg in bids:  # intraday top-ups later in the evening, where the day-ahead market left capacity
            for bid in bids[agg]:
                bid.update(periods=[20, 21], quantity_mw=0.02, divisible=True, min_mw=0.01, price_eur_per_mwh=0.0)
        self._bid_all(bids)
        self._wait_gate(closes_at, market_id)
        return self._clear_settle_verify(market_id, "capacity_intraday", "social_equity", self._reveal(market_id))

    def _flexibility(self, data: demo_data.DayData) -> MarketOutcome:
        market_id = f"flex-{self.run_id}"
        self.progress(f"DSO requests flexibility ({market_id}, budget {FLEX_BUDGET_CENTS / 100:.0f} EUR, VCG)")
        opens, closes, closes_at = self._gate(max(len(o) for o in data.flex_offers.values()))
        self.dso.post("/flexibility-requests", {"id": market_id, "day": self.day, "gate_opens": opens,
                                                "gate_closes": closes, "budget_cents": FLEX_BUDGET_CENTS,
                                                **SEALED})  # fmt: skip
        for agg in demo_data.AGGREGATORS:
            self.traders[agg].post(f"/markets/{market_id}/enrolment")
        bids = {agg: [{"id": f"{market_id}-{o['device']}", "market_id": market_id, **o}
                      for o in data.flex_offers[agg]] for agg in demo_data.AGGREGATORS}  # fmt: skip
        self._bid_all(bids)
        self._wait_gate(closes_at, market_id)
        return self._clear_settle_verify(market_id, "flexibility", "vcg", self._reveal(market_id))

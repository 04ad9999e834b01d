"""The demo's wholesale steps: a spot session with a local exchange, and mFRR for the TSO.

Before the local flexibility market clears, each aggregator lets one device's undispatched flexibility go
to the TSO (DSO-TSO coordination). After the local markets: the aggregators offer their devices to the
day-ahead exchange, the DSO's network check decides what may leave, the book goes to a local exchange
through the file-drop adapter, its signed result comes back the same way and is validated and settled on
the ledger; the TSO's platform then activates one forwarded mFRR bid, the DSO records a delivery that
falls short, and settlement pays for what was delivered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.documents import ExchangeKey
from adapters.drop import FileExchange, FileTso
from adapters.fakes import FakeExchange, FakeTsoPlatform
from adapters.relay import open_bids as relay_open
from adapters.relay import tso_bid
from contract.wholesale import MfrrBid
from flexledger.demo import data as demo_data
from flexledger.demo.api import OrgApi

EXCHANGE = "LOCALEX"
#: Share of an activation the demo's device delivers (the rest is visible to the auditor as non-delivery).
DELIVERED_SHARE = 0.8


@dataclass
class WholesaleOutcome:
    session: dict[str, Any] = field(default_factory=dict)
    settlement: dict[str, Any] = field(default_factory=dict)
    mfrr_bids: list[dict[str, Any]] = field(default_factory=list)
    activations: list[dict[str, Any]] = field(default_factory=list)
    total_before_cents: int = 0
    total_after_cents: int = 0
    #: what crossed the boundary through the exchange during this day's steps (the ledger keeps the running sum)
    net_in_cents: int = 0

    def lines(self) -> dict[str, str]:
        counts = self.session.get("offer_counts", {})
        checked = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
        traded = sum(t["amount_cents"] for t in self.session.get("trades", []))
        act = self.activations[0] if self.activations else {}
        conserved = self.total_after_cents == self.total_before_cents + self.net_in_cents
        return {
            "\nSpot session (network check)": checked or "no offers",
            "Spot trades (signed by the exchange, validated on the ledger)":
                f"{len(self.session.get('trades', []))} trades, {traded / 100:.2f} EUR",
            "mFRR bids for the TSO": self._bids_line(),
            "mFRR activation": (f"{act['id']}: {act['quantity_mw']:g} MW activated, {act['delivered_mw']:g} "
                                f"delivered, {act['non_delivered_mw']:g} not delivered, paid "
                                f"{act.get('paid_cents', 0) / 100:.2f} EUR") if act else "none",
            "Money across local + wholesale": (f"total {self.total_after_cents} cents = before "
                                               f"{self.total_before_cents} + exchange net "
                                               f"{self.net_in_cents}: "
                                               + ("conserved" if conserved else "NOT CONSERVED")),
        }


    def _bids_line(self) -> str:
        local = sum(1 for b in self.mfrr_bids if b["source"].startswith("local:"))
        out = sum(1 for b in self.mfrr_bids if b["forwarded_mw"])
        mw = sum(b["forwarded_mw"] for b in self.mfrr_bids)
        return (f"{len(self.mfrr_bids)} ({local} from undispatched local flexibility), {out} forwarded after the "
                f"network check, {mw:.3f} MW in all")


class WholesaleDay:
    """The wholesale steps of :class:`flexledger.demo.scenario.MarketDay` (same users, same day)."""

    def __init__(self, day: Any, drop: Path) -> None:
        self.day = day  # the MarketDay: its users, progress, gate helpers
        self.drop = drop
        self.key = ExchangeKey.generate()
        self.tso: OrgApi | None = None

    def consent(self, data: demo_data.DayData) -> None:
        """Each aggregator lets its first device's undispatched local flexibility go to the TSO."""
        self.day.progress("aggregators allow undispatched local flexibility of one device each to go to the TSO")
        for agg in demo_data.AGGREGATORS:
            device = data.flex_offers[agg][0]["device"]
            self.day.traders[agg].put("/mfrr/consents", {"device": device, "allow": True})

    def run(self, data: demo_data.DayData) -> WholesaleOutcome:
        out = WholesaleOutcome()
        before = self.day.auditor.get("/audit/funds")
        out.session, out.settlement = self._spot(data)
        out.mfrr_bids, out.activations = self._mfrr(data)
        after = self.day.auditor.get("/audit/funds")
        out.total_before_cents, out.total_after_cents = before["total_cents"], after["total_cents"]
        out.net_in_cents = after["wholesale"]["net_in_cents"] - before["wholesale"]["net_in_cents"]
        return out

    def _spot(self, data: demo_data.DayData) -> tuple[dict[str, Any], dict[str, Any]]:
        dso, session_id = self.day.dso, f"da-{self.day.run_id}"
        self.day.progress(f"spot session {session_id}: aggregators offer flexibility to the day-ahead exchange")
        dso.put("/spot/exchange-keys", {"exchange": EXCHANGE, "public_key_pem": self.key.public_pem()})
        _, closes, closes_at = self.day._gate(2)
        dso.post("/spot/sessions", {"id": session_id, "day": self.day.day, "venue": "day_ahead",
                                    "exchange": EXCHANGE, "gate_closes": closes})
        periods = data.baseline["periods"]
        for i, agg in enumerate(demo_data.AGGREGATORS):
            device = data.devices[agg][-1]
            side = "sell" if i == 0 else "buy"
            self.day.traders[agg].post("/spot/offers", {
                "id": f"{session_id}-{agg}", "session_id": session_id, "device": device["id"], "side": side,
                "quantity_mw": [device["max_power_mw"]] * periods, "price_eur_per_mwh": 45.0 if side == "sell" else 70.0})
        self.day._wait_gate(closes_at, session_id)
        checked = dso.post(f"/spot/sessions/{session_id}/check")
        self.day.progress(f"  DSO's network check: {checked['offer_counts']}; the book goes to the exchange (file drop)")
        FileExchange(self.drop).send_book(session_id, dso.get(f"/spot/sessions/{session_id}/book"))
        prices = [round(55.0 + 15.0 * math.sin(2 * math.pi * (t - 8) / periods), 2) for t in range(periods)]
        FakeExchange(self.drop, self.key, prices).clear(session_id)
        envelope = FileExchange(self.drop).fetch_results(session_id)
        session = dso.post(f"/spot/sessions/{session_id}/results", envelope)
        self.day.progress(f"  the exchange's signed result is validated on the ledger: {len(session['trades'])} trades")
        settlement = self.day.settlement.post(f"/spot/sessions/{session_id}/settle")
        return session, settlement

    def _mfrr(self, data: demo_data.DayData) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        self.tso = self.tso or self.day.admins["dso"].as_user("tina", "tso")
        day = self.day.day
        agg = demo_data.AGGREGATORS[1]
        device = data.devices[agg][-2]
        self.day.progress("mFRR: an aggregator bids for the TSO; the DSO forwards what passed the network check")
        self.day.traders[agg].post("/mfrr/bids", {
            "id": f"mfrr-{self.day.run_id}", "device": device["id"], "day": day, "period": 18, "direction": "up",
            "quantity_mw": device["max_power_mw"], "price_eur_per_mwh": 120.0})
        bids = self.day.dso.get(f"/mfrr/days/{day}/bids")
        open_bids = [tso_bid(b) for b in relay_open([MfrrBid.model_validate(b) for b in bids])]
        FileTso(self.drop).send_bids(day, [b.model_dump() for b in open_bids])
        if not open_bids:
            return bids, []
        first = open_bids[0]
        requests = FakeTsoPlatform(self.drop).activate(day, {first.id: first.quantity_mw},
                                                       prefix=f"act-{self.day.run_id}")
        activations = []
        for request in requests["activations"]:
            activation = self.tso.post("/mfrr/activations", request)
            delivered = round(activation["quantity_mw"] * DELIVERED_SHARE, 3)
            self.day.dso.post(f"/mfrr/activations/{activation['id']}/delivery", {"delivered_mw": delivered})
            activations.append(self.day.settlement.post(f"/mfrr/activations/{activation['id']}/settle"))
        self.day.progress(f"  the TSO activated {len(activations)} bid(s); delivery and settlement recorded")
        return bids, activations



"""The benchmark's market day: two markets (capacity with escrow, flexibility), aggregators, devices, bids.

Every bid uses a device of its own in its market (one active bid per device and market is a rule of the
contract), so the devices are registered up front, outside the measured phases.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from flexledger.home import profile_path
from gateway import connect_from_profile
from gateway.errors import GatewayError
from gateway.retry import SETTLE_RETRY
from tests.benchmarks.throughput.worker import run
from tests.small_feeder import SMALL_FEEDER, small_baseline

RULES = {"price_resolution_eur": 0.01, "quantity_step_mw": 0.001, "min_quantity_mw": 0.0, "max_quantity_mw": 10.0,
         "min_price_eur_per_mwh": 0.0, "max_price_eur_per_mwh": 1000.0}
#: Each aggregator's deposit: far more than the escrow of every capacity bid it will place (10 cents each).
DEPOSIT_CENTS = 100_000_000


def iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Aggregator:
    org: str
    user: str
    #: unused devices per market id
    free: dict[str, list[str]] = field(default_factory=dict)

    def take(self, market: str) -> str:
        return self.free[market].pop()


@dataclass
class Day:
    capacity_market: str
    flex_market: str
    aggregators: list[Aggregator]

    @property
    def markets(self) -> tuple[str, str]:
        return self.capacity_market, self.flex_market


def _contract(home: Path, org: str, user: str):
    gw = connect_from_profile(profile_path(org, home), user, endorse_retry=SETTLE_RETRY)
    return gw, gw.get_network("flexchannel").get_contract("flexledger")


def _publish_once(contract, read: str, arg: str, publish: str, doc: dict) -> None:
    try:
        contract.evaluate(read, arg)
    except GatewayError:  # none published yet
        contract.submit(publish, json.dumps(doc))


def prepare(home: Path, orgs: list[str], user: str, bids_per_org: int, progress, bid_endorsement: str = "all") -> Day:
    """Markets open for six hours, every aggregator enrolled and funded, ``bids_per_org`` devices each per market.

    ``bid_endorsement`` ``owner``: the markets take owner-endorsed bids (docs/chaincode.md, "Endorsement"); the
    devices are registered before the enrolments, which open their bid slots."""
    day = dt.datetime.now(dt.UTC).date().isoformat()
    now = dt.datetime.now(dt.UTC)
    gate = {"gate_opens": iso(now - dt.timedelta(minutes=1)), "gate_closes": iso(now + dt.timedelta(hours=6))}
    tag = uuid.uuid4().hex[:6]
    cap_id, flex_id = f"bench-cap-{tag}", f"bench-flex-{tag}"
    gw, settlement = _contract(home, "dso", "settlement")
    with gw:
        for org in ["dso", *orgs]:
            settlement.submit("Deposit", f"{org}MSP", str(DEPOSIT_CENTS))
    gw, dso = _contract(home, "dso", "operator")
    with gw:
        _publish_once(dso, "ReadNetwork", "", "PublishNetwork", SMALL_FEEDER)
        _publish_once(dso, "ReadBaseline", day, "PublishBaseline", small_baseline(day))
        dso.submit("CreateMarket", json.dumps({"id": cap_id, "kind": "capacity_day_ahead", "feeder": "F1", "day": day,
                                               "rule": "premium_capacity", "periods": 1, "period_minutes": 60,
                                               "rules": RULES, "bid_endorsement": bid_endorsement, **gate}))
        dso.submit("RequestFlexibility", json.dumps({"id": flex_id, "day": day, "budget_cents": 100_000,
                                                     "bid_endorsement": bid_endorsement, **gate}))
    aggregators = []
    for org in orgs:
        gw, contract = _contract(home, org, user)
        with gw:
            devices = [f"bd-{uuid.uuid4().hex[:12]}" for _ in range(bids_per_org)]
            progress(f"registering {len(devices)} devices of {org} ...")
            result = run([lambda d=d, c=contract: c.submit("RegisterDevice", json.dumps(
                {"id": d, "type": "load", "max_power_mw": 0.05, "node": "3", "feeder": "F1"}))
                for d in devices], 64)
            if result["failures"]:
                raise SystemExit(f"could not register {len(result['failures'])} devices of {org}: "
                                 f"{result['failures'][0]}")
            for market in (cap_id, flex_id):
                contract.submit("EnrolInMarket", market)
        aggregators.append(Aggregator(org, user, {cap_id: list(devices), flex_id: list(devices)}))
    return Day(cap_id, flex_id, aggregators)


def bid(day: Day, aggregator: Aggregator, market: str) -> dict:
    """A valid bid of ``aggregator`` in ``market`` on a device not used there before."""
    device = aggregator.take(market)
    doc = {"id": f"bb-{uuid.uuid4().hex[:14]}", "market_id": market, "device": device}
    if market == day.capacity_market:
        return {**doc, "periods": [0], "quantity_mw": 0.01, "price_eur_per_mwh": 10.0}
    return {**doc, "products": {"p_up": {"price_eur_per_mwh": 10.0, "quantity_mw": [0.01]}}}


def split_bids(day: Day, count: int) -> dict[str, list[dict]]:
    """``count`` bids, alternating over aggregators and markets, grouped by the aggregator that places them."""
    out: dict[str, list[dict]] = {a.org: [] for a in day.aggregators}
    for i in range(count):
        aggregator = day.aggregators[i % len(day.aggregators)]
        market = day.markets[(i // len(day.aggregators)) % 2]
        out[aggregator.org].append(bid(day, aggregator, market))
    return out

"""The FLEXGRID paper's test instance (seed 004, section III-A) as ``flexledger.clearing/1`` documents.

Why a builder rather than a fixed JSON file: the evaluation sweeps the DG penetration and
replaces one supplier's bid at a time, so the instance is assembled from the project's data
files (``experiments/data/feeder15.json`` and ``suppliers_<liquidity>.csv``) on demand. Every
number is rounded the way canonical JSON prints it, so the document's hash is the hash of
what the oracle sees.

Modelling choices (documented in ``docs/experiment.md``):

- DG penetration = nominal DG capacity / peak aggregate load; the capacity is split equally
  between the six units (PV at nodes 2 and 13, wind at 5, 8, 10 and 11).
- DG runs at power factor 0.95 and injects reactive power; loads keep the feeder's Q/P ratio.
- By default the exchange with the transmission grid is fixed to the day-ahead schedule
  (eqs. 14–15 of the paper: the market is reactive to the wholesale dispatch); with the
  linearised, lossless DistFlow that schedule is the baseline's net demand.
- Every supplier is its own owner (``owner`` = supplier id).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from clearing.api import FLEX_SCHEMA as SCHEMA
from clearing.canonical import round_float
from clearing.errors import ValidationError
from clearing.flex.instance import Branch  # the feeder's branches are the clearing model's

DATA_DIR = Path(__file__).resolve().parent / "data"
FEEDER_FILE = DATA_DIR / "feeder15.json"
LIQUIDITIES = ("high", "low")
PRODUCTS = ("p_up", "p_down", "q_up", "q_down")


#: The per-unit base and voltage band of the feeder file, copied as they are into the clearing document.
PER_UNIT_FIELDS = ("base_mva", "v_min_pu", "v_max_pu", "v_slack_pu")


@dataclass(frozen=True)
class Feeder:
    """The test feeder with its daily profiles, as stored in ``feeder15.json``."""

    #: The per-unit base and the voltage band, named as in a clearing document's ``network`` section
    #: (``base_mva``, ``v_min_pu``, ``v_max_pu``, ``v_slack_pu``): the clearing validates them, not this module.
    per_unit: Mapping[str, float]
    slack: str
    nodes: tuple[str, ...]
    branches: tuple[Branch, ...]
    peak_load_mw: Mapping[str, float]
    load_tan_phi: Mapping[str, float]
    dg_kind: Mapping[str, str]
    dg_power_factor: float
    shedding_load_eur_per_mwh: float
    shedding_generation_eur_per_mwh: float
    profiles: Mapping[str, tuple[float, ...]]

    @property
    def periods(self) -> int:
        return len(self.profiles["load"])

    @property
    def peak_aggregate_load_mw(self) -> float:
        """Peak of the summed load: all loads share one profile, so it is Σ peak loads × max(profile)."""
        return sum(self.peak_load_mw.values()) * max(self.profiles["load"])


@dataclass(frozen=True)
class SupplierProduct:
    """One row of a supplier CSV: a supplier's price and hourly quantities for one product."""

    supplier: str
    node: str
    product: str
    price_eur_per_mwh: float
    quantities: tuple[float, ...]


@cache
def load_feeder(path: Path = FEEDER_FILE) -> Feeder:
    """Read the feeder description (cached: the experiment builds hundreds of instances)."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    branches = tuple(
        Branch(b["id"], b["from"], b["to"], b["r_pu"], b["x_pu"], b["p_max_mw"], b["q_max_mvar"])
        for b in raw["branches"]
    )
    peak = {ld["node"]: ld["p_kw"] / 1000.0 for ld in raw["loads"]}
    tan = {ld["node"]: ld["q_kvar"] / ld["p_kw"] for ld in raw["loads"]}
    return Feeder(
        per_unit={name: raw[name] for name in PER_UNIT_FIELDS},
        slack=raw["slack"],
        nodes=tuple(raw["nodes"]),
        branches=branches,
        peak_load_mw=peak,
        load_tan_phi=tan,
        dg_kind={d["node"]: d["kind"] for d in raw["dg"]},
        dg_power_factor=raw["dg_power_factor"],
        shedding_load_eur_per_mwh=raw["shedding_cost"]["load_eur_per_mwh"],
        shedding_generation_eur_per_mwh=raw["shedding_cost"]["generation_eur_per_mwh"],
        profiles={k: tuple(v) for k, v in raw["profiles"].items()},
    )


def suppliers_file(liquidity: str) -> Path:
    """The committed CSV of one liquidity scenario (made by :mod:`experiments.convert_suppliers`)."""
    if liquidity not in LIQUIDITIES:
        raise ValidationError(
            "liquidity", f"unknown liquidity {liquidity!r}; expected one of {', '.join(LIQUIDITIES)}"
        )
    return DATA_DIR / f"suppliers_{liquidity}.csv"


@cache
def load_suppliers(liquidity: str) -> tuple[SupplierProduct, ...]:
    """The suppliers' offers of one liquidity scenario, in file order."""
    with suppliers_file(liquidity).open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = [c for c in (reader.fieldnames or []) if c.startswith("q") and c[1:].isdigit()]
        return tuple(
            SupplierProduct(
                supplier=row["supplier"],
                node=row["node"],
                product=row["product"],
                price_eur_per_mwh=float(row["price_eur_per_mwh"]),
                quantities=tuple(float(row[c]) for c in columns),
            )
            for row in reader
        )


def supplier_offers(liquidity: str) -> list[dict[str, Any]]:
    """Offers of ``flexledger.clearing/1``, one per supplier, each supplier its own owner."""
    by_supplier: dict[str, dict[str, Any]] = {}
    for row in load_suppliers(liquidity):
        offer = by_supplier.setdefault(
            row.supplier, {"id": row.supplier, "owner": row.supplier, "node": row.node, "products": {}}
        )
        if offer["node"] != row.node:
            raise ValidationError(f"suppliers[{row.supplier}].node", "a supplier must sit at one node")
        offer["products"][row.product] = {
            "price_eur_per_mwh": round_float(row.price_eur_per_mwh),
            "quantity_mw": [round_float(q) for q in row.quantities],
        }
    return list(by_supplier.values())


def dg_tan_phi(power_factor: float) -> float:
    """tan(arccos(pf)): reactive power per unit of active power."""
    return math.tan(math.acos(power_factor))


def dg_unit_capacity_mw(feeder: Feeder, dg_penetration: float) -> float:
    """Nominal capacity of each DG unit: penetration × peak aggregate load, split equally."""
    return dg_penetration * feeder.peak_aggregate_load_mw / len(feeder.dg_kind)


def baseline(feeder: Feeder, dg_penetration: float) -> list[dict[str, Any]]:
    """Day-ahead dispatch per node and period: scaled load profile and DG output."""
    unit = dg_unit_capacity_mw(feeder, dg_penetration)
    gen_tan = round_float(dg_tan_phi(feeder.dg_power_factor))
    rows: list[dict[str, Any]] = []
    for node in feeder.nodes:
        peak = feeder.peak_load_mw.get(node, 0.0)
        kind = feeder.dg_kind.get(node)
        if peak == 0.0 and (kind is None or unit == 0.0):
            continue
        for t in range(feeder.periods):
            gen = unit * feeder.profiles[kind][t] if kind else 0.0
            rows.append(
                {
                    "node": node,
                    "period": t,
                    "demand_mw": round_float(peak * feeder.profiles["load"][t]),
                    "generation_mw": round_float(gen),
                    "demand_tan_phi": round_float(feeder.load_tan_phi.get(node, 0.0)),
                    "generation_tan_phi": gen_tan,
                }
            )
    return rows


def scheduled_exchange(rows: Sequence[Mapping[str, Any]], periods: int) -> tuple[list[float], list[float]]:
    """Substation P and Q of the day-ahead schedule: net demand of the baseline (lossless DistFlow)."""
    p = [0.0] * periods
    q = [0.0] * periods
    for r in rows:
        t = r["period"]
        p[t] += r["demand_mw"] - r["generation_mw"]
        q[t] += r["demand_mw"] * r["demand_tan_phi"] - r["generation_mw"] * r["generation_tan_phi"]
    return [round_float(v) for v in p], [round_float(v) for v in q]


def network(feeder: Feeder) -> dict[str, Any]:
    """The ``network`` section of the document."""
    return {
        **feeder.per_unit,
        "nodes": [{"id": n, "slack": True} if n == feeder.slack else {"id": n} for n in feeder.nodes],
        "branches": [b.to_document() for b in feeder.branches],
    }


def paper_instance(
    liquidity: str = "high",
    dg_penetration: float = 1.0,
    offers_override: Sequence[Mapping[str, Any]] | None = None,
    fixed_exchange: bool = True,
) -> dict[str, Any]:
    """The paper's 24-hour market on the 15-node feeder as a ``flexledger.clearing/1`` document.

    ``liquidity`` picks the supplier set (``high``: 30 assets, ``low``: 9); ``dg_penetration``
    is nominal DG capacity over peak aggregate load (1.0 = 100 %); ``offers_override``
    replaces the suppliers' offers (the strategic experiment swaps one bid); with
    ``fixed_exchange`` the substation exchange is fixed to the day-ahead schedule, otherwise free.
    """
    if not isinstance(dg_penetration, int | float) or not math.isfinite(dg_penetration) or dg_penetration < 0:
        raise ValidationError("dg_penetration", f"must be a finite number >= 0, got {dg_penetration!r}")
    feeder = load_feeder()
    offers = supplier_offers(liquidity) if offers_override is None else [dict(o) for o in offers_override]
    rows = baseline(feeder, float(dg_penetration))
    if fixed_exchange:
        p_sub, q_sub = scheduled_exchange(rows, feeder.periods)
        substation: dict[str, Any] = {"p_mw": p_sub, "q_mvar": q_sub}
    else:
        substation = {"p_mw": None, "q_mvar": None}
    return {
        "schema": SCHEMA,
        "periods": feeder.periods,
        "period_minutes": 60,
        "network": network(feeder),
        "baseline": rows,
        "substation": substation,
        "shedding_cost": {
            "load_eur_per_mwh": feeder.shedding_load_eur_per_mwh,
            "generation_eur_per_mwh": feeder.shedding_generation_eur_per_mwh,
        },
        "offers": offers,
    }

"""The canonical instance model of schema ``flexledger.clearing/1`` (see DESIGN, "Clearing oracle contract").

Why a model of its own: every peer must clear *the same* problem. Parsing therefore
validates everything (each refusal names the field, e.g. ``offers[2].node``), keeps every
input number exactly (``-0.0`` becomes ``0.0``; the ``input_hash`` prints them exactly, so the
problem solved is exactly the one it describes, and no impedance loses digits), and sorts
nodes, branches, baseline rows and offers by id (so the order of the document never reaches
the solver).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clearing import canonical
from clearing.api import FLEX_INPUT_OFFER_FIELDS
from clearing.api import FLEX_SCHEMA as SCHEMA
from clearing.errors import ValidationError

#: The four flexibility products, in the fixed order used everywhere (columns, output).
PRODUCTS: tuple[str, ...] = ("p_up", "p_down", "q_up", "q_down")

#: Upper bound on ``periods`` (a leap year of hours): refuses absurd documents early.
MAX_PERIODS = 8784


@dataclass(frozen=True)
class Node:
    """A bus of the feeder; the one ``slack`` bus is the substation, where the voltage is held."""

    id: str
    slack: bool = False  # as in the document, where only the substation says ``"slack": true``


@dataclass(frozen=True)
class Branch:
    """A line from ``from_node`` to ``to_node``; it points away from the slack node."""

    id: str
    from_node: str
    to_node: str
    r_pu: float
    x_pu: float
    p_max_mw: float | None  # None: no limit
    q_max_mvar: float | None

    def to_document(self) -> dict[str, Any]:
        """The branch as the clearing input document writes it (the experiments' feeders too)."""
        return {"id": self.id, "from": self.from_node, "to": self.to_node, "r_pu": self.r_pu, "x_pu": self.x_pu,
                "p_max_mw": self.p_max_mw, "q_max_mvar": self.q_max_mvar}


@dataclass(frozen=True)
class BaselineRow:
    """Day-ahead demand and generation at one node in one period; reactive = tan(phi) x active."""

    node: str
    period: int
    demand_mw: float
    generation_mw: float
    demand_tan_phi: float
    generation_tan_phi: float


@dataclass(frozen=True)
class Product:
    price_eur_per_mwh: float
    quantity_mw: tuple[float, ...]  # one per period (MVAr for q_* products)


@dataclass(frozen=True)
class Offer:
    id: str
    owner: str
    node: str
    products: Mapping[str, Product]  # keys in PRODUCTS order


@dataclass(frozen=True)
class FlexInstance:
    """A validated, normalised flexibility-market instance (all sequences sorted by id)."""

    periods: int
    period_minutes: int
    base_mva: float
    v_min_pu: float
    v_max_pu: float
    v_slack_pu: float
    nodes: tuple[Node, ...]
    branches: tuple[Branch, ...]
    baseline: tuple[BaselineRow, ...]
    substation_p_mw: tuple[float, ...] | None
    substation_q_mvar: tuple[float, ...] | None
    load_shedding_eur_per_mwh: float
    generation_shedding_eur_per_mwh: float
    offers: tuple[Offer, ...]

    @property
    def hours(self) -> float:
        """Length of one period in hours (cost = price x MW x hours)."""
        return self.period_minutes / 60.0

    @property
    def slack(self) -> str:
        return next(n.id for n in self.nodes if n.slack)

    @property
    def owners(self) -> tuple[str, ...]:
        return tuple(sorted({o.owner for o in self.offers}))

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> FlexInstance:
        """Validate a ``flexledger.clearing/1`` document; raise :class:`ValidationError` naming the field."""
        return _parse(doc)

    def to_document(self) -> dict[str, Any]:
        """The canonical normalised document (sorted, defaults filled, numbers rounded)."""
        return {
            "schema": SCHEMA,
            "periods": self.periods,
            "period_minutes": self.period_minutes,
            "network": {
                "base_mva": self.base_mva,
                "v_min_pu": self.v_min_pu,
                "v_max_pu": self.v_max_pu,
                "v_slack_pu": self.v_slack_pu,
                "nodes": [{"id": n.id, "slack": n.slack} for n in self.nodes],
                "branches": [b.to_document() for b in self.branches],
            },
            "baseline": [
                {
                    "node": r.node,
                    "period": r.period,
                    "demand_mw": r.demand_mw,
                    "generation_mw": r.generation_mw,
                    "demand_tan_phi": r.demand_tan_phi,
                    "generation_tan_phi": r.generation_tan_phi,
                }
                for r in self.baseline
            ],
            "substation": {
                "p_mw": list(self.substation_p_mw) if self.substation_p_mw is not None else None,
                "q_mvar": list(self.substation_q_mvar) if self.substation_q_mvar is not None else None,
            },
            "shedding_cost": {
                "load_eur_per_mwh": self.load_shedding_eur_per_mwh,
                "generation_eur_per_mwh": self.generation_shedding_eur_per_mwh,
            },
            "offers": [
                {
                    "id": o.id,
                    "owner": o.owner,
                    "node": o.node,
                    "products": {
                        k: {"price_eur_per_mwh": p.price_eur_per_mwh, "quantity_mw": list(p.quantity_mw)}
                        for k, p in o.products.items()
                    },
                }
                for o in self.offers
            ],
        }

    def input_hash(self) -> str:
        """sha256 of the canonical bytes of :meth:`to_document`: independent of order and key layout."""
        return canonical.hash_of(self.to_document(), canonical.EXACT)


# --------------------------------------------------------------------------- parsing helpers


def _mapping(value: Any, field: str, keys: set[str], required: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(field, "must be an object")
    unknown = sorted(set(value) - keys)
    if unknown:
        raise ValidationError(f"{field}.{unknown[0]}" if field != "$" else unknown[0], "unknown field")
    for key in sorted(required):
        if key not in value:
            raise ValidationError(f"{field}.{key}" if field != "$" else key, "is required")
    return value


def _list(value: Any, field: str) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        raise ValidationError(field, "must be a list")
    return value


def _number(value: Any, field: str, *, minimum: float | None = None, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(field, f"must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValidationError(field, "must be finite")
    if positive and value <= 0:
        raise ValidationError(field, f"must be positive, got {value}")
    if minimum is not None and value < minimum:
        raise ValidationError(field, f"must not be negative, got {value}" if minimum == 0 else f"must be >= {minimum}")
    return _exact(float(value))


def _integer(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, f"must be an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValidationError(field, f"must be between {low} and {high}, got {value}")
    return value


def _ident(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "must be a non-empty string")
    return value


def _exact(value: float) -> float:
    """The input number as given (canonical.EXACT prints it without loss); ``+ 0.0`` turns ``-0.0`` into ``0.0``."""
    return value + 0.0


def _series(value: Any, field: str, periods: int, *, minimum: float | None) -> tuple[float, ...]:
    items = _list(value, field)
    if len(items) != periods:
        raise ValidationError(field, f"must have one value per period: expected {periods}, got {len(items)}")
    if all(type(v) is float or type(v) is int for v in items):  # fast path: plain numbers (not bool)
        values = [float(v) for v in items]
        if all(math.isfinite(v) for v in values) and (minimum is None or min(values) >= minimum):
            return tuple(_exact(v) for v in values)
    return tuple(_number(v, f"{field}[{i}]", minimum=minimum) for i, v in enumerate(items))


# --------------------------------------------------------------------------- the parser


def _parse(doc: Mapping[str, Any]) -> FlexInstance:
    top = {"schema", "periods", "period_minutes", "network", "baseline", "substation", "shedding_cost", "offers"}
    _mapping(doc, "$", top, top - {"substation", "baseline"})
    if doc["schema"] != SCHEMA:
        raise ValidationError("schema", f"expected {SCHEMA!r}, got {doc['schema']!r}")
    periods = _integer(doc["periods"], "periods", 1, MAX_PERIODS)
    period_minutes = _integer(doc["period_minutes"], "period_minutes", 1, 24 * 60)

    net_keys = {"base_mva", "v_min_pu", "v_max_pu", "v_slack_pu", "nodes", "branches"}
    net = _mapping(doc["network"], "network", net_keys, net_keys)
    base_mva = _number(net["base_mva"], "network.base_mva", positive=True)
    v_min = _number(net["v_min_pu"], "network.v_min_pu", positive=True)
    v_max = _number(net["v_max_pu"], "network.v_max_pu", positive=True)
    v_slack = _number(net["v_slack_pu"], "network.v_slack_pu", positive=True)
    if v_min > v_max:
        raise ValidationError("network.v_min_pu", f"must not exceed v_max_pu ({v_min} > {v_max})")
    if not v_min <= v_slack <= v_max:
        raise ValidationError("network.v_slack_pu", f"must lie within [v_min_pu, v_max_pu], got {v_slack}")

    nodes = _parse_nodes(net["nodes"])
    node_ids = {n.id for n in nodes}
    in_order = _parse_branches(net["branches"], node_ids)
    _check_radial(nodes, in_order)
    branches = tuple(sorted(in_order, key=lambda b: b.id))

    baseline = _parse_baseline(doc.get("baseline", []), node_ids, periods)

    sub = _mapping(doc.get("substation", {}), "substation", {"p_mw", "q_mvar"}, set())
    sub_p = sub.get("p_mw")
    sub_q = sub.get("q_mvar")
    sub_p = None if sub_p is None else _series(sub_p, "substation.p_mw", periods, minimum=None)
    sub_q = None if sub_q is None else _series(sub_q, "substation.q_mvar", periods, minimum=None)

    shed_keys = {"load_eur_per_mwh", "generation_eur_per_mwh"}
    shed = _mapping(doc["shedding_cost"], "shedding_cost", shed_keys, shed_keys)
    c_load = _number(shed["load_eur_per_mwh"], "shedding_cost.load_eur_per_mwh", minimum=0)
    c_gen = _number(shed["generation_eur_per_mwh"], "shedding_cost.generation_eur_per_mwh", minimum=0)

    offers = _parse_offers(doc["offers"], node_ids, periods)

    return FlexInstance(
        periods=periods,
        period_minutes=period_minutes,
        base_mva=base_mva,
        v_min_pu=v_min,
        v_max_pu=v_max,
        v_slack_pu=v_slack,
        nodes=nodes,
        branches=branches,
        baseline=baseline,
        substation_p_mw=sub_p,
        substation_q_mvar=sub_q,
        load_shedding_eur_per_mwh=c_load,
        generation_shedding_eur_per_mwh=c_gen,
        offers=offers,
    )


def _parse_nodes(value: Any) -> tuple[Node, ...]:
    items = _list(value, "network.nodes")
    if not items:
        raise ValidationError("network.nodes", "must list at least one node")
    seen: dict[str, int] = {}
    nodes = []
    for i, item in enumerate(items):
        field = f"network.nodes[{i}]"
        _mapping(item, field, {"id", "slack"}, {"id"})
        node_id = _ident(item["id"], f"{field}.id")
        if node_id in seen:
            raise ValidationError(f"{field}.id", f"duplicate node id {node_id!r} (also network.nodes[{seen[node_id]}])")
        seen[node_id] = i
        slack = item.get("slack", False)
        if not isinstance(slack, bool):
            raise ValidationError(f"{field}.slack", "must be true or false")
        nodes.append(Node(node_id, slack))
    slacks = [n.id for n in nodes if n.slack]
    if len(slacks) != 1:
        raise ValidationError("network.nodes", f"exactly one node must have slack: true, found {len(slacks)}")
    return tuple(sorted(nodes, key=lambda n: n.id))


def _parse_branches(value: Any, node_ids: set[str]) -> tuple[Branch, ...]:
    items = _list(value, "network.branches")
    keys = {"id", "from", "to", "r_pu", "x_pu", "p_max_mw", "q_max_mvar"}
    seen: dict[str, int] = {}
    branches = []
    for i, item in enumerate(items):
        field = f"network.branches[{i}]"
        _mapping(item, field, keys, {"id", "from", "to", "r_pu", "x_pu"})
        branch_id = _ident(item["id"], f"{field}.id")
        if branch_id in seen:
            raise ValidationError(
                f"{field}.id", f"duplicate branch id {branch_id!r} (also network.branches[{seen[branch_id]}])"
            )
        seen[branch_id] = i
        ends = []
        for end in ("from", "to"):
            node = _ident(item[end], f"{field}.{end}")
            if node not in node_ids:
                raise ValidationError(f"{field}.{end}", f"unknown node {node!r}")
            ends.append(node)
        if ends[0] == ends[1]:
            raise ValidationError(f"{field}.to", f"a branch cannot connect node {ends[0]!r} to itself")
        limits = []
        for key in ("p_max_mw", "q_max_mvar"):
            raw = item.get(key)
            limits.append(None if raw is None else _number(raw, f"{field}.{key}", minimum=0))
        branches.append(
            Branch(
                id=branch_id,
                from_node=ends[0],
                to_node=ends[1],
                r_pu=_number(item["r_pu"], f"{field}.r_pu", minimum=0),
                x_pu=_number(item["x_pu"], f"{field}.x_pu", minimum=0),
                p_max_mw=limits[0],
                q_max_mvar=limits[1],
            )
        )
    return tuple(branches)


def _check_radial(nodes: tuple[Node, ...], branches: tuple[Branch, ...]) -> None:
    """A radial feeder: a tree spanning all nodes, every branch pointing away from the slack node."""
    slack = next(n.id for n in nodes if n.slack)
    incoming: dict[str, str] = {}
    for i, b in enumerate(branches):
        if b.to_node == slack:
            raise ValidationError(
                f"network.branches[{i}].to", "points into the slack node; branches must point away from it"
            )
        if b.to_node in incoming:
            raise ValidationError(
                f"network.branches[{i}].to",
                f"not radial: node {b.to_node!r} is fed by two branches ({incoming[b.to_node]!r} and {b.id!r})",
            )
        incoming[b.to_node] = b.id
    children: dict[str, list[str]] = {}
    for b in branches:
        children.setdefault(b.from_node, []).append(b.to_node)
    reached = {slack}
    stack = [slack]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in reached:
                reached.add(child)
                stack.append(child)
    missing = sorted(n.id for n in nodes if n.id not in reached)
    if missing:
        raise ValidationError(
            "network.branches",
            f"disconnected or not radial: node {missing[0]!r} cannot be reached from the slack node {slack!r} "
            "along branches pointing away from it",
        )


def _parse_baseline(value: Any, node_ids: set[str], periods: int) -> tuple[BaselineRow, ...]:
    items = _list(value, "baseline")
    keys = {"node", "period", "demand_mw", "generation_mw", "demand_tan_phi", "generation_tan_phi"}
    seen: dict[tuple[str, int], int] = {}
    rows = []
    for i, item in enumerate(items):
        field = f"baseline[{i}]"
        _mapping(item, field, keys, {"node", "period"})
        node = _ident(item["node"], f"{field}.node")
        if node not in node_ids:
            raise ValidationError(f"{field}.node", f"unknown node {node!r}")
        period = _integer(item["period"], f"{field}.period", 0, periods - 1)
        if (node, period) in seen:
            raise ValidationError(
                field, f"duplicate row for node {node!r} period {period} (also baseline[{seen[node, period]}])"
            )
        seen[node, period] = i
        rows.append(
            BaselineRow(
                node=node,
                period=period,
                demand_mw=_number(item.get("demand_mw", 0.0), f"{field}.demand_mw", minimum=0),
                generation_mw=_number(item.get("generation_mw", 0.0), f"{field}.generation_mw", minimum=0),
                demand_tan_phi=_number(item.get("demand_tan_phi", 0.0), f"{field}.demand_tan_phi"),
                generation_tan_phi=_number(item.get("generation_tan_phi", 0.0), f"{field}.generation_tan_phi"),
            )
        )
    return tuple(sorted(rows, key=lambda r: (r.node, r.period)))


def _parse_offers(value: Any, node_ids: set[str], periods: int) -> tuple[Offer, ...]:
    items = _list(value, "offers")
    seen: dict[str, int] = {}
    offers = []
    for i, item in enumerate(items):
        field = f"offers[{i}]"
        _mapping(item, field, set(FLEX_INPUT_OFFER_FIELDS), set(FLEX_INPUT_OFFER_FIELDS))
        offer_id = _ident(item["id"], f"{field}.id")
        if offer_id in seen:
            raise ValidationError(f"{field}.id", f"duplicate offer id {offer_id!r} (also offers[{seen[offer_id]}])")
        seen[offer_id] = i
        owner = _ident(item["owner"], f"{field}.owner")
        node = _ident(item["node"], f"{field}.node")
        if node not in node_ids:
            raise ValidationError(f"{field}.node", f"unknown node {node!r}")
        raw = item["products"]
        if not isinstance(raw, Mapping):
            raise ValidationError(f"{field}.products", "must be an object")
        if not raw:
            raise ValidationError(f"{field}.products", f"must offer at least one of {', '.join(PRODUCTS)}")
        for key in sorted(raw):
            if key not in PRODUCTS:
                raise ValidationError(f"{field}.products.{key}", f"unknown product; expected one of {', '.join(PRODUCTS)}")
        products = {}
        for key in PRODUCTS:
            if key not in raw:
                continue
            pfield = f"{field}.products.{key}"
            spec = _mapping(raw[key], pfield, {"price_eur_per_mwh", "quantity_mw"}, {"price_eur_per_mwh", "quantity_mw"})
            products[key] = Product(
                price_eur_per_mwh=_number(spec["price_eur_per_mwh"], f"{pfield}.price_eur_per_mwh", minimum=0),
                quantity_mw=_series(spec["quantity_mw"], f"{pfield}.quantity_mw", periods, minimum=0),
            )
        offers.append(Offer(id=offer_id, owner=owner, node=node, products=products))
    return tuple(sorted(offers, key=lambda o: o.id))

"""What the demo shows a person: pandas tables of the day and PNG plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from clearing.flex import FlexInstance  # noqa: E402
from clearing.flex.powerflow import schedule_voltages  # noqa: E402
from flexledger.demo.scenario import DayOutcome, MarketOutcome  # noqa: E402

PRODUCT_SIGN = {"p_up": 1.0, "p_down": -1.0}


def awards_table(outcome: DayOutcome) -> pd.DataFrame:
    """Capacity awards per bid, beside what was asked."""
    rows = []
    for m in outcome.markets:
        if m.kind == "flexibility":
            continue
        awards = m.result.get("awards_mw", {})
        for bid in m.bids:
            rows.append({"market": m.market_id, "rule": m.rule, "bid": bid["id"], "owner": bid["owner"],
                         "asked_mw": bid["quantity_mw"], "awarded_mw": awards.get(bid["id"], 0.0),
                         "price_eur_per_mwh": bid["price_eur_per_mwh"]})  # fmt: skip
    return pd.DataFrame(rows)


def payments_table(outcome: DayOutcome) -> pd.DataFrame:
    """Payments against declared costs per owner and market (flexibility: VCG utility = payment - cost)."""
    rows = []
    for m in outcome.markets:
        payments = m.result.get("payments_eur", {})
        costs = m.result.get("costs_eur", {})
        for owner in sorted(set(payments) | set(costs)):
            pay, cost = payments.get(owner, 0.0), costs.get(owner)
            rows.append({"market": m.market_id, "owner": owner, "payment_eur": pay,
                         "declared_cost_eur": cost, "utility_eur": None if cost is None else pay - cost})  # fmt: skip
    return pd.DataFrame(rows)


def balances_table(outcome: DayOutcome) -> pd.DataFrame:
    rows = []
    for msp in sorted(outcome.balances_after):
        before, after = outcome.balances_before[msp], outcome.balances_after[msp]
        rows.append({"participant": msp,
                     "before_eur": (before["available_cents"] + before["escrow_cents"]) / 100,
                     "after_eur": (after["available_cents"] + after["escrow_cents"]) / 100,
                     "escrow_after_eur": after["escrow_cents"] / 100})  # fmt: skip
    table = pd.DataFrame(rows)
    table["change_eur"] = table["after_eur"] - table["before_eur"]
    return table


def markets_table(outcome: DayOutcome) -> pd.DataFrame:
    rows = []
    for m in outcome.markets:
        rows.append({"market": m.market_id, "kind": m.kind, "rule": m.rule, "bids": len(m.bids),
                     "result_hash": m.clearing.get("result_hash", "")[:16] + "...",
                     "endorsed_by": ", ".join(m.committed.get("endorsed_by", [])),
                     "auditor_verified": m.verification.get("matches"),
                     "sealed_bids_verified": (m.verification.get("commitments") or {}).get("verified")})  # fmt: skip
    return pd.DataFrame(rows)


def flexibility_market(outcome: DayOutcome) -> MarketOutcome | None:
    return next((m for m in outcome.markets if m.kind == "flexibility"), None)


def _net_injection(outcome: DayOutcome, market: MarketOutcome) -> dict[tuple[str, int], tuple[float, float]]:
    node_of_bid = {b["id"]: outcome.devices[b["device"]]["node"] for b in market.bids}
    injections: dict[tuple[str, int], tuple[float, float]] = {}
    for bid_id, products in market.result.get("dispatch_mw", {}).items():
        node = node_of_bid[bid_id]
        for product, series in products.items():
            sign = -1.0 if product.endswith("_down") else 1.0
            for t, mw in enumerate(series):
                p, q = injections.get((node, t), (0.0, 0.0))
                injections[(node, t)] = (p + sign * mw, q) if product.startswith("p_") else (p, q + sign * mw)
    return injections


def plot_dispatch(outcome: DayOutcome, market: MarketOutcome, path: Path) -> None:
    injections = _net_injection(outcome, market)
    frame = pd.DataFrame(
        [{"node": node, "hour": t, "mw": p} for (node, t), (p, _q) in injections.items()]
    )  # fmt: skip
    fig, ax = plt.subplots(figsize=(9, 4.5))
    if not frame.empty:
        pivot = frame.pivot_table(index="hour", columns="node", values="mw", aggfunc="sum").fillna(0.0)
        pivot = pivot[sorted(pivot.columns, key=int)]
        pivot.plot(kind="bar", stacked=True, ax=ax, width=0.85, colormap="tab20")
    ax.set_title(f"Flexibility dispatched by node and hour ({market.market_id}, VCG)")
    ax.set_xlabel("hour")
    ax.set_ylabel("net active power injected (MW; up > 0, down < 0)")
    ax.legend(title="node", ncol=1, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_voltages(market: MarketOutcome, path: Path) -> None:
    inst = FlexInstance.from_document(market.clearing_input)
    before = schedule_voltages(inst)
    after = market.result.get("voltages_pu", {})
    fig, ax = plt.subplots(figsize=(9, 4.5))
    hours = list(range(inst.periods))
    lo_b = [min(v[t] for v in before.values()) for t in hours]
    hi_b = [max(v[t] for v in before.values()) for t in hours]
    lo_a = [min(v[t] for v in after.values()) for t in hours]
    hi_a = [max(v[t] for v in after.values()) for t in hours]
    ax.fill_between(hours, lo_b, hi_b, alpha=0.3, color="tab:red", label="before flexibility (min-max over nodes)")
    ax.fill_between(hours, lo_a, hi_a, alpha=0.4, color="tab:green", label="after flexibility (min-max over nodes)")
    ax.axhline(inst.v_max_pu, color="k", ls="--", lw=0.8)
    ax.axhline(inst.v_min_pu, color="k", ls="--", lw=0.8)
    ax.set_xlabel("hour")
    ax.set_ylabel("voltage (pu)")
    ax.set_title("Feeder voltages before and after the flexibility market")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_payments(payments: pd.DataFrame, path: Path) -> None:
    flex = payments.dropna(subset=["declared_cost_eur"])
    fig, ax = plt.subplots(figsize=(7, 4))
    if not flex.empty:
        frame = flex.set_index(["market", "owner"])[["declared_cost_eur", "payment_eur"]]
        frame.plot(kind="bar", ax=ax)
    ax.set_title("VCG payments against declared costs")
    ax.set_ylabel("EUR")
    ax.tick_params(axis="x", labelrotation=0)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_plots(outcome: DayOutcome, payments: pd.DataFrame, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    flex = flexibility_market(outcome)
    if flex is not None:
        for name, draw in (("dispatch.png", lambda p: plot_dispatch(outcome, flex, p)),
                           ("voltages.png", lambda p: plot_voltages(flex, p))):  # fmt: skip
            draw(out_dir / name)
            written.append(out_dir / name)
    plot_payments(payments, out_dir / "payments.png")
    written.append(out_dir / "payments.png")
    return written


def ac_summary_text(ac: dict[str, Any], market_id: str, shown: int = 3) -> str:
    """The AC check's headline lines and its first ``shown`` violations (all of them: ``flexledger audit verify``)."""
    if not ac.get("text"):
        return f"AC check failed: {ac.get('error')}"
    lines = ac["text"].splitlines()
    flagged = [line for line in lines if line.startswith("  ! ")]
    out = [line for line in lines if not line.startswith("  ! ")]
    at = next((i for i, line in enumerate(out) if line.startswith("  warning:")), len(out))
    more = [f"  ... and {len(flagged) - shown} more (flexledger audit verify {market_id})"] if len(flagged) > shown else []
    return "\n".join(out[:at] + flagged[:shown] + more + out[at:])


def summary(outcome: DayOutcome, extra: dict[str, Any]) -> str:
    pd.set_option("display.width", 140)
    pd.set_option("display.max_columns", 20)
    parts = [
        f"Market day {outcome.day} (run {outcome.run_id})",
        "\nMarkets\n" + markets_table(outcome).to_string(index=False),
        "\nCapacity awards\n" + awards_table(outcome).to_string(index=False),
        "\nPayments against declared costs\n" + payments_table(outcome).to_string(index=False),
        "\nBalances (sum of all balances is conserved by every market transaction)\n"
        + balances_table(outcome).to_string(index=False),
    ]
    flex = flexibility_market(outcome)
    if flex is not None:
        r = flex.result
        parts.append(
            f"\nFlexibility market {flex.market_id}: total cost {r.get('total_cost_eur')} EUR, flexibility cost "
            f"{r.get('flex_cost_eur')} EUR, load shed {r.get('shed_load_mwh')} MWh, DG shed "
            f"{r.get('shed_generation_mwh')} MWh"
        )
        ac = flex.verification.get("ac_check")
        if ac is not None:
            parts.append("\nAC validation of the flexibility dispatch (auditor, full AC power flow with pandapower)\n"
                         + ac_summary_text(ac, flex.market_id))
    for key, value in extra.items():
        parts.append(f"{key}: {value}")
    return "\n".join(parts)

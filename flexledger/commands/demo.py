"""``flexledger demo [--down] [--out DIR]``: the main job — a full market day on the real network."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from flexledger.commands import UserError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("demo", help="start the network and gateways, run a full market day, print the outcome")
    parser.add_argument("--out", default="out/demo", help="folder for the plots and tables (default: out/demo)")
    parser.add_argument("--down", action="store_true", help="stop the network and gateways afterwards")
    parser.set_defaults(func=_run)


def _say(msg: str) -> None:
    print(f"[demo] {msg}", flush=True)


def _run(args: argparse.Namespace) -> int:
    from flexledger import bootstrap
    from network.binaries import BinariesMissing
    from network.manager import Network

    net = Network()
    started = time.monotonic()
    try:
        bootstrap.up(net)
        urls = net.start_gateways()
    except (BinariesMissing, RuntimeError, TimeoutError) as exc:
        raise UserError(str(exc)) from exc
    try:
        outcome, text = run_day(net, urls, Path(args.out))
        print(text, flush=True)
    finally:
        if args.down:
            stopped = net.down()
            _say(f"network down: stopped {len(stopped)} processes")
    _say(f"done in {time.monotonic() - started:.0f} s")
    if not args.down:
        for org, url in urls.items():
            _say(f"{org:<8} gateway {url}   API docs {url}/docs   admin token {net.layout.wallet(org)}/admin.token")
        _say("the network keeps running: 'flexledger network status', 'flexledger network down'")
    verified = all(m.verification.get("matches") and (m.verification.get("commitments") or {}).get("verified", True)
                   for m in outcome.markets)
    return 0 if verified else 1


def ledger_validity(net) -> str:
    """Every transaction of the channel read back from the auditor's peer: how many, and any not VALID."""
    from collections import Counter

    from gateway.blocks import ledger_transactions
    from gateway.client import connect_from_profile

    channel = net.topo.channel
    with connect_from_profile(net.layout.profiles / "auditor.json", "admin") as gw:
        transactions = ledger_transactions(gw.get_network(channel), channel)
    codes = Counter(tx.validation_code for tx in transactions)
    invalid = ", ".join(f"{n} {code}" for code, n in sorted(codes.items()) if code != "VALID")
    return f"{len(transactions)} committed, " + (f"NOT VALID: {invalid}" if invalid else "all VALID")


def run_day(net, urls: dict[str, str], out_dir: Path):
    """Run the scenario through the gateways at ``urls``; return the outcome and the printed summary."""
    from flexledger.demo import report
    from flexledger.demo.api import OrgApi
    from flexledger.demo.scenario import MarketDay

    admins = {org: OrgApi.admin_of(org, url, net.layout.wallet(org)) for org, url in urls.items()}
    outcome = MarketDay(admins, progress=_say, drop=out_dir / "drop").run()
    payments = report.payments_table(outcome)
    plots = report.write_plots(outcome, payments, out_dir)
    heights = sorted(set(net.status().peer_heights().values()) - {None})
    flex = report.flexibility_market(outcome)
    committed = flex.committed if flex else {}
    validity = ledger_validity(net)
    extra = {
        "\nLedger height (every peer)": ", ".join(str(h) for h in heights),
        "Transactions on the ledger": validity,
        "Flexibility result hash": (flex.clearing.get("result_hash") if flex else None),
        "Endorsed by (read from the committed transaction, " + str(committed.get("validation_code")) + ")":
            ", ".join(committed.get("endorsed_by", [])),
        "Plots": ", ".join(str(p) for p in plots),
        **(outcome.wholesale.lines() if outcome.wholesale else {}),
    }
    for table, frame in (("awards", report.awards_table(outcome)), ("payments", payments),
                         ("balances", report.balances_table(outcome))):  # fmt: skip
        frame.to_csv(out_dir / f"{table}.csv", index=False)
    return outcome, report.summary(outcome, extra)

"""``flexledger validate-ac INPUT.json RESULT.json [--json]``: check a cleared dispatch with an AC power flow.

Why: the oracle clears with a linearised (lossless) model; a DSO wants to know whether the dispatch
also holds on the real feeder. Exit codes: 0 when no AC limit is violated, 1 when some are, 2 on bad
input (the error names the file and the field).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from flexledger.commands import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate-ac",
        help="check a cleared flexibility dispatch with a full AC power flow (pandapower)",
        description="Rebuild the feeder of INPUT.json, apply the dispatch of RESULT.json, run an AC power flow "
        "per period and report voltages and branch loadings against the limits and the linear model. "
        "Exit 0: no AC limit violated; 1: some are; 2: bad input.",
    )
    parser.add_argument("input", metavar="INPUT.json", help="the flexledger.clearing/1 document")
    parser.add_argument("result", metavar="RESULT.json", help="its flexledger.clearing-result/1")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    parser.set_defaults(func=run)


def _load(label: str, name: str) -> Any:
    try:
        return json.loads(Path(name).read_bytes())
    except OSError as exc:
        raise UserError(f"{label} {name}: cannot read: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise UserError(f"{label} {name}: not valid JSON: {exc}") from exc


def run(args: argparse.Namespace) -> int:
    from clearing import ValidationError
    from clearing.ac_check import check_ac

    document = _load("INPUT", args.input)
    result = _load("RESULT", args.result)
    try:
        report = check_ac(document, result)
    except ValidationError as exc:
        where = args.result if exc.field.startswith("result") else args.input
        raise UserError(f"{where}: {exc.field}: {exc.message}") from exc
    except RuntimeError as exc:
        print(f"flexledger: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    else:
        print(report.to_text())
    return 0 if report.ok else 1

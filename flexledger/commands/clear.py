"""``flexledger clear INPUT.json [--mechanism vcg|dlmp] [--out FILE]``: run the clearing oracle locally.

Why a CLI for the oracle: an auditor (or a person debugging a market) can re-clear any
document and compare the canonical bytes with what the peers endorsed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flexledger.commands import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "clear",
        help="clear a market document with the oracle and print the canonical result",
        description="Clear a flexledger.clearing/1 (or capacity) document; print or write the canonical result.",
    )
    parser.add_argument("input", metavar="INPUT.json", help="the market document (JSON)")
    parser.add_argument(
        "--mechanism",
        choices=("vcg", "dlmp"),
        default=None,
        help="payment rule of the flexibility market (default: vcg); capacity documents take theirs from the document",
    )
    parser.add_argument("--out", metavar="FILE", help="write the canonical result bytes to FILE instead of stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from clearing import ClearingError, ValidationError, clear_to_bytes

    path = Path(args.input)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{args.input}: cannot read: {exc.strerror or exc}") from exc
    try:
        data = clear_to_bytes(raw, args.mechanism)
    except ValidationError as exc:
        raise UserError(f"{exc.field}: {exc.message}") from exc
    except ClearingError as exc:
        raise UserError(f"{args.input}: {exc}") from exc
    if args.out:
        try:
            Path(args.out).write_bytes(data)
        except OSError as exc:
            raise UserError(f"--out {args.out}: cannot write: {exc.strerror or exc}") from exc
    else:
        sys.stdout.buffer.write(data + b"\n")
        sys.stdout.flush()
    return 0

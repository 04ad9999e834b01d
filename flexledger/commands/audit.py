"""``flexledger audit verify --org auditor MARKET_ID [--json]``: re-verify a cleared market from the ledger.

The same checks as the auditor's ``POST /audit/markets/{id}/verify`` (:mod:`gateway.verify`): the oracle
re-run on the stored input, every revealed sealed bid against its commitment, and for a flexibility market
the AC power flow of the cleared dispatch. Exit 0 when the result hash matches and every commitment
verifies, 1 otherwise (an AC violation is reported, not a failure of the ledger's integrity).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from flexledger.commands import UserError

if TYPE_CHECKING:
    from contract.verification import Verification


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("audit", help="re-verify a cleared market: oracle hash, sealed-bid commitments, AC flow")
    modes = parser.add_subparsers(dest="mode", metavar="MODE")
    modes.required = True
    verify = modes.add_parser("verify", help="re-run the oracle, check commitments and the AC power flow")
    verify.add_argument("market_id", metavar="MARKET_ID")
    verify.add_argument("--org", default="auditor", help="organisation whose identity reads (default: auditor)")
    verify.add_argument("--user", default=None, help="enrolled user of that organisation (an auditor or the DSO)")
    verify.add_argument("--json", action="store_true", help="print the full verification as JSON")
    verify.set_defaults(func=_verify)


def _text(out: Verification) -> str:
    lines = [f"market {out.market_id}: result hash "
             + ("matches" if out.matches else f"DOES NOT MATCH ({', '.join(out.differences)})")]
    commitments = out.commitments
    if commitments is not None and commitments.sealed:
        lines.append(f"sealed bids: {commitments.revealed} revealed, all match their commitments"
                     if commitments.verified else "sealed bids: COMMITMENTS DO NOT VERIFY")
        lines += [f"  ! {p}" for p in commitments.problems]
        if commitments.unrevealed:
            lines.append(f"  unrevealed (excluded): {', '.join(commitments.unrevealed)}")
    if out.ac_check is not None:
        lines.append(out.ac_check.text or f"AC check failed: {out.ac_check.error}")
    return "\n".join(lines)


def _verify(args: argparse.Namespace) -> int:
    from flexledger.commands.bids import ledger_errors
    from flexledger.commands.tx import _default_user
    from flexledger.home import contract_session
    from gateway.verify import NotVerifiable, verify_market

    with ledger_errors(), contract_session(args.org, args.user or _default_user(args.org)) as contract:
        try:
            out = verify_market(contract.evaluate, args.market_id)
        except NotVerifiable as exc:
            raise UserError(str(exc)) from None
    print(json.dumps(out.model_dump(), indent=2, sort_keys=True) if args.json else _text(out))
    sys.stdout.flush()
    return 0 if out.verified else 1

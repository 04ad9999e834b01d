"""``flexledger bids place|reveal --org ORG``: bid from the command line, sealed where the market is sealed.

    flexledger bids place --org agg1 bid.json       # in a sealed market only the commitment is submitted
    flexledger bids reveal --org agg1 MARKET_ID     # after the gate closes: reveal all of agg1's sealed bids

The salt and the exact bid JSON are kept in the organisation's wallet (``sealed-bids.sqlite``), the same store
the organisation's REST service uses, so a bid sealed through either can be revealed through either.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from flexledger.commands import UserError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bids", help="place bids (sealed in a sealed market) and reveal them after the gate")
    modes = parser.add_subparsers(dest="mode", metavar="MODE")
    modes.required = True
    place = modes.add_parser("place", help="place a bid; in a sealed market submit only its salted hash")
    place.add_argument("bid", metavar="BID.json", help="the bid as for PlaceBid (docs/chaincode-api.md)")
    reveal = modes.add_parser("reveal", help="reveal every bid this organisation sealed in a market")
    reveal.add_argument("market_id", metavar="MARKET_ID")
    for p in (place, reveal):
        p.add_argument("--org", required=True, help="the aggregator organisation (agg1, agg2)")
        p.add_argument("--user", default=None, help="enrolled user of that organisation (default: its first user)")
    place.set_defaults(func=_place)
    reveal.set_defaults(func=_reveal)


@contextmanager
def ledger_errors() -> Iterator[None]:
    """A refusal or an unreachable network as a one-line user error (as ``flexledger tx`` reports them)."""
    from gateway import CommitError, ConfigError, EndorseError, GatewayError, RpcFailure

    try:
        yield
    except ConfigError as exc:
        raise UserError(f"--org/--user: {exc}") from None
    except (EndorseError, RpcFailure) as exc:
        raise UserError(exc.chaincode_message or exc.message) from None
    except CommitError as exc:
        raise UserError(f"transaction {exc} was not committed") from None
    except GatewayError as exc:
        raise UserError(str(exc)) from None


def session(args: argparse.Namespace):
    """The org's contract as the chosen user, and the org's sealed-bid store."""
    from flexledger.commands.tx import _default_user
    from flexledger.home import contract_session, profile_path
    from gateway.profile import load_profile
    from gateway.sealed import SealedBidStore

    user = args.user or _default_user(args.org)
    store = SealedBidStore(Path(load_profile(profile_path(args.org)).wallet))
    return contract_session(args.org, user), store, user


def _place(args: argparse.Namespace) -> int:
    from contract.records import BidDocument
    from gateway.sealed import AlreadySealed, IncompleteBid, place_bid

    try:
        bid = json.loads(Path(args.bid).read_text())
    except OSError as exc:
        raise UserError(f"{args.bid}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UserError(f"{args.bid}: not valid JSON: {exc}") from None
    if not isinstance(bid, dict):
        raise UserError(f"{args.bid}: must be a JSON object")
    with ledger_errors():
        contract_cm, store, user = session(args)
        with contract_cm as contract:
            try:
                out = place_bid(contract.submit, contract.evaluate, store, BidDocument.of(bid), user)
            except AlreadySealed as exc:
                raise UserError(f"bid.id: {exc}") from None
            except IncompleteBid as exc:
                raise UserError(str(exc)) from None
    sys.stdout.write(json.dumps(out.model_dump(mode="json", exclude_unset=True), sort_keys=True) + "\n")
    return 0


def _reveal(args: argparse.Namespace) -> int:
    from gateway import EndorseError
    from gateway.sealed import reveal_market

    with ledger_errors():
        contract_cm, store, _ = session(args)
        with contract_cm as contract:
            report = reveal_market(contract.submit, contract.evaluate, store, args.market_id, refused=EndorseError)
    sys.stdout.write(json.dumps(asdict(report), sort_keys=True) + "\n")
    return 1 if report.not_revealed else 0

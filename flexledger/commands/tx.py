"""``flexledger tx submit|evaluate --org ORG [--user USER] FUNCTION [ARGS...]``.

Runs one transaction as a real identity of ORG (enrolled at ORG's Fabric CA) through ORG's
peer's Gateway service, with the project's Python Gateway client.
"""

from __future__ import annotations

import argparse
import sys

from flexledger.commands import UserError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("tx", help="submit or evaluate a chaincode transaction as an organisation's user")
    modes = parser.add_subparsers(dest="mode", metavar="MODE")
    modes.required = True
    for mode, help_text in (("submit", "endorse, order and wait for commit"), ("evaluate", "query one peer")):
        p = modes.add_parser(mode, help=help_text)
        p.add_argument("--org", required=True, help="organisation whose identity acts (dso, agg1, agg2, auditor)")
        p.add_argument("--user", default=None, help="enrolled user of that organisation (default: its first user)")
        p.add_argument("function", help="chaincode function, e.g. RegisterDevice")
        p.add_argument("args", nargs="*", help="string arguments (JSON where the function expects JSON)")
        p.set_defaults(func=_run)


def _default_user(org: str) -> str:
    from flexledger.home import profile_path
    from gateway.errors import ConfigError
    from gateway.profile import load_profile

    try:
        identities = load_profile(profile_path(org)).identities
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    return next((name for name, ident in identities.items() if ident.role != "admin"), "admin")


def _run(args: argparse.Namespace) -> int:
    from flexledger.home import contract_session
    from gateway import CommitError, ConfigError, EndorseError, GatewayError, RpcFailure

    user = args.user or _default_user(args.org)
    try:
        with contract_session(args.org, user) as contract:
            if args.mode == "submit":
                out = contract.submit(args.function, *args.args)
            else:
                out = contract.evaluate(args.function, *args.args)
    except ConfigError as exc:
        raise UserError(f"--org/--user: {exc}") from None
    except EndorseError as exc:
        if exc.mismatched_orgs:
            raise UserError(str(exc)) from None
        raise UserError(exc.chaincode_message or exc.message) from None
    except RpcFailure as exc:
        raise UserError(exc.chaincode_message or exc.message) from None
    except CommitError as exc:
        raise UserError(f"transaction {exc} was not committed") from None
    except GatewayError as exc:
        raise UserError(str(exc)) from None
    sys.stdout.write(out.decode("utf-8", errors="replace") + "\n")
    return 0

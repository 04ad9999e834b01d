"""``flexledger tx submit|evaluate --org ORG [--user USER] FUNCTION [ARGS...]``.

Runs one transaction as a real identity of ORG (enrolled at ORG's Fabric CA) through ORG's peer.
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


def _run(args: argparse.Namespace) -> int:
    from network.fabric_cli import FabricCommandFailed
    from network.manager import Network

    net = Network()
    try:
        org = net.topo.org(args.org)
    except KeyError as exc:
        raise UserError(f"--org: {exc.args[0]}") from exc
    users = [u.name for u in org.users]
    user = args.user or next(u.name for u in org.users if u.role != "admin")
    if user not in users:
        raise UserError(f"--user: {args.org} has no user {user!r}; known: {', '.join(users)}")
    if not net.state().get("ready"):
        raise UserError("the network is not up; run 'flexledger network up'")
    try:
        if args.mode == "submit":
            out = net.invoke(args.org, user, args.function, *args.args)
        else:
            out = net.query(args.org, user, args.function, *args.args)
    except FabricCommandFailed as exc:
        raise UserError(_chaincode_message(exc.output)) from exc
    print(out)
    sys.stdout.flush()
    return 0


def _chaincode_message(output: str) -> str:
    """The chaincode's own message out of the peer CLI's error text."""
    marker = "message:"
    if marker in output:
        return output[output.rfind(marker) + len(marker) :].strip().rstrip(")").strip().strip('"')
    return output.strip().splitlines()[-1] if output.strip() else "transaction failed"

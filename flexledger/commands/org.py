"""``flexledger org add | remove | sign``: organisations join and leave the running network."""

from __future__ import annotations

import argparse
from pathlib import Path

from flexledger.commands import UserError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("org", help="admit or remove an organisation (majority-signed channel update)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    add = actions.add_parser("add", help="start a new organisation's nodes and admit it to the channel and market")
    add.add_argument("name", metavar="NAME", help="organisation name (2-16 lowercase letters or digits)")
    add.add_argument("--role", required=True, help="aggregator, bsp, tso or auditor")
    add.add_argument("--orderer", action="store_true", help="also run an orderer that joins Raft as a consenter")
    add.add_argument("--signers", metavar="ORG,ORG", help="organisations whose admins sign (default: a majority)")
    add.set_defaults(func=_add)
    remove = actions.add_parser("remove", help="remove an organisation; its money and ledger copy are kept")
    remove.add_argument("name", metavar="NAME")
    remove.add_argument("--signers", metavar="ORG,ORG", help="organisations whose admins sign (default: a majority)")
    remove.set_defaults(func=_remove)
    sign = actions.add_parser("sign", help="sign a channel update file with one organisation's admin identity")
    sign.add_argument("update", metavar="UPDATE", type=Path, help="the update envelope (.pb)")
    sign.add_argument("--org", required=True, help="the organisation whose admin signs")
    sign.set_defaults(func=_sign)
    submit = actions.add_parser("submit", help="send a signed channel update to the orderers as ORG's admin")
    submit.add_argument("update", metavar="UPDATE", type=Path)
    submit.add_argument("--org", required=True)
    submit.set_defaults(func=_submit)


def _signers(text: str | None) -> list[str] | None:
    return [s.strip() for s in text.split(",") if s.strip()] if text else None


def _run(action):
    from network.channel_update import UpdateRefused
    from network.fabric_cli import FabricCommandFailed
    from network.manager import BootstrapFailed, Network
    from network.org_ops import MembershipRefused
    from network.processes import PortTaken, StartFailed

    try:
        return action(Network())
    except (MembershipRefused, UpdateRefused, FabricCommandFailed, BootstrapFailed, PortTaken, StartFailed,
            TimeoutError, RuntimeError) as exc:  # fmt: skip
        raise UserError(str(exc)) from exc


def _add(args: argparse.Namespace) -> int:
    from flexledger.governance import MarketGovernance
    from network.org_ops import add_org

    org = _run(lambda net: add_org(net, MarketGovernance(), args.name, args.role, args.orderer, _signers(args.signers)))
    print(f"[org] {org.name} ({org.msp_id}) joined; peer {org.peer_port}, CA {org.ca_port}"
          + (f", orderer {org.orderer_port}" if org.runs_orderer else ""))
    return 0


def _remove(args: argparse.Namespace) -> int:
    from flexledger.governance import MarketGovernance
    from network.org_ops import remove_org

    _run(lambda net: remove_org(net, MarketGovernance(), args.name, _signers(args.signers)))
    print(f"[org] {args.name} removed")
    return 0


def _sign(args: argparse.Namespace) -> int:
    from network.org_ops import sign_update

    signed = _run(lambda net: sign_update(net, args.update, args.org))
    print(f"[org] {args.update} signed by: {', '.join(signed)}")
    return 0


def _submit(args: argparse.Namespace) -> int:
    from network.org_ops import submit_update

    _run(lambda net: submit_update(net, args.update, args.org))
    print(f"[org] {args.update} accepted by the orderers")
    return 0

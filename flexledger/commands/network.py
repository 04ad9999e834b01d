"""``flexledger network up | down | status [--json]``."""

from __future__ import annotations

import argparse
import json

from flexledger.commands import UserError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("network", help="start, stop and inspect the local Fabric network")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    up = actions.add_parser("up", help="start every node (idempotent)")
    up.add_argument("--oracle-fault", metavar="ORG",
                    help="test support: run ORG's chaincode server with a perturbed oracle (a plain 'up' undoes it)")
    up.add_argument("--gateways", action="store_true", help="also start each organisation's REST gateway")
    up.set_defaults(func=_up)
    down = actions.add_parser("down", help="stop every process the network started and remove its state")
    down.add_argument("--keep-state", action="store_true", help="keep ledgers and identities for a later 'up'")
    down.set_defaults(func=_down)
    status = actions.add_parser("status", help="nodes, health, heights and the chaincode definition")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=_status)


def _network():
    from network.manager import Network
    from network.topology import default_topology

    try:
        topology = default_topology()
    except ValueError as exc:  # a bad FLEXLEDGER_* setting, named in the message
        raise UserError(str(exc)) from None
    return Network(topo=topology)


def _up(args: argparse.Namespace) -> int:
    from flexledger import bootstrap
    from network.binaries import BinariesMissing
    from network.processes import PortTaken, StartFailed

    net = _network()
    try:
        state = bootstrap.up(net, oracle_fault=args.oracle_fault)
        if args.gateways:
            for org, url in net.start_gateways().items():
                print(f"[network] {org} gateway: {url} (API docs: {url}/docs)")
    except (BinariesMissing, PortTaken, StartFailed, RuntimeError, KeyError, TimeoutError) as exc:
        raise UserError(str(exc).strip("'\"")) from exc
    print(f"[network] up in {state.get('up_seconds', 0)} s; state and logs in {net.layout.home}")
    return 0


def _down(args: argparse.Namespace) -> int:
    stopped = _network().down(keep_state=args.keep_state)
    print(f"[network] stopped {len(stopped)} processes" + (f": {', '.join(stopped)}" if stopped else ""))
    return 0


def _status(args: argparse.Namespace) -> int:
    from flexledger.fault_injection import oracle_fault

    net = _network()
    status = net.status()
    if args.json:
        print(json.dumps({**status.to_dict(), "oracle_fault": oracle_fault(net)}, indent=2, sort_keys=True))
        return 0
    print(f"Fabric binaries: {status.fabric.binaries}")
    if status.fabric.network_made_with:
        print(f"network made with: {status.fabric.network_made_with}")
    for n in status.nodes:
        mark = "ok " if n.healthy else "DOWN"
        height = f" height={n.height}" if n.height is not None else ""
        print(f"{mark} {n.org:<8} {n.kind:<9} {n.address:<16} pid={n.pid}{height}")
    cc = status.chaincode
    approvals = ", ".join(f"{org}={'yes' if ok else 'no'}" for org, ok in cc.approvals.items())
    for org, gw in status.gateways.items():
        if gw.pid:
            print(f"ok  {org:<8} gateway   {gw.url} pid={gw.pid}")
    print(f"chaincode {cc.name} version={cc.version} sequence={cc.sequence} approvals: {approvals}")
    return 0 if status.healthy else 1

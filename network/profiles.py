"""Connection profiles: what a client of one organisation needs to reach the network.

Written by ``network up`` to ``$FLEXLEDGER_HOME/profiles/<org>.json``; the gateway reads them.
"""

from __future__ import annotations

import json
from typing import Any

from network.layout import Layout
from network.pki import Enrolled
from network.topology import Org, Topology


def profile(layout: Layout, topo: Topology, org: Org, issued: dict[str, Enrolled]) -> dict[str, Any]:
    identities = {
        user.name: {"cert": str(issued[user.name].cert), "key": str(issued[user.name].key), "role": user.role}
        for user in org.users
    }
    wallet = layout.wallet(org.name)
    wallet.mkdir(parents=True, exist_ok=True)
    return {
        "org": org.name,
        "msp_id": org.msp_id,
        "channel": topo.channel,
        "chaincode": topo.chaincode,
        "peer": {
            "endpoint": f"{topo.host}:{org.peer_port}",
            "server_name": org.peer_host,
            "tls_ca_cert": str(layout.ca_cert(org.name)),
        },
        "ca": {
            "url": f"https://{topo.host}:{org.ca_port}",
            "name": org.ca_name,
            "tls_ca_cert": str(layout.ca_cert(org.name)),
        },
        "identities": identities,
        "wallet": str(wallet),
        "gateway_url": f"http://{topo.host}:{org.gateway_port}",
    }


def write_profiles(layout: Layout, topo: Topology, issued: dict[str, dict[str, Enrolled]]) -> None:
    layout.profiles.mkdir(parents=True, exist_ok=True)
    for org in topo.orgs:
        path = layout.profiles / f"{org.name}.json"
        path.write_text(json.dumps(profile(layout, topo, org, issued[org.name]), indent=2, sort_keys=True))

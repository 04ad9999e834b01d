"""Connection profiles: what a client of one organisation needs to reach the network.

Written by ``network up`` to ``<state folder>/profiles/<org>.json`` with the model the Fabric client
reads (:class:`contract.profile.ConnectionProfile`), so the file and the reader cannot disagree.
"""

from __future__ import annotations

import json

from contract.profile import CAEndpoint, ConnectionProfile, IdentityFiles, PeerEndpoint
from network.layout import Layout
from network.pki import Enrolled
from network.topology import Org, Topology


def profile(layout: Layout, topo: Topology, org: Org, issued: dict[str, Enrolled]) -> ConnectionProfile:
    identities = {
        user.name: IdentityFiles(cert=issued[user.name].cert, key=issued[user.name].key, role=user.role)
        for user in org.users
    }
    wallet = layout.wallet(org.name)
    wallet.mkdir(parents=True, exist_ok=True)
    return ConnectionProfile(
        org=org.name,
        msp_id=org.msp_id,
        channel=topo.channel,
        chaincode=topo.chaincode,
        peer=PeerEndpoint(endpoint=f"{topo.host}:{org.peer_port}", server_name=org.peer_host,
                          tls_ca_cert=layout.ca_cert(org.name)),
        ca=CAEndpoint(url=f"https://{topo.host}:{org.ca_port}", name=org.ca_name, tls_ca_cert=layout.ca_cert(org.name)),
        identities=identities,
        wallet=wallet,
        gateway_url=f"http://{topo.host}:{org.gateway_port}",
    )


def write_profiles(layout: Layout, topo: Topology, issued: dict[str, dict[str, Enrolled]]) -> None:
    layout.profiles.mkdir(parents=True, exist_ok=True)
    for org in topo.orgs:
        path = layout.profiles / f"{org.name}.json"
        written = profile(layout, topo, org, issued[org.name]).model_dump(mode="json")
        path.write_text(json.dumps(written, indent=2, sort_keys=True))

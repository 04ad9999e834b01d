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


def write_profile(layout: Layout, topo: Topology, org: Org, issued: dict[str, Enrolled]) -> None:
    """``<state folder>/profiles/<org>.json`` of one organisation (at ``up``, and when it joins later)."""
    layout.profiles.mkdir(parents=True, exist_ok=True)
    written = profile(layout, topo, org, issued).model_dump(mode="json")
    (layout.profiles / f"{org.name}.json").write_text(json.dumps(written, indent=2, sort_keys=True))


def write_profiles(layout: Layout, topo: Topology, issued: dict[str, dict[str, Enrolled]]) -> None:
    for org in topo.orgs:
        write_profile(layout, topo, org, issued[org.name])

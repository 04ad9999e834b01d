"""What ``flexledger network status`` reports: every node's health and height, the chaincode definition.

Why records: the CLI prints them, the demo reads the peers' heights from them, and tests read the CLI's JSON;
one typed shape keeps the three in step (``to_dict`` is the JSON the CLI prints).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class NodeStatus:
    """One process of the network: a CA, peer, orderer or chaincode server of one organisation."""

    org: str
    kind: str
    address: str
    pid: int | None
    healthy: bool
    height: int | None = None  # peers only: the channel's block height this peer reports


@dataclass(frozen=True)
class ChaincodeStatus:
    """The committed chaincode definition, and which organisations approved it."""

    name: str
    version: str | None
    sequence: int | None
    approvals: dict[str, bool]


@dataclass(frozen=True)
class GatewayStatus:
    """An organisation's REST service, if the network started one."""

    url: str
    pid: int | None


@dataclass(frozen=True)
class FabricStatus:
    """The Fabric binaries in use now, and those the network was made with."""

    binaries: str
    network_made_with: str | None


@dataclass(frozen=True)
class NetworkStatus:
    nodes: list[NodeStatus]
    chaincode: ChaincodeStatus
    gateways: dict[str, GatewayStatus]
    ready: bool
    home: str
    fabric: FabricStatus
    chaincode_env: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return all(n.healthy for n in self.nodes)

    def peer_heights(self) -> dict[str, int | None]:
        """Each organisation's peer's height (None: the peer is down or did not answer)."""
        return {n.org: n.height for n in self.nodes if n.kind == "peer"}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

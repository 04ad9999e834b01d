"""The connection profile: what a client of one organisation needs to reach the network.

Why in contract/: ``network up`` writes it and the Fabric client reads it; both use this one model, so
the file cannot drift from what the client expects.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict


class PeerEndpoint(BaseModel):
    """The org's peer that runs the Gateway service (host:port, TLS server name, TLS root)."""

    endpoint: str
    server_name: str
    tls_ca_cert: Path


class CAEndpoint(BaseModel):
    """The org's Fabric CA REST endpoint."""

    url: str
    name: str
    tls_ca_cert: Path


class IdentityFiles(BaseModel):
    """PEM files of one enrolled identity and the role attribute its certificate carries."""

    cert: Path
    key: Path
    role: str = ""


class ConnectionProfile(BaseModel):
    """One organisation's view of the network (exact field names as ``network up`` writes them)."""

    model_config = ConfigDict(extra="ignore")

    org: str
    msp_id: str
    channel: str
    chaincode: str
    peer: PeerEndpoint
    ca: CAEndpoint
    identities: dict[str, IdentityFiles]
    wallet: Path
    #: where ``network up`` expects this org's REST service (``http://host:port``)
    gateway_url: str | None = None

"""Connection profile of one organisation, written by ``flexledger network up``.

The profile is the only thing the client and the REST service need to find the org's peer, CA and
identities, so a new user needs no configuration file of their own.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from gateway.errors import ConfigError


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

    def identity_files(self, user: str) -> IdentityFiles:
        """Files of ``user``: a profile identity, else one enrolled into the wallet later."""
        if user in self.identities:
            return self.identities[user]
        folder = self.wallet / user
        if (folder / "cert.pem").is_file() and (folder / "key.pem").is_file():
            role = ""
            meta = folder / "role"
            if meta.is_file():
                role = meta.read_text().strip()
            return IdentityFiles(cert=folder / "cert.pem", key=folder / "key.pem", role=role)
        known = sorted(set(self.identities) | set(self.wallet_users()))
        raise ConfigError(f"user: no identity {user!r} for org {self.org} (known: {', '.join(known) or 'none'})")

    def wallet_users(self) -> list[str]:
        """Users enrolled into the wallet (folders holding cert.pem and key.pem)."""
        if not self.wallet.is_dir():
            return []
        return sorted(p.name for p in self.wallet.iterdir() if (p / "cert.pem").is_file())


def flexledger_home() -> Path:
    """``$FLEXLEDGER_HOME``, else ``.flexledger`` at the repository root (next to pyproject.toml)."""
    env = os.environ.get("FLEXLEDGER_HOME")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent.parent
    return here / ".flexledger"


def profile_path(org: str, home: Path | None = None) -> Path:
    """Where ``network up`` writes the profile of ``org``."""
    return (home or flexledger_home()) / "profiles" / f"{org}.json"


def load_profile(path: Path | str) -> ConnectionProfile:
    """Read and validate a profile; every problem becomes a :class:`ConfigError` naming the field."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"profile: {path} not found (is the network up? run `flexledger network up`)"
        ) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"profile: {path} is not JSON: {exc}") from None
    try:
        return ConnectionProfile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"profile.{field}: {first['msg']} (in {path})") from None

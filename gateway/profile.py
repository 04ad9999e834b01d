"""Connection profile of one organisation, written by ``flexledger network up``.

The profile is the only thing the client and the REST service need to find the org's peer, CA and
identities, so a new user needs no configuration file of their own.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from contract import profile as profile_model
from contract.profile import IdentityFiles
from gateway.errors import ConfigError


class ConnectionProfile(profile_model.ConnectionProfile):
    """The profile as the client uses it: the written model (contract.profile) plus identity lookup."""

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

"""Where the running network keeps its state, logs and pids: one git-ignored folder.

``FLEXLEDGER_HOME`` moves it (tests use a temporary one); the default is ``.flexledger`` at
the repository root.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from network.binaries import REPO_ROOT


def default_home() -> Path:
    return Path(os.environ.get("FLEXLEDGER_HOME", REPO_ROOT / ".flexledger")).resolve()


@dataclass(frozen=True)
class Layout:
    home: Path

    @classmethod
    def default(cls) -> Layout:
        return cls(default_home())

    @property
    def state_file(self) -> Path:
        return self.home / "network.json"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def run(self) -> Path:
        return self.home / "run"

    @property
    def profiles(self) -> Path:
        return self.home / "profiles"

    @property
    def channel_dir(self) -> Path:
        return self.home / "channel"

    @property
    def chaincode_dir(self) -> Path:
        return self.home / "chaincode"

    def org_dir(self, org: str) -> Path:
        return self.home / "orgs" / org

    def ca_home(self, org: str) -> Path:
        return self.org_dir(org) / "ca"

    def ca_cert(self, org: str) -> Path:
        """The org's root certificate: its MSP root and the root of every TLS cert it issues."""
        return self.ca_home(org) / "ca-cert.pem"

    def org_msp(self, org: str) -> Path:
        return self.org_dir(org) / "msp"

    def user_dir(self, org: str, user: str) -> Path:
        return self.org_dir(org) / "users" / user

    def node_dir(self, org: str, node: str) -> Path:
        return self.org_dir(org) / node

    def wallet(self, org: str) -> Path:
        return self.org_dir(org) / "wallet"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def pid(self, name: str) -> Path:
        return self.run / f"{name}.pid"

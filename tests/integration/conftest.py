"""A real network for the integration tests: real CAs, orderers, peers and chaincode servers.

One network per test session, in its own state folder and on its own ports (so a developer's
network on the default ports is left alone), torn down at the end — the teardown checks that
no process is left behind. Skipped, with the reason, when the pinned Fabric binaries are
missing (see README: Fabric binaries).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from network.binaries import FABRIC_BIN_ENV, fabric_available
from network.layout import Layout
from network.manager import Network
from network.processes import pid_alive, read_pid, recorded_names
from network.topology import default_topology

IT_BASE_PORT = int(os.environ.get("FLEXLEDGER_IT_BASE_PORT", "28000"))

pytestmark = pytest.mark.fabric


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if fabric_available():
        return
    reason = (
        "the pinned Fabric v3.1.5 binaries are not available: ./scripts/setup could not build them from the Go "
        f"module proxy; provide them in ${FABRIC_BIN_ENV} (see README)"
    )
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.skip(reason=reason))


@dataclass
class LiveNetwork:
    net: Network
    env: dict[str, str]

    def cli(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        """Run the ``flexledger`` command as a user would, against this network."""
        proc = subprocess.run(
            [sys.executable, "-m", "flexledger.cli", *args], env=self.env, capture_output=True, text=True,
            timeout=300, check=False,
        )  # fmt: skip
        if check and proc.returncode != 0:
            raise AssertionError(f"flexledger {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
        return proc

    def status(self) -> dict:
        return json.loads(self.cli("network", "status", "--json").stdout)

    def profile(self, org: str) -> Path:
        return self.net.layout.profiles / f"{org}.json"


@pytest.fixture(scope="session")
def live_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNetwork]:
    home = tmp_path_factory.mktemp("flexledger-home")
    env = {**os.environ, "FLEXLEDGER_HOME": str(home), "FLEXLEDGER_BASE_PORT": str(IT_BASE_PORT)}
    net = Network(topo=default_topology(IT_BASE_PORT), layout=Layout(home), progress=lambda m: print(m, flush=True))
    try:
        net.up()
        yield LiveNetwork(net, env)
    finally:
        pids = {name: read_pid(net.layout, name) for name in recorded_names(net.layout)}
        net.down()
        left = [name for name, pid in pids.items() if pid_alive(pid)]
        assert not left, f"processes left behind after 'network down': {left}"

"""A real network for the integration tests: real CAs, orderers, peers and chaincode servers.

One network per test session, in its own state folder and on its own ports
(``FLEXLEDGER_IT_BASE_PORT``, default 28000, so a developer's network on the default ports is
left alone), torn down at the end — the teardown checks that no process is left behind.

After every test module the ledger is read back block by block: a transaction that is not VALID
fails the module unless a test provoked exactly that outcome on purpose (``provoked_invalid``).

Without usable Fabric binaries these tests fail, naming why; ``FLEXLEDGER_ALLOW_NO_FABRIC=1``
(by hand, never in CI) turns that into a skip.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from flexledger import bootstrap
from gateway.blocks import LedgerTransaction, ledger_transactions
from gateway.client import connect_from_profile
from gateway.profile import load_profile
from gateway.retry import SETTLE_RETRY
from network.binaries import BinariesMissing, fabric_build, locate
from network.layout import Layout
from network.manager import Network
from network.processes import pid_alive, read_pid, recorded_names
from network.topology import default_topology
from restapi import create_app
from restapi.auth import TOKEN_FILE, TokenStore

IT_BASE_PORT = int(os.environ.get("FLEXLEDGER_IT_BASE_PORT", "28000"))

pytestmark = pytest.mark.fabric


ALLOW_NO_FABRIC = "FLEXLEDGER_ALLOW_NO_FABRIC"


def _fabric_missing() -> str | None:
    try:
        for tool in ("fabric-ca-server", "fabric-ca-client"):
            locate(tool)
        fabric_build()
    except BinariesMissing as exc:
        return f"no usable Fabric binaries: {exc}"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _fabric_missing()
    if reason is None:
        return
    allowed = os.environ.get(ALLOW_NO_FABRIC) == "1"
    for item in items:
        if "integration" in str(item.fspath):
            if allowed:
                item.add_marker(pytest.mark.skip(reason=f"{reason} ({ALLOW_NO_FABRIC}=1)"))
            else:
                item.add_marker(pytest.mark.fabric_missing(reason=reason))


def pytest_runtest_setup(item: pytest.Item) -> None:
    marker = item.get_closest_marker("fabric_missing")
    if marker is not None:
        pytest.fail(f"{marker.kwargs['reason']}; set {ALLOW_NO_FABRIC}=1 to skip the real-network tests by hand",
                    pytrace=False)  # fmt: skip


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A real-network test that skips itself would hide a missing capability: count it as a failure."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and os.environ.get(ALLOW_NO_FABRIC) != "1":
        report.outcome = "failed"
        report.longrepr = f"real-network test skipped ({report.longrepr}); set {ALLOW_NO_FABRIC}=1 to allow"


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

    def rest_services(self, users: dict[str, list[str]]) -> tuple[dict[str, TestClient], dict[str, str]]:
        """Each org's REST service in process (started), and a bearer token per ``org/user``; the caller
        closes the clients (``client.__exit__``)."""
        clients, tokens = {}, {}
        for org, names in users.items():
            profile = load_profile(self.profile(org))
            store = TokenStore(profile.wallet / TOKEN_FILE)
            for name in names:
                tokens[f"{org}/{name}"] = store.issue(name)
            clients[org] = TestClient(create_app(profile, tokens=store)).__enter__()
        return clients, tokens


@dataclass
class ProvokedInvalid:
    """Transactions a test made invalid on purpose: by id where the test knows it, else by validation code."""

    tx_ids: set[str] = field(default_factory=set)
    codes: Counter[str] = field(default_factory=Counter)

    def expect(self, tx_id: str | None = None, code: str | None = None) -> None:
        if tx_id:
            self.tx_ids.add(tx_id)
        elif code:
            self.codes[code] += 1

    def unexpected(self, transactions: list[LedgerTransaction]) -> list[LedgerTransaction]:
        left = Counter(self.codes)
        out = []
        for tx in transactions:
            if tx.validation_code == "VALID" or tx.tx_id in self.tx_ids:
                continue
            if left[tx.validation_code] > 0:
                left[tx.validation_code] -= 1
                continue
            out.append(tx)
        return out


@pytest.fixture(scope="session")
def provoked_invalid() -> ProvokedInvalid:
    return ProvokedInvalid()


@pytest.fixture(scope="module", autouse=True)
def every_committed_transaction_is_valid(request: pytest.FixtureRequest, provoked_invalid: ProvokedInvalid):
    """After each module: no block holds an invalid transaction that no test provoked (no DUPLICATE_TXID,
    no MVCC conflict, no policy failure by accident)."""
    yield
    if "live_network" not in request.fixturenames or _fabric_missing():
        return
    live: LiveNetwork = request.getfixturevalue("live_network")
    if not live.profile("auditor").exists():
        return  # the module took the network down and left it down
    with connect_from_profile(live.profile("auditor"), "admin", endorse_retry=SETTLE_RETRY) as gw:
        transactions = ledger_transactions(gw.get_network(live.net.topo.channel), live.net.topo.channel)
    bad = provoked_invalid.unexpected(transactions)
    assert not bad, "committed transactions that are not VALID and that no test provoked:\n" + "\n".join(
        f"  block {tx.block} {tx.tx_id} {tx.header_type} {tx.validation_code}" for tx in bad[:20])


@pytest.fixture(scope="session")
def live_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNetwork]:
    home = tmp_path_factory.mktemp("flexledger-home")
    env = {**os.environ, "FLEXLEDGER_HOME": str(home), "FLEXLEDGER_BASE_PORT": str(IT_BASE_PORT)}
    net = Network(topo=default_topology(IT_BASE_PORT), layout=Layout(home), progress=lambda m: print(m, flush=True))
    try:
        bootstrap.up(net)
        yield LiveNetwork(net, env)
    finally:
        pids = {name: read_pid(net.layout, name) for name in recorded_names(net.layout)}
        net.down()
        left = [name for name, pid in pids.items() if pid_alive(pid)]
        assert not left, f"processes left behind after 'network down': {left}"

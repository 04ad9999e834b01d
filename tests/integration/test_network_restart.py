"""``network down`` leaves no process behind, and ``up`` works again after it."""

from __future__ import annotations

from network.processes import pid_alive, read_pid, recorded_names
from tests.integration.conftest import LiveNetwork


def test_down_leaves_no_process_and_up_works_again(live_network: LiveNetwork) -> None:
    net = live_network.net
    pids = [read_pid(net.layout, name) for name in recorded_names(net.layout)]
    assert len(pids) >= 15  # 4 CAs, 3 orderers, 4 peers, 4 chaincode servers (and gateways if started)
    down = live_network.cli("network", "down", check=True)
    assert f"stopped {len(pids)} processes" in down.stdout
    assert not [pid for pid in pids if pid_alive(pid)]
    assert not net.layout.home.exists() or not recorded_names(net.layout)

    live_network.cli("network", "up", check=True)
    status = live_network.status()
    assert all(n["healthy"] for n in status["nodes"])
    again = live_network.cli("network", "up", check=True)  # idempotent: a running network is left as it is
    assert "nothing to do" in again.stdout

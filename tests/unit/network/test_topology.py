"""The network as data: the block-cutting setting an operator may change."""

from __future__ import annotations

import pytest

from network.topology import Topology, default_topology


def test_batch_timeout_defaults_to_the_measured_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLEXLEDGER_BATCH_TIMEOUT", raising=False)
    assert default_topology().batch_timeout == Topology.batch_timeout == "150ms"


@pytest.mark.parametrize("value", ["10ms", "250ms", "1s", "10s"])
def test_batch_timeout_is_taken_from_the_environment(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("FLEXLEDGER_BATCH_TIMEOUT", value)
    assert default_topology().batch_timeout == value


@pytest.mark.parametrize("value", ["5", "9ms", "11s", "0.5s", "1m", "fast", "-1s"])
def test_a_bad_batch_timeout_is_refused_naming_the_setting(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("FLEXLEDGER_BATCH_TIMEOUT", value)
    with pytest.raises(ValueError, match="FLEXLEDGER_BATCH_TIMEOUT"):
        default_topology()

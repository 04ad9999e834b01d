"""``flexledger clear INPUT.json`` recognises a capacity document and prints the canonical result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from capacity_cases import bid, doc, limit

from clearing import canonical
from clearing.capacity import clear_capacity
from flexledger.cli import main


def test_the_cli_clears_a_capacity_document_to_the_oracle_bytes(tmp_path: Path) -> None:
    document = doc([bid("b1", 0.6, 50.0, divisible=False), bid("b2", 0.5, 45.0)], [limit(1.0)])
    source = tmp_path / "capacity.json"
    source.write_text(json.dumps(document))
    out = tmp_path / "result.json"
    assert main(["clear", str(source), "--out", str(out)]) == 0
    assert out.read_bytes() == canonical.dumps(clear_capacity(document))
    assert json.loads(out.read_bytes())["awards_mw"] == {"b1": 0.6, "b2": 0.4}


def test_the_cli_names_the_bid_and_the_rule_it_breaks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = doc([bid("b7", 0.0005, 40.0)], [limit(1.0)], rules={"quantity_step_mw": 0.001})
    source = tmp_path / "capacity.json"
    source.write_text(json.dumps(document))
    assert main(["clear", str(source)]) == 2
    error = capsys.readouterr().err
    assert "bids[0].quantity_mw" in error and "'b7'" in error and "quantity_step_mw" in error

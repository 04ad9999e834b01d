"""``clearing.ac_check`` and ``flexledger validate-ac``: the cleared dispatch checked by a full AC power flow."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flex_cases import chain_doc

from clearing import ValidationError
from clearing.ac_check import check_ac
from clearing.api import clear
from clearing.flex import oracle
from experiments import paper
from flexledger.cli import main

#: AC vs linearised DistFlow on the 15-node feeder: the linear model neglects losses (a few tens of kW
#: here), so voltages differ by well under a millivolt per unit.
PAPER_TOLERANCE_PU = 2e-3


@pytest.fixture(scope="module")
def paper_case() -> tuple[dict[str, Any], dict[str, Any]]:
    doc = paper.paper_instance("high", 1.0)
    return doc, clear(doc)


@pytest.fixture(scope="module")
def chain_case() -> tuple[dict[str, Any], dict[str, Any]]:
    doc = chain_doc()
    return doc, clear(doc)


def _write(tmp_path: Path, doc: Any, result: Any) -> tuple[str, str]:
    src, res = tmp_path / "in.json", tmp_path / "result.json"
    src.write_text(json.dumps(doc))
    res.write_text(json.dumps(result))
    return str(src), str(res)


def test_paper_feeder_ac_is_close_to_linear_and_feasible(paper_case: tuple[dict, dict]) -> None:
    doc, result = paper_case
    report = check_ac(doc, result)
    assert len(report.nodes) == 15 * 24 and len(report.branches) == 14 * 24
    assert report.ok and report.violations == 0
    summary = report.summary()
    assert summary["max_abs_deviation_pu"] <= PAPER_TOLERANCE_PU
    assert 0.95 <= summary["v_ac_min_pu"] <= summary["v_ac_max_pu"] <= 1.05
    assert summary["worst_branch"]["loading"] <= 1.0
    assert all(b.loss_mw >= 0 for b in report.branches)
    frame = report.nodes_frame()
    assert list(frame.columns[:3]) == ["node", "period", "v_ac_pu"] and len(frame) == 360


def test_report_is_stable_and_sorted(chain_case: tuple[dict, dict]) -> None:
    doc, result = chain_case
    first, second = check_ac(doc, result).to_dict(), check_ac(doc, result).to_dict()
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert [(n["node"], n["period"]) for n in first["nodes"]] == sorted(
        (n["node"], n["period"]) for n in first["nodes"]
    )


def test_linear_feasible_dispatch_violates_ac_voltage(chain_case: tuple[dict, dict]) -> None:
    """0 -> 1 -> 2 with r = x = 0.01 pu and 3 MW at node 2: the clearing buys just enough relief for the
    lossless linear model to hold node 2 at v_min = 0.95; the AC flow, with ~0.13 MW of losses, is below."""
    doc, result = chain_case
    assert min(v[0] for v in result["voltages_pu"].values()) >= 0.95 - 1e-6
    report = check_ac(doc, result)
    bad = [n for n in report.nodes if n.violation]
    assert [(n.node, n.period, n.violation) for n in bad] == [("2", 0, "below v_min")]
    assert bad[0].v_ac_pu < 0.95 - 1e-3 and abs(bad[0].v_linear_pu - 0.95) < 1e-6
    assert not report.ok


def test_single_long_resistive_line_just_inside_linear_limit() -> None:
    """One 0.1 pu resistive line, 0.478 MW load, no offers: linear v = sqrt(1 - 2 * 0.1 * 0.478) = 0.951;
    the exact AC solution is (1 + sqrt(1 - 0.4 * 0.478)) / 2 = 0.9497 < 0.95."""
    doc = chain_doc(demand_at_2=0.478, offers=[])
    doc["network"]["nodes"] = doc["network"]["nodes"][:2]
    doc["network"]["branches"] = [{"id": "0-1", "from": "0", "to": "1", "r_pu": 0.1, "x_pu": 0.0}]
    doc["baseline"][0]["node"] = "1"
    result = clear(doc)
    assert result["voltages_pu"]["1"][0] == pytest.approx(0.951, abs=1e-4)
    report = check_ac(doc, result)
    (node1,) = [n for n in report.nodes if n.node == "1"]
    assert node1.v_ac_pu == pytest.approx(0.9497, abs=1e-4) and node1.violation == "below v_min"


def test_cli_exit_codes_and_json(chain_case: tuple[dict, dict], paper_case: tuple[dict, dict], tmp_path: Path,
                                 capsys: pytest.CaptureFixture) -> None:  # fmt: skip
    assert main(["validate-ac", *_write(tmp_path, *chain_case)]) == 1
    out = capsys.readouterr().out
    assert "1 violation(s)" in out and "node 2 period 0" in out and "below v_min" in out
    assert main(["validate-ac", *_write(tmp_path, *paper_case), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True and data["summary"]["violations"] == 0


def test_mismatched_input_hash_names_the_field(chain_case: tuple[dict, dict], tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:  # fmt: skip
    doc, result = chain_case
    other = chain_doc(demand_at_2=2.0)
    with pytest.raises(ValidationError) as err:
        check_ac(other, result)
    assert err.value.field == "result.input_hash"
    src, res = _write(tmp_path, other, result)
    assert main(["validate-ac", src, res]) == 2
    assert f"flexledger: error: {res}: result.input_hash: does not match" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda r: r["voltages_pu"].pop("2"), "result.voltages_pu.2"),
        (lambda r: r.update(schema="nope"), "result.schema"),
        (lambda r: r["dispatch_mw"].update(Z={"p_up": [0.0]}), "result.dispatch_mw.Z"),
        (lambda r: r["dispatch_mw"]["A"].update(p_up=[0.1, 0.2]), "result.dispatch_mw.A.p_up"),
        (lambda r: r.pop("dispatch_mw"), "result.dispatch_mw"),
    ],
)
def test_bad_result_names_the_field(chain_case: tuple[dict, dict], edit: Any, field: str) -> None:
    doc, result = chain_case
    broken = copy.deepcopy(result)
    edit(broken)
    with pytest.raises(ValidationError) as err:
        check_ac(doc, broken)
    assert err.value.field == field


def test_bad_input_document_and_missing_file_exit_2(chain_case: tuple[dict, dict], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:  # fmt: skip
    doc, result = chain_case
    bad = copy.deepcopy(doc)
    bad["offers"][0]["node"] = "99"
    assert main(["validate-ac", *_write(tmp_path, bad, result)]) == 2
    assert "in.json: offers[0].node: unknown node '99'" in capsys.readouterr().err
    src, _ = _write(tmp_path, doc, result)
    missing = str(tmp_path / "absent.json")
    assert main(["validate-ac", src, missing]) == 2
    assert f"RESULT {missing}: cannot read" in capsys.readouterr().err


def test_oracle_neither_imports_nor_hashes_the_ac_check() -> None:
    """The chaincode imports clearing.api / clearing.flex: pandapower must stay out of that path, and the
    AC check (a report) must not change the oracle's sources_sha256."""
    code = "import sys, clearing.api, clearing.flex; print('pandapower' in sys.modules, 'clearing.ac_check' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "False"]
    assert not any("ac_check" in s for s in oracle._SOURCES)


def test_diverging_ac_flow_is_not_feasible(chain_case: tuple[dict, dict], tmp_path: Path,
                                           capsys: pytest.CaptureFixture) -> None:  # fmt: skip
    """60 MW at the end of the chain has no AC solution (beyond the nose of the PV curve): exit 1."""
    doc, result = copy.deepcopy(chain_case[0]), copy.deepcopy(chain_case[1])
    doc["baseline"][0]["demand_mw"] = 60.0
    del result["input_hash"]
    with pytest.raises(RuntimeError, match="did not converge in period 0"):
        check_ac(doc, result)
    assert main(["validate-ac", *_write(tmp_path, doc, result)]) == 1
    assert "not AC feasible" in capsys.readouterr().err

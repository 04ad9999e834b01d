"""``flexledger clear``: canonical output, --out, and refusals with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flex_cases import chain_doc

from clearing import clear_to_bytes
from flexledger.cli import main


def test_clear_writes_canonical_bytes_to_out_file(tmp_path: Path) -> None:
    src, out = tmp_path / "in.json", tmp_path / "out.json"
    src.write_text(json.dumps(chain_doc()))
    assert main(["clear", str(src), "--out", str(out)]) == 0
    assert out.read_bytes() == clear_to_bytes(chain_doc(), "vcg")
    assert json.loads(out.read_bytes())["mechanism"] == "vcg"


def test_clear_prints_to_stdout_with_chosen_mechanism(tmp_path: Path, capsysbinary: pytest.CaptureFixture) -> None:
    src = tmp_path / "in.json"
    src.write_text(json.dumps(chain_doc()))
    assert main(["clear", str(src), "--mechanism", "dlmp"]) == 0
    assert capsysbinary.readouterr().out == clear_to_bytes(chain_doc(), "dlmp") + b"\n"


def test_bad_document_exits_2_naming_the_field(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    doc = chain_doc()
    doc["offers"][2]["node"] = "99"
    src = tmp_path / "in.json"
    src.write_text(json.dumps(doc))
    assert main(["clear", str(src)]) == 2
    assert "flexledger: error: offers[2].node: unknown node '99'" in capsys.readouterr().err


def test_invalid_json_and_missing_file_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = tmp_path / "in.json"
    src.write_text("{not json")
    assert main(["clear", str(src)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert main(["clear", str(tmp_path / "absent.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_unknown_mechanism_flag_is_refused_by_the_parser(tmp_path: Path) -> None:
    src = tmp_path / "in.json"
    src.write_text(json.dumps(chain_doc()))
    with pytest.raises(SystemExit) as caught:
        main(["clear", str(src), "--mechanism", "pay-as-bid"])
    assert caught.value.code == 2

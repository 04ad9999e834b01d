"""Same input, same bytes: across processes, input orders and key orders."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from flex_cases import clone

from clearing import canonical, clear_to_bytes
from clearing.flex import clear_flexibility
from clearing.flex.synthetic import feeder_document

REPO = Path(__file__).resolve().parents[3]


def _shuffled(doc: dict, seed: int) -> dict:
    """The same market with every list that has no meaning of order shuffled and keys reversed."""
    rng = random.Random(seed)
    doc = clone(doc)
    for seq in (doc["offers"], doc["baseline"], doc["network"]["nodes"], doc["network"]["branches"]):
        rng.shuffle(seq)
    for o in doc["offers"]:
        o["products"] = dict(reversed(list(o["products"].items())))
    return {k: doc[k] for k in reversed(list(doc))}


def _doc() -> dict:
    return feeder_document(nodes=25, periods=6, offers=30, owners=12, seed=21)


@pytest.mark.parametrize("mechanism", ["vcg", "dlmp"])
def test_shuffled_input_gives_identical_bytes(mechanism: str) -> None:
    doc = _doc()
    expected = clear_to_bytes(doc, mechanism)
    for seed in (1, 2):
        assert clear_to_bytes(_shuffled(doc, seed), mechanism) == expected


def test_result_hash_is_the_hash_of_the_result_without_it() -> None:
    result = clear_flexibility(_doc(), "vcg")
    rest = {k: v for k, v in result.items() if k != "result_hash"}
    assert result["result_hash"] == canonical.hash_of(rest)
    assert canonical.dumps(json.loads(canonical.dumps(result))) == canonical.dumps(result)


def test_result_reports_solver_and_code_versions() -> None:
    oracle = clear_flexibility(_doc(), "dlmp")["oracle"]
    assert oracle["solver"]["options"]["threads"] == "1"
    assert oracle["solver"]["options"]["primal_feasibility_tolerance"] == "1e-09"
    assert "random_seed" in oracle["solver"]["options"]
    assert oracle["solver"]["highspy"] and oracle["solver"]["pyomo"]
    assert len(oracle["code"]["sources_sha256"]) == 64
    assert "tie_break" in oracle


def test_two_processes_produce_identical_bytes(tmp_path: Path) -> None:
    doc = _doc()
    (tmp_path / "a.json").write_text(json.dumps(doc))
    (tmp_path / "b.json").write_text(json.dumps(_shuffled(doc, 3), indent=2))
    outputs = []
    for name, hash_seed in (("a", "1"), ("b", "977")):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        out = tmp_path / f"{name}.out"
        subprocess.run(
            [sys.executable, "-m", "flexledger.cli", "clear", str(tmp_path / f"{name}.json"), "--out", str(out)],
            cwd=REPO, env=env, check=True, timeout=120,
        )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0] == clear_to_bytes(doc, "vcg")

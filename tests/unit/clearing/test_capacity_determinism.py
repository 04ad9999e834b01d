"""Same input, same bytes: whatever the order of bids or keys, in any process."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from capacity_cases import random_doc

from clearing import canonical
from clearing.capacity import clear_capacity

REPO = Path(__file__).resolve().parents[3]


def shuffled(document: dict, seed: int) -> dict:
    """The same market with bids, limits and every object's keys in another order."""
    rng = random.Random(seed)

    def reorder(value: object) -> object:
        if isinstance(value, dict):
            keys = list(value)
            rng.shuffle(keys)
            return {key: reorder(value[key]) for key in keys}
        if isinstance(value, list):
            return [reorder(item) for item in value]
        return value

    out = reorder(document)
    rng.shuffle(out["bids"])
    rng.shuffle(out["limits"])
    return out


def test_the_order_of_bids_limits_and_keys_changes_neither_bytes_nor_hashes() -> None:
    document = random_doc(11, n_bids=14, pricing="uniform")
    first = canonical.dumps(clear_capacity(document))
    for seed in range(3):
        assert canonical.dumps(clear_capacity(shuffled(document, seed))) == first


def test_result_hash_covers_the_canonical_result_and_input_hash_the_normalised_input() -> None:
    document = random_doc(12, n_bids=8)
    result = clear_capacity(document)
    body = {key: value for key, value in result.items() if key != "result_hash"}
    assert result["result_hash"] == canonical.hash_of(body)
    changed = json.loads(json.dumps(document))
    changed["bids"][0]["price_eur_per_mwh"] += 1.0
    assert clear_capacity(changed)["input_hash"] != result["input_hash"]


def test_the_oracle_block_reports_code_and_fixed_solver_options() -> None:
    oracle = clear_capacity(random_doc(1, n_bids=4))["oracle"]
    assert oracle["solver"]["name"] == "HiGHS"
    assert oracle["solver"]["options"]["threads"] == 1
    assert oracle["solver"]["options"]["mip_rel_gap"] == "0.0"
    assert oracle["solver"]["options"]["mip_feasibility_tolerance"] == "1e-09"
    assert "random_seed" in oracle["solver"]["options"]
    assert len(oracle["code"]["sources_sha256"]) == 64


def test_two_processes_with_different_hash_seeds_print_the_same_bytes() -> None:
    document = random_doc(13, n_bids=12, pricing="uniform")
    script = (
        "import json, sys\n"
        "from clearing import canonical\n"
        "from clearing.capacity import clear_capacity\n"
        "sys.stdout.write(canonical.dumps(clear_capacity(json.load(sys.stdin))).decode())\n"
    )
    runs = []
    for hash_seed, seed in (("1", 0), ("2", 1)):  # both processes at once: the import of pyomo dominates
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        process = subprocess.Popen(
            [sys.executable, "-c", script],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=env,
        )
        runs.append((process, json.dumps(shuffled(document, seed))))
    outputs = set()
    for process, stdin in runs:
        out, err = process.communicate(stdin, timeout=300)
        assert process.returncode == 0, err
        outputs.add(out)
    outputs.add(canonical.dumps(clear_capacity(document)).decode())
    assert len(outputs) == 1


def test_concurrent_clearings_in_threads_give_the_sequential_bytes() -> None:
    # the chaincode server clears in worker threads: no shared solver state, no fd redirection
    documents = [random_doc(20 + i, n_bids=12) for i in range(4)]
    sequential = [canonical.dumps(clear_capacity(d)) for d in documents]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda d: canonical.dumps(clear_capacity(d)), documents))
    assert threaded == sequential

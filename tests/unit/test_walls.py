"""The walls between the parts (docs: README "Layout"): who may import whom."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: For each part, the other parts it must never import.
FORBIDDEN = {
    "clearing": {"chaincode", "gateway", "network", "flexledger", "fabric_protos", "fabric_chaincode_python",
                 "grpc", "fastapi", "httpx", "uvicorn", "experiments", "restapi"},
    "experiments": {"chaincode", "gateway", "network", "flexledger", "restapi"},
    "chaincode": {"gateway", "network", "flexledger", "experiments", "restapi"},
    "contract": {"clearing", "chaincode", "gateway", "network", "flexledger", "fabric_protos",
                 "fabric_chaincode_python", "grpc", "fastapi", "httpx", "uvicorn", "google"},
    "network": {"clearing", "chaincode", "gateway", "flexledger"},
    "gateway": {"chaincode", "network", "flexledger", "restapi", "fastapi", "uvicorn"},
    "restapi": {"chaincode", "network", "flexledger"},
    "adapters": {"chaincode", "network", "flexledger", "gateway", "restapi"},
}  # fmt: skip


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("part", sorted(FORBIDDEN))
def test_part_imports_only_what_its_wall_allows(part: str) -> None:
    crossings = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / part).rglob("*.py")
        for name in _imports(path) & FORBIDDEN[part]
    }
    assert not crossings, sorted(crossings)


def test_the_fabric_client_knows_nothing_of_the_state_folder() -> None:
    """gateway/ connects to the profile it is given; where profiles live is flexledger/'s business."""
    knowing = [str(p.relative_to(ROOT)) for p in (ROOT / "gateway").rglob("*.py") if "FLEXLEDGER_HOME" in p.read_text()]
    assert not knowing, knowing


def test_the_network_operations_know_no_market() -> None:
    """network/ starts nodes and changes the channel; the governance record and the oracle switch are the market's."""
    market_words = ("InitMarketplace", "GetMarketplace", "MembershipChange", "ORACLE_FAULT", "oracle")
    knowing = sorted(f"{p.relative_to(ROOT)}: {w}" for p in (ROOT / "network").rglob("*.py")
                     for w in market_words if w in p.read_text())  # fmt: skip
    assert not knowing, knowing

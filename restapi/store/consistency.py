"""Does the query store say what the ledger says? Compare both, record by record, at one ledger height.

Why: the store is trusted by every list endpoint, so an operator (or an auditor) must be able to check it
against the chaincode's own answers at any time, not only in tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from restapi.store.db import QueryStore

#: evaluate(function, *args) -> decoded JSON, as the caller
Evaluate = Callable[..., Any]
MAX_DIFFERENCES = 50


@dataclass
class ConsistencyReport:
    height: int
    checked: dict[str, int] = field(default_factory=dict)
    differences: list[str] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return not self.differences


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _compare(report: ConsistencyReport, what: str, ledger: list[Any], store: list[Any]) -> None:
    report.checked[what.split(" ")[0]] = report.checked.get(what.split(" ")[0], 0) + len(ledger)
    by_id_l = {r.get("id"): r for r in ledger if isinstance(r, dict)}
    by_id_s = {r.get("id"): r for r in store if isinstance(r, dict)}
    for rid in sorted(set(by_id_l) | set(by_id_s), key=str):
        if len(report.differences) >= MAX_DIFFERENCES:
            return
        if rid not in by_id_s:
            report.differences.append(f"{what}: {rid} is on the ledger, not in the store")
        elif rid not in by_id_l:
            report.differences.append(f"{what}: {rid} is in the store, not on the ledger")
        elif _canon(by_id_l[rid]) != _canon(by_id_s[rid]):
            report.differences.append(f"{what}: {rid} differs")
    if [r.get("id") for r in ledger] != [r.get("id") for r in store] and not report.differences:
        report.differences.append(f"{what}: same records in another order")


def _all_devices(evaluate: Evaluate) -> list[Any]:
    devices: list[Any] = []
    bookmark = ""
    while True:
        page = evaluate("ListDevices", json.dumps({"page_size": 500, "bookmark": bookmark}))
        devices.extend(page["devices"])
        bookmark = page.get("bookmark") or ""
        if not bookmark:
            return devices


def check(store: QueryStore, evaluate: Evaluate, height: Callable[[], int], attempts: int = 5,
          wait_seconds: float = 10.0) -> ConsistencyReport:
    """Markets, every market's bids and devices, from the chaincode and from the store, at one height.

    The ledger may grow while the chaincode is read: the comparison counts only when the height was the
    same before and after and the store held exactly that height; else it is repeated.
    """
    report = ConsistencyReport(height=-1)
    for _ in range(attempts):
        before = height()
        store.wait_for(before, wait_seconds)
        report = ConsistencyReport(height=before)
        markets = evaluate("ListMarkets", "")
        _compare(report, "markets", markets, store.all("market"))
        for market in markets:
            recorded = [b for b in evaluate("ListBids", market["id"]) if b.get("status") != "posted"]  # slots: not records
            _compare(report, f"bids of {market['id']}", recorded, store.all("bid", market["id"]))
        _compare(report, "devices", _all_devices(evaluate), store.all("device"))
        if height() == before and store.next_block == before:
            return report
    report.differences.append(f"the ledger kept growing: no stable height in {attempts} attempts")
    return report

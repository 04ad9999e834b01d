"""CPU time of the processes that carry a transaction, grouped by kind, read from ``/proc``.

Why ``/proc/<pid>/stat`` rather than wall-clock profiling: the question is where the 2 cores go per
committed bid, whatever else runs; utime + stime of a process counts every one of its threads.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Mapping

from network.layout import Layout
from network.processes import recorded_names, running

_TICKS = os.sysconf("SC_CLK_TCK")
#: Network process names end with their kind (``agg1-peer``); these carry a transaction.
NETWORK_KINDS = ("peer", "orderer", "chaincode")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` so far; 0 for a process that is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14 and 15 of stat(5))


def network_pids(layout: Layout) -> dict[str, list[int]]:
    """Pids of the running network's peers, orderers and chaincode servers, by kind."""
    by_kind: dict[str, list[int]] = defaultdict(list)
    for name in recorded_names(layout):
        kind = name.rpartition("-")[2]
        pid = running(layout, name)
        if kind in NETWORK_KINDS and pid is not None:
            by_kind[kind].append(pid)
    return dict(by_kind)


def snapshot(pids: Mapping[str, list[int]]) -> dict[str, float]:
    return {kind: sum(cpu_seconds(p) for p in group) for kind, group in pids.items()}


def spent(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    return {kind: after[kind] - before.get(kind, 0.0) for kind in after}

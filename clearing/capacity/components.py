"""Decomposition of the premium-capacity MILP into independent pieces.

Why: feeders never share capacity, and periods are linked only by bids that span
several of them. Two bids compete only through a cell (feeder, period) whose capacity
could run out; cells where every bid could get its full upper bound never bind and
link nobody. The connected components of "shares a cell that can bind" are solved as
separate, small MILPs — same optimum as one big model, far faster — and bids outside
every such cell get their upper bound without a solver call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from clearing.capacity.grid import Cell, cells, headroom
from clearing.capacity.model import Bid


@dataclass(frozen=True)
class Component:
    """Bids that compete for capacity, with the cells that can bind between them."""

    bids: tuple[Bid, ...]
    upper_bounds: Mapping[str, int]
    cells: tuple[Cell, ...]
    cell_bids: Mapping[Cell, tuple[str, ...]]
    capacity: Mapping[Cell, int]


@dataclass(frozen=True)
class Split:
    """Awards settled without a solver (``fixed``) and the components left to solve."""

    fixed: dict[str, int] = field(default_factory=dict)
    components: list[Component] = field(default_factory=list)


class _UnionFind:
    def __init__(self, items: list[str]) -> None:
        self.parent = {item: item for item in items}

    def find(self, item: str) -> str:
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # the smaller id becomes the root, so roots do not depend on call order
            self.parent[max(ra, rb)] = min(ra, rb)


def split_components(bids: tuple[Bid, ...], capacity: Mapping[Cell, int]) -> Split:
    """Settle what needs no solver and group the rest into independent components."""
    split = Split()
    upper: dict[str, int] = {}
    for bid in bids:
        ub = min(bid.quantity_micro, headroom(bid, capacity))
        if ub <= 0 or ub < bid.min_micro:
            split.fixed[bid.id] = 0
        else:
            upper[bid.id] = ub
    by_id = {bid.id: bid for bid in bids}
    cell_members: dict[Cell, list[str]] = {}
    for bid_id in sorted(upper):
        for cell in cells(by_id[bid_id]):
            cell_members.setdefault(cell, []).append(bid_id)
    binding = sorted(
        cell
        for cell, members in cell_members.items()
        if sum(upper[b] for b in members) > capacity.get(cell, 0)
    )
    finder = _UnionFind(sorted(upper))
    linked: set[str] = set()
    for cell in binding:
        members = cell_members[cell]
        linked.update(members)
        for other in members[1:]:
            finder.union(members[0], other)
    for bid_id in sorted(upper):
        if bid_id not in linked:
            split.fixed[bid_id] = upper[bid_id]
    groups: dict[str, list[str]] = {}
    for bid_id in sorted(linked):
        groups.setdefault(finder.find(bid_id), []).append(bid_id)
    cells_of: dict[str, list[Cell]] = {}
    for cell in binding:
        cells_of.setdefault(finder.find(cell_members[cell][0]), []).append(cell)
    for root in sorted(groups):
        members = groups[root]
        group_cells = tuple(cells_of[root])
        split.components.append(
            Component(
                bids=tuple(by_id[b] for b in members),
                upper_bounds={b: upper[b] for b in members},
                cells=group_cells,
                cell_bids={cell: tuple(cell_members[cell]) for cell in group_cells},
                capacity={cell: capacity.get(cell, 0) for cell in group_cells},
            )
        )
    return split

"""Splitting a feeder into independent parts: the subtrees hanging off the slack node.

Why: when the exchange with the transmission grid is free (``substation.p_mw`` and ``q_mvar``
both null), the slack node's balance absorbs anything and its voltage is fixed, so nothing
links two subtrees of the slack node: each is an LP of its own, for every period. Smaller LPs
make each VCG re-solve cheaper (HiGHS's cost per solve grows with the LP's size). With a fixed
exchange (eqs. 14-15) the subtrees share the substation constraint and the feeder stays whole.

Each part is a :class:`FlexInstance` holding the slack node and one subtree; the slack node's
own baseline rows and offers go to the first part (with a free exchange they never change its
cost). Parts keep the instance's sorted order, so every index maps back by id.
"""

from __future__ import annotations

import dataclasses

from clearing.flex.instance import FlexInstance


def split_feeder(inst: FlexInstance) -> list[FlexInstance]:
    """The independent parts of ``inst`` (``[inst]`` itself when it does not split)."""
    if inst.substation_p_mw is not None or inst.substation_q_mvar is not None:
        return [inst]
    slack = inst.slack
    roots = [b.to_node for b in inst.branches if b.from_node == slack]  # branch-id order
    if len(roots) <= 1:
        return [inst]
    children: dict[str, list[str]] = {}
    for b in inst.branches:
        children.setdefault(b.from_node, []).append(b.to_node)
    parts = []
    for k, root in enumerate(roots):
        members = {root}
        stack = [root]
        while stack:
            for child in children.get(stack.pop(), []):
                members.add(child)
                stack.append(child)
        keep = members | {slack}
        own = members | ({slack} if k == 0 else set())
        parts.append(
            dataclasses.replace(
                inst,
                nodes=tuple(n for n in inst.nodes if n.id in keep),
                branches=tuple(b for b in inst.branches if b.to_node in members),
                baseline=tuple(r for r in inst.baseline if r.node in own),
                offers=tuple(o for o in inst.offers if o.node in own),
            )
        )
    return parts

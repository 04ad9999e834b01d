"""``network up`` as the marketplace needs it: the Fabric network, then the market's own first steps.

``network/`` brings up nodes, channel and chaincode and knows nothing of the market; this module adds
what the market needs once the chaincode answers: its governance record (:mod:`flexledger.governance`)
and, for tests of the endorsement guard only, a perturbed oracle (:mod:`flexledger.fault_injection`).
Every step is idempotent, so ``up`` stays safe to repeat.
"""

from __future__ import annotations

from typing import Any

from flexledger import fault_injection, governance
from network.manager import Network


def up(net: Network, oracle_fault: str | None = None) -> dict[str, Any]:
    """Bring the network up (or restart what died), record the governance, set the oracle switch."""
    if oracle_fault is not None:
        net.topo.org(oracle_fault)  # unknown org → KeyError with the known names, before starting anything
    net.up()
    governance.ensure_initialised(net)
    fault_injection.set_oracle_fault(net, oracle_fault)
    return net.state()

"""Test support: run one organisation's chaincode server with a deliberately perturbed oracle.

Why it exists: the endorsement guard (every endorsing peer must compute the same clearing) can only be
shown failing on the real network when one peer's oracle really differs; ``network up --oracle-fault
ORG`` switches that on, a plain ``network up`` switches it off again. The chaincode reads the switch
from ``FLEXLEDGER_ORACLE_FAULT`` (``chaincode/server.py``); ``network/`` only carries the variable as
an opaque extra environment of that org's server (:meth:`network.manager.Network.set_chaincode_env`).
"""

from __future__ import annotations

from network.manager import Network

ENV = "FLEXLEDGER_ORACLE_FAULT"


def set_oracle_fault(net: Network, org: str | None) -> None:
    """Perturb ``org``'s oracle (``None``: honest oracles everywhere); restarts the servers only on a change."""
    if org is not None:
        net.topo.org(org)  # unknown org → KeyError with the known names
    why = f"with a perturbed oracle at {org}" if org else "with honest oracles everywhere"
    net.set_chaincode_env({org: {ENV: "1"}} if org else {}, why)
    net._save_state(oracle_fault=org)


def oracle_fault(net: Network) -> str | None:
    """The organisation whose oracle is perturbed, if any."""
    return net.state().get("oracle_fault")

"""The network as data: organisations, their nodes, ports and identities.

The default is DESIGN.md's: ``dso``, ``agg1``, ``agg2`` (market participants: CA, peer,
orderer, chaincode server each) and ``auditor`` (CA, peer and chaincode server; no orderer,
never needed for endorsement). Every port derives from one base port so that a second network
(or a test) can move the whole set with one setting.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

DEFAULT_BASE_PORT = 27000
HOST = "127.0.0.1"
DOMAIN = "flexledger.local"


@dataclass(frozen=True)
class User:
    """A client identity enrolled at its organisation's CA, carrying a ``role`` attribute."""

    name: str
    role: str


@dataclass(frozen=True)
class Org:
    """An organisation's nodes: a CA, a peer and a chaincode server, and an orderer if ``runs_orderer``.

    ``index`` places its block of 100 ports above ``base_port``; ``endorses``: a market organisation, whose
    peer the chaincode's endorsement policy names (the auditor's peer only keeps a copy of the ledger).
    """

    name: str
    index: int
    runs_orderer: bool
    endorses: bool
    users: tuple[User, ...]
    base_port: int = DEFAULT_BASE_PORT

    @property
    def msp_id(self) -> str:
        return f"{self.name}MSP"

    @property
    def domain(self) -> str:
        return f"{self.name}.{DOMAIN}"

    def _port(self, offset: int) -> int:
        return self.base_port + 100 * self.index + offset

    # One block of 100 ports per organisation.
    @property
    def ca_port(self) -> int:
        return self._port(0)

    @property
    def ca_ops_port(self) -> int:
        return self._port(1)

    @property
    def peer_port(self) -> int:
        return self._port(10)

    @property
    def peer_chaincode_port(self) -> int:
        return self._port(11)

    @property
    def peer_ops_port(self) -> int:
        return self._port(12)

    @property
    def orderer_port(self) -> int:
        return self._port(20)

    @property
    def orderer_admin_port(self) -> int:
        return self._port(21)

    @property
    def orderer_ops_port(self) -> int:
        return self._port(22)

    @property
    def chaincode_port(self) -> int:
        return self._port(30)

    @property
    def gateway_port(self) -> int:
        return self._port(40)

    @property
    def peer_host(self) -> str:
        return f"peer0.{self.domain}"

    @property
    def orderer_host(self) -> str:
        return f"orderer0.{self.domain}"

    @property
    def ca_name(self) -> str:
        return f"ca-{self.name}"


@dataclass(frozen=True)
class Topology:
    orgs: tuple[Org, ...]
    channel: str = "flexchannel"
    chaincode: str = "flexledger"
    chaincode_version: str = "1.0"
    host: str = HOST
    # Raft cuts a block after this long or when the batch is full (FLEXLEDGER_BATCH_TIMEOUT; docs/network.md).
    batch_timeout: str = "150ms"
    extra: dict[str, str] = field(default_factory=dict)

    def org(self, name: str) -> Org:
        for org in self.orgs:
            if org.name == name:
                return org
        raise KeyError(f"unknown organisation {name!r}; known: {', '.join(o.name for o in self.orgs)}")

    @property
    def orderer_orgs(self) -> tuple[Org, ...]:
        return tuple(o for o in self.orgs if o.runs_orderer)

    @property
    def endorsing_orgs(self) -> tuple[Org, ...]:
        return tuple(o for o in self.orgs if o.endorses)

    @property
    def endorsement_policy(self) -> str:
        """Every market organisation endorses every transaction, clearing included."""
        members = ",".join(f"'{o.msp_id}.peer'" for o in self.endorsing_orgs)
        return f"AND({members})"


def batch_timeout_from_env(default: str) -> str:
    """``FLEXLEDGER_BATCH_TIMEOUT`` (a Go duration such as ``250ms`` or ``1s``, 10 ms to 10 s), else ``default``."""
    value = os.environ.get("FLEXLEDGER_BATCH_TIMEOUT", "").strip()
    if not value:
        return default
    m = re.fullmatch(r"(\d+)(ms|s)", value)
    millis = None if m is None else int(m.group(1)) * (1 if m.group(2) == "ms" else 1000)
    if millis is None or not 10 <= millis <= 10_000:
        raise ValueError(f"FLEXLEDGER_BATCH_TIMEOUT: must be a duration from 10ms to 10s like 250ms or 1s, got {value!r}")
    return value


def default_topology(base_port: int | None = None) -> Topology:
    if base_port is None:
        base_port = int(os.environ.get("FLEXLEDGER_BASE_PORT", DEFAULT_BASE_PORT))
    specs = [
        ("dso", True, True, (User("operator", "dso"), User("settlement", "settlement"), User("tso", "tso"))),
        ("agg1", True, True, (User("trader", "aggregator"),)),
        ("agg2", True, True, (User("trader", "aggregator"),)),
        ("auditor", False, False, (User("inspector", "auditor"),)),
    ]
    orgs = tuple(
        Org(name, i, orderer, endorses, (User("admin", "admin"), *users), base_port)
        for i, (name, orderer, endorses, users) in enumerate(specs)
    )
    return Topology(orgs, batch_timeout=batch_timeout_from_env(Topology.batch_timeout))

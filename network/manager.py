"""``network up | down | status``: the whole local network with one command.

``up`` is idempotent: on a running network it only reports; where processes died it restarts
them from the state on disk; on a fresh state it bootstraps everything (CAs, identities,
configs, orderers, peers, channel, chaincode lifecycle, chaincode servers). What the market needs on
top (its governance record, test-only fault switches) is not operations: the caller
adds it (:mod:`flexledger.bootstrap`, :mod:`flexledger.fault_injection`) through the generic means
here — :meth:`Network.invoke` and :meth:`Network.set_chaincode_env`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from network import channel, configs, lifecycle, membership, pki, processes
from network.binaries import FABRIC_CA_TOOLS, BinariesMissing, fabric_build, locate
from network.fabric_versions import FabricBuild
from network.health import https_ok
from network.layout import Layout
from network.pki import Enrolled
from network.processes import ProcessSpec
from network.profiles import write_profiles
from network.status import ChaincodeStatus, FabricStatus, GatewayStatus, NetworkStatus, NodeStatus
from network.topology import Org, Topology, default_topology

Progress = Callable[[str], None]


class BootstrapFailed(RuntimeError):
    """A step of ``up`` failed; the message names the step and what the nodes involved logged."""


def _print(msg: str) -> None:
    print(f"[network] {msg}", flush=True)


@dataclass
class Network:
    """A local network described by a topology and living in a layout (state folder)."""

    topo: Topology = field(default_factory=default_topology)
    layout: Layout = field(default_factory=Layout.default)
    progress: Progress = _print

    def __post_init__(self) -> None:
        #: the organisations the genesis block was made for; ``topo`` is the current membership
        self.founding = self.topo
        self.topo = membership.current(self.topo, self.state())

    # ---- state file -------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        try:
            return json.loads(self.layout.state_file.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def _save_state(self, **updates: Any) -> None:
        state = {**self.state(), **updates}
        self.layout.home.mkdir(parents=True, exist_ok=True)
        self.layout.state_file.write_text(json.dumps(state, indent=2, sort_keys=True))

    @functools.cached_property
    def fabric(self) -> FabricBuild:
        """The Fabric build the binaries are of: decides how every config is rendered."""
        return fabric_build()

    def fingerprint(self) -> dict[str, str]:
        """What the genesis block was made for: the Fabric line and the founding topology (orgs, ports, channel).

        Organisations added or removed later are recorded in the state (:mod:`network.membership`), not here.
        """
        return {"fabric_line": self.fabric.line.key,
                "topology": hashlib.sha256(repr(self.founding).encode()).hexdigest()[:16]}  # fmt: skip

    def _refuse_foreign_state(self, state: dict[str, Any]) -> None:
        """A genesis block made for another Fabric line or topology must not be run on (it fails obscurely)."""
        made = state.get("fingerprint")
        if not isinstance(made, dict):
            return  # a state folder from before fingerprints: nothing to compare
        now = self.fingerprint()
        changed = []
        if made.get("fabric_line") != now["fabric_line"]:
            changed.append(f"it was made with {state.get('fabric', made.get('fabric_line'))}, the binaries now are "
                           f"{self.fabric.summary}")
        if made.get("topology") != now["topology"]:
            changed.append("its organisations, ports or channel differ from this topology (FLEXLEDGER_BASE_PORT?)")
        if changed:
            raise RuntimeError(f"{self.layout.home} holds a network whose genesis block does not fit: "
                               + "; ".join(changed) + ". Run 'flexledger network down' first (its ledgers are lost).")

    # ---- process specs ------------------------------------------------------------------
    def _enrolled(self, org: Org, node: str) -> Enrolled:
        base = self.layout.node_dir(org.name, node)
        return Enrolled(base / "msp", base / "tls")

    def orderer_spec(self, org: Org) -> ProcessSpec:
        node = self.layout.node_dir(org.name, "orderer0")
        configs.write_yaml(node / "orderer.yaml",
                           configs.orderer_config(self.layout, self.topo, org, self._enrolled(org, "orderer0"),
                                                  self.fabric.line))
        return ProcessSpec(f"{org.name}-orderer", [str(locate("orderer"))], {"FABRIC_CFG_PATH": str(node)}, node,
                           (org.orderer_port, org.orderer_admin_port, org.orderer_ops_port))  # fmt: skip

    def peer_spec(self, org: Org) -> ProcessSpec:
        node = self.layout.node_dir(org.name, "peer0")
        peer = self._enrolled(org, "peer0")
        configs.write_yaml(node / "core.yaml", configs.peer_core(self.layout, self.topo, org, peer, self.fabric.line))
        env = {
            "FABRIC_CFG_PATH": str(node),
            "FLEXLEDGER_CHAINCODE_ADDRESS": f"{self.topo.host}:{org.chaincode_port}",
            "FLEXLEDGER_CHAINCODE_ROOT_CERT": str(self.layout.ca_cert(org.name)),
            "FLEXLEDGER_PEER_TLS_CERT": str(peer.tls_cert),
            "FLEXLEDGER_PEER_TLS_KEY": str(peer.tls_key),
        }
        return ProcessSpec(f"{org.name}-peer", [str(locate("peer")), "node", "start"], env, node,
                           (org.peer_port, org.peer_chaincode_port, org.peer_ops_port))  # fmt: skip

    def chaincode_spec(self, org: Org, package_id: str) -> ProcessSpec:
        tls = self._enrolled(org, "chaincode")
        env = {
            "CHAINCODE_ID": package_id,
            "CHAINCODE_SERVER_ADDRESS": f"{self.topo.host}:{org.chaincode_port}",
            "CHAINCODE_TLS_KEY_FILE": str(tls.tls_key),
            "CHAINCODE_TLS_CERT_FILE": str(tls.tls_cert),
            "CHAINCODE_TLS_CLIENT_CA_FILE": str(self.layout.ca_cert(org.name)),
            "FLEXLEDGER_ORG": org.name,
            "PYTHONUNBUFFERED": "1",
            **self.state().get("chaincode_env", {}).get(org.name, {}),
        }
        node = self.layout.node_dir(org.name, "chaincode")
        return ProcessSpec(f"{org.name}-chaincode", [sys.executable, "-m", "chaincode"], env, node,
                           (org.chaincode_port,))  # fmt: skip

    def gateway_spec(self, org: Org) -> ProcessSpec:
        argv = [sys.executable, "-m", "flexledger.cli", "gateway", "up", "--org", org.name,
                "--host", self.topo.host, "--port", str(org.gateway_port)]  # fmt: skip
        env = {"FLEXLEDGER_HOME": str(self.layout.home), "PYTHONUNBUFFERED": "1"}
        return ProcessSpec(f"{org.name}-gateway", argv, env, self.layout.home, (org.gateway_port,))

    def start_gateways(self) -> dict[str, str]:
        """Start each organisation's REST gateway (idempotent); return their URLs by org."""
        self._start_all([(self.gateway_spec(o), o.gateway_port) for o in self.topo.orgs])
        return self.gateway_urls()

    def gateway_urls(self) -> dict[str, str]:
        return {o.name: f"http://{self.topo.host}:{o.gateway_port}" for o in self.topo.orgs}

    # ---- up ---------------------------------------------------------------------------
    def _start_all(self, specs: list[tuple[ProcessSpec, int]]) -> None:
        for spec, _ in specs:
            processes.start(self.layout, spec, self.topo.host)
        for spec, port in specs:
            processes.wait_for_port(self.layout, spec.name, self.topo.host, port)

    def up(self) -> dict[str, Any]:
        for tool in FABRIC_CA_TOOLS:
            locate(tool)  # fail before starting anything when a binary is missing
        self.progress(f"Fabric: {self.fabric.summary}")
        started = time.monotonic()
        state = self.state()
        self._refuse_foreign_state(state)
        if state.get("ready"):
            dead = self._restart_dead(state)
            self.progress("network is up" + (f" (restarted {', '.join(dead)})" if dead else ", nothing to do"))
            return self.state()
        if self.layout.home.exists() and any(self.layout.home.iterdir()) and not state.get("bootstrapping"):
            raise RuntimeError(f"{self.layout.home} holds a partial network; run 'flexledger network down' first")
        self._save_state(bootstrapping=True, fingerprint=self.fingerprint(), fabric=self.fabric.summary)
        self._bootstrap()
        elapsed = time.monotonic() - started
        self._save_state(bootstrapping=False, ready=True, up_seconds=round(elapsed, 1))
        self.progress(f"network ready: chaincode '{self.topo.chaincode}' answers on every peer, {elapsed:.1f} s after 'up'")
        return self.state()

    @contextlib.contextmanager
    def step(self, title: str, nodes: list[str] | tuple[str, ...] = ()) -> Iterator[None]:
        """Report a bootstrap step; on failure stop ``up`` naming the step and the nodes' own words."""
        self.progress(title)
        try:
            yield
        except (BinariesMissing, KeyboardInterrupt):
            raise
        except Exception as exc:
            words = [f"  {name}: {line}" for name in nodes for line in processes.last_words(self.layout, name)]
            said = ("\nwhat the nodes logged:\n" + "\n".join(words)) if words else ""
            raise BootstrapFailed(f"'{title}' failed: {exc}{said}") from exc

    def _bootstrap(self) -> None:
        topo, layout = self.topo, self.layout
        cas = [f"{o.name}-ca" for o in topo.orgs]
        orderers = [f"{o.name}-orderer" for o in topo.orderer_orgs]
        peers = [f"{o.name}-peer" for o in topo.orgs]
        with self.step(f"starting {len(topo.orgs)} Fabric CAs", cas):
            self._start_all([(pki.ca_process(layout, topo, o), o.ca_port) for o in topo.orgs])
            self._wait_cas()

        with self.step("enrolling identities at each organisation's CA (admins, nodes, users with role "
                        "attributes, TLS)", cas), ThreadPoolExecutor(max_workers=len(topo.orgs)) as pool:  # fmt: skip
            issued = dict(zip([o.name for o in topo.orgs],
                              pool.map(lambda o: pki.enrol_org(layout, topo, o), topo.orgs), strict=True))  # fmt: skip

        with self.step(f"starting {len(topo.orderer_orgs)} orderers and {len(topo.orgs)} peers", orderers + peers):
            specs = [(self.orderer_spec(o), o.orderer_port) for o in topo.orderer_orgs]
            specs += [(self.peer_spec(o), o.peer_port) for o in topo.orgs]
            self._start_all(specs)

        with self.step(f"creating channel '{topo.channel}' (Raft across {', '.join(o.name for o in topo.orderer_orgs)}, "
                        f"channel capability {self.fabric.line.channel_capability})", orderers):  # fmt: skip
            channel.create_genesis(layout, topo, {o.name: issued[o.name]["orderer0"] for o in topo.orderer_orgs},
                                   self.fabric.line)
            channel.join_orderers(layout, topo)
        with self.step("joining every peer to the channel", peers + orderers):
            channel.join_peers(layout, topo)

        package, package_id = lifecycle.build_package(layout, topo)
        self._save_state(package_id=package_id, sequence=1)
        with self.step("installing the chaincode package on every peer", peers), \
                ThreadPoolExecutor(max_workers=len(topo.orgs)) as pool:  # fmt: skip
            list(pool.map(lambda o: lifecycle.install(layout, topo, o, package, package_id), topo.orgs))
        if lifecycle.committed(layout, topo) is None:
            approved = lifecycle.approvals(layout, topo, 1)
            pending = [o for o in topo.orgs if not approved.get(o.name)]
            with self.step(f"approving the chaincode definition for {', '.join(o.name for o in pending) or 'nobody'}",
                            peers + orderers), ThreadPoolExecutor(max_workers=len(topo.orgs)) as pool:  # fmt: skip
                list(pool.map(lambda o: lifecycle.approve(layout, topo, o, package_id, 1), pending))
            with self.step(f"committing the definition (endorsement policy {topo.endorsement_policy})",
                            peers + orderers):  # fmt: skip
                lifecycle.commit(layout, topo, 1)

        servers = [f"{o.name}-chaincode" for o in topo.orgs]
        with self.step(f"starting {len(topo.orgs)} chaincode servers (package {package_id[:40]}...)", servers):
            self._start_all([(self.chaincode_spec(o, package_id), o.chaincode_port) for o in topo.orgs])
            write_profiles(layout, topo, issued)
        with self.step("waiting for the chaincode to answer on every peer", servers + peers):
            for org in topo.orgs:
                lifecycle.wait_until_ready(layout, topo, lambda org=org: self.query(
                    org.name, "admin", "org.hyperledger.fabric:get_metadata"))  # fmt: skip

    def _wait_cas(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        for org in self.topo.orgs:
            url = f"https://{self.topo.host}:{org.ca_port}/cainfo"
            while not https_ok(url, self.layout.ca_cert(org.name)):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{org.name}-ca is not answering on {url}")
                time.sleep(0.1)

    def set_chaincode_env(self, env_by_org: dict[str, dict[str, str]], why: str) -> None:
        """Extra environment for some organisations' chaincode servers (kept in the state, so restarts keep it).

        The servers restart only when what they would run with changes; ``why`` is reported when they do.
        """
        for name in env_by_org:
            self.topo.org(name)  # unknown org → KeyError with the known names
        state = self.state()
        if state.get("chaincode_env", {}) == env_by_org:
            return
        self._save_state(chaincode_env=env_by_org)
        if not state.get("package_id"):
            return  # nothing started yet: the servers start with it
        self.progress(f"restarting the chaincode servers {why}")
        for org in self.topo.orgs:
            processes.stop(self.layout, f"{org.name}-chaincode")
        self._start_all([(self.chaincode_spec(o, state["package_id"]), o.chaincode_port) for o in self.topo.orgs])

    def _restart_dead(self, state: dict[str, Any]) -> list[str]:
        topo = self.topo
        specs = [(pki.ca_process(self.layout, topo, o), o.ca_port) for o in topo.orgs]
        specs += [(self.orderer_spec(o), o.orderer_port) for o in topo.orderer_orgs]
        specs += [(self.peer_spec(o), o.peer_port) for o in topo.orgs]
        specs += [(self.chaincode_spec(o, state["package_id"]), o.chaincode_port) for o in topo.orgs]
        dead = [spec for spec in specs if not processes.running(self.layout, spec[0].name)]
        if dead:
            self._start_all(dead)
        return [spec.name for spec, _ in dead]

    # ---- transactions through the peer CLI (the Python gateway client replaces this) ----
    def _cc_args(self, function: str, args: tuple[str, ...]) -> str:
        return json.dumps({"function": function, "Args": list(args)})

    def query(self, org: str, user: str, function: str, *args: str) -> str:
        from network import fabric_cli

        o = self.topo.org(org)
        out = fabric_cli.run("peer", ["chaincode", "query", "-C", self.topo.channel, "-n", self.topo.chaincode,
                                      "-c", self._cc_args(function, args)],
                             fabric_cli.peer_env(self.layout, self.topo, o, user), f"query {function}")  # fmt: skip
        return out.strip()

    def invoke(self, org: str, user: str, function: str, *args: str, endorsers: list[str] | None = None) -> str:
        from network import fabric_cli

        o = self.topo.org(org)
        targets = [self.topo.org(n) for n in endorsers] if endorsers else list(self.topo.endorsing_orgs)
        out = fabric_cli.run(
            "peer", ["chaincode", "invoke", *fabric_cli.orderer_args(self.layout, self.topo), "-C", self.topo.channel,
                     "-n", self.topo.chaincode, *fabric_cli.peer_target_args(self.layout, self.topo, targets),
                     "-c", self._cc_args(function, args), "--waitForEvent"],
            fabric_cli.peer_env(self.layout, self.topo, o, user), f"invoke {function}",
        )  # fmt: skip
        return out.strip()

    # ---- down -------------------------------------------------------------------------
    def down(self, keep_state: bool = False) -> list[str]:
        """Stop every process this network started (chaincode servers first), then remove its state."""
        order = ("gateway", "chaincode", "peer", "orderer", "ca")
        names = processes.recorded_names(self.layout)
        names.sort(key=lambda n: next((i for i, kind in enumerate(order) if n.endswith(kind)), len(order)))
        stopped = [n for n in names if processes.stop(self.layout, n)]
        if not keep_state and self.layout.home.exists():
            shutil.rmtree(self.layout.home)
        elif keep_state:
            self._save_state(ready=bool(self.state().get("ready")))
        return stopped

    # ---- status -----------------------------------------------------------------------
    def status(self) -> NetworkStatus:
        topo, layout = self.topo, self.layout
        host = topo.host

        def node(org: Org, kind: str, port: int, health_url: str | None) -> NodeStatus:
            pid = processes.running(layout, f"{org.name}-{kind}")
            if kind == "chaincode":
                healthy = bool(pid) and processes.port_is_open(host, port)
            else:
                healthy = bool(pid) and health_url is not None and https_ok(health_url, layout.ca_cert(org.name))
            height = channel.height(layout, topo, org.name) if kind == "peer" and healthy else None
            return NodeStatus(org=org.name, kind=kind, address=f"{host}:{port}", pid=pid, healthy=healthy,
                              height=height)

        nodes: list[NodeStatus] = []
        for org in topo.orgs:
            nodes.append(node(org, "ca", org.ca_port, f"https://{host}:{org.ca_port}/cainfo"))
            nodes.append(node(org, "peer", org.peer_port, f"https://{host}:{org.peer_ops_port}/healthz"))
            if org.runs_orderer:
                nodes.append(node(org, "orderer", org.orderer_port, f"https://{host}:{org.orderer_ops_port}/healthz"))
            nodes.append(node(org, "chaincode", org.chaincode_port, None))
        chaincode = ChaincodeStatus(name=topo.chaincode, version=None, sequence=None,
                                    approvals={o.name: False for o in topo.orgs})
        if any(n.kind == "peer" and n.healthy for n in nodes):
            definition = lifecycle.committed(layout, topo)
            if definition:
                approved = definition.get("approvals", {})
                chaincode = ChaincodeStatus(name=topo.chaincode, version=definition.get("version"),
                                            sequence=definition.get("sequence"),
                                            approvals={o.name: bool(approved.get(o.msp_id)) for o in topo.orgs})
        gateways = {o.name: GatewayStatus(url=url, pid=processes.running(layout, f"{o.name}-gateway"))
                    for o, url in zip(topo.orgs, self.gateway_urls().values(), strict=True)}  # fmt: skip
        state = self.state()
        try:
            binaries = self.fabric.summary
        except BinariesMissing as exc:
            binaries = f"unusable: {exc}"
        return NetworkStatus(nodes=nodes, chaincode=chaincode, gateways=gateways, ready=bool(state.get("ready")),
                             chaincode_env=state.get("chaincode_env", {}), home=str(layout.home),
                             fabric=FabricStatus(binaries=binaries, network_made_with=state.get("fabric")))

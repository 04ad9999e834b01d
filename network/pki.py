"""Identities from each organisation's own Fabric CA.

Every certificate in the network — node and user enrolment certificates and TLS certificates
— is issued by the organisation's CA through ``fabric-ca-client``. One CA per organisation
serves both purposes (``--enrollment.profile tls`` for TLS), so its root is both the MSP root
and the TLS root. Identity types (peer, orderer, admin, client) become OUs, which the MSPs'
NodeOU rules turn into roles; the market role is a CA attribute (``role``) in the enrolment
certificate, which the chaincode reads.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from network.binaries import locate
from network.layout import Layout
from network.processes import ProcessSpec
from network.topology import Org, Topology

REGISTRAR = "registrar"


class EnrolmentFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Enrolled:
    """Paths of an enrolled identity: MSP folder, its cert and key, and (optionally) TLS material."""

    msp: Path
    tls: Path | None

    @property
    def cert(self) -> Path:
        return self.msp / "signcerts" / "cert.pem"

    @property
    def key(self) -> Path:
        return next((self.msp / "keystore").glob("*_sk"))

    @property
    def tls_cert(self) -> Path:
        assert self.tls is not None
        return self.tls / "signcerts" / "cert.pem"

    @property
    def tls_key(self) -> Path:
        assert self.tls is not None
        return next((self.tls / "keystore").glob("*_sk"))


def registrar_secret(layout: Layout, org: Org) -> str:
    """The CA's bootstrap registrar secret, made once per network and kept owner-readable only."""
    path = layout.org_dir(org.name) / "ca-registrar.secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(16))
        path.chmod(0o600)
    return path.read_text().strip()


def ca_process(layout: Layout, topo: Topology, org: Org) -> ProcessSpec:
    home = layout.ca_home(org.name)
    home.mkdir(parents=True, exist_ok=True)
    argv = [
        str(locate("fabric-ca-server")),
        "start",
        "--home", str(home),
        "--address", topo.host,
        "--port", str(org.ca_port),
        "--boot", f"{REGISTRAR}:{registrar_secret(layout, org)}",
        "--ca.name", org.ca_name,
        "--csr.cn", f"ca.{org.domain}",
        "--csr.hosts", f"ca.{org.domain},localhost,{topo.host}",
        "--tls.enabled",
        "--operations.listenaddress", f"{topo.host}:{org.ca_ops_port}",
        "--metrics.provider", "disabled",
    ]  # fmt: skip
    return ProcessSpec(f"{org.name}-ca", argv, {}, home, (org.ca_port, org.ca_ops_port))


class CaClient:
    """Thin wrapper over ``fabric-ca-client`` for one organisation's CA."""

    def __init__(self, layout: Layout, topo: Topology, org: Org) -> None:
        self.layout = layout
        self.topo = topo
        self.org = org
        self.url_host = f"{topo.host}:{org.ca_port}"
        self.tls_root = layout.ca_cert(org.name)
        self.registrar_home = layout.org_dir(org.name) / "ca-client" / REGISTRAR

    def _run(self, *args: str, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        cmd = [str(locate("fabric-ca-client")), *args, "--caname", self.org.ca_name,
               "--tls.certfiles", str(self.tls_root), "-H", str(home)]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60)
        if proc.returncode != 0:
            shown = " ".join(a if "@" not in a else "<url with secret>" for a in cmd[:3])
            raise EnrolmentFailed(f"{self.org.name}: {shown} failed:\n{proc.stderr.strip()[-2000:]}")

    def enroll_registrar(self) -> None:
        if (self.registrar_home / "msp" / "signcerts" / "cert.pem").exists():
            return
        secret = registrar_secret(self.layout, self.org)
        self._run("enroll", "-u", f"https://{REGISTRAR}:{secret}@{self.url_host}", "-M", "msp",
                  home=self.registrar_home)  # fmt: skip

    def register(self, name: str, secret: str, id_type: str, role: str | None) -> None:
        args = ["register", "-u", f"https://{self.url_host}", "--id.name", name, "--id.secret", secret,
                "--id.type", id_type]  # fmt: skip
        attrs = [f"role={role}:ecert"] if role else []
        if id_type == "admin":
            # The org admin registers the organisation's users (the gateway's POST /users): it may
            # register clients and give them a role; the chaincode decides which roles count.
            attrs += ["hf.Registrar.Roles=client", "hf.Registrar.Attributes=role", "hf.Revoker=true"]
        if attrs:
            args += ["--id.attrs", ",".join(attrs)]
        self._run(*args, home=self.registrar_home)

    def enroll(self, name: str, secret: str, dest: Path, tls_hosts: list[str] | None) -> Enrolled:
        """Enrol ``name`` into ``dest/msp`` (and ``dest/tls`` when ``tls_hosts`` is given)."""
        url = f"https://{name}:{secret}@{self.url_host}"
        self._run("enroll", "-u", url, "-M", str(dest / "msp"), home=dest / ".ca-client")
        normalise_msp(dest / "msp", self.tls_root)
        tls = None
        if tls_hosts is not None:
            self._run("enroll", "-u", url, "-M", str(dest / "tls"), "--enrollment.profile", "tls",
                      "--csr.hosts", ",".join(tls_hosts), home=dest / ".ca-client")  # fmt: skip
            tls = dest / "tls"
        return Enrolled(dest / "msp", tls)

    def issue(self, name: str, id_type: str, role: str | None, dest: Path, tls_hosts: list[str] | None) -> Enrolled:
        """Register and enrol an identity, unless it was already enrolled into ``dest``."""
        done = Enrolled(dest / "msp", dest / "tls" if tls_hosts is not None else None)
        if done.cert.exists() and (tls_hosts is None or done.tls_cert.exists()):
            return done
        secret = secrets.token_hex(12)
        self.register(name, secret, id_type, role)
        return self.enroll(name, secret, dest, tls_hosts)


NODE_OU_TYPES = {"ClientOUIdentifier": "client", "PeerOUIdentifier": "peer",
                 "AdminOUIdentifier": "admin", "OrdererOUIdentifier": "orderer"}  # fmt: skip


def write_node_ous(msp: Path) -> None:
    config = {"NodeOUs": {"Enable": True, **{
        key: {"Certificate": "cacerts/ca-cert.pem", "OrganizationalUnitIdentifier": ou}
        for key, ou in NODE_OU_TYPES.items()}}}  # fmt: skip
    (msp / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=True))


def normalise_msp(msp: Path, root: Path) -> None:
    """Give an enrolled MSP folder a stable CA file name, the TLS root and NodeOU rules."""
    cacerts = msp / "cacerts"
    for stray in cacerts.glob("*.pem"):
        stray.unlink()
    cacerts.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(root, cacerts / "ca-cert.pem")
    (msp / "tlscacerts").mkdir(exist_ok=True)
    shutil.copyfile(root, msp / "tlscacerts" / "ca-cert.pem")
    write_node_ous(msp)


def build_org_msp(layout: Layout, org: Org) -> Path:
    """The organisation's public MSP definition, as it goes into the channel configuration."""
    msp = layout.org_msp(org.name)
    (msp / "cacerts").mkdir(parents=True, exist_ok=True)
    normalise_msp(msp, layout.ca_cert(org.name))
    return msp


def enrol_org(layout: Layout, topo: Topology, org: Org) -> dict[str, Enrolled]:
    """Issue every identity of one organisation: admin, nodes, chaincode server TLS, users."""
    ca = CaClient(layout, topo, org)
    ca.enroll_registrar()
    build_org_msp(layout, org)
    hosts = ["localhost", topo.host]
    issued: dict[str, Enrolled] = {}
    issued["peer0"] = ca.issue("peer0", "peer", None, layout.node_dir(org.name, "peer0"), [org.peer_host, *hosts])
    if org.runs_orderer:
        issued["orderer0"] = ca.issue(
            "orderer0", "orderer", None, layout.node_dir(org.name, "orderer0"), [org.orderer_host, *hosts]
        )
    issued["chaincode"] = ca.issue(
        "chaincode", "client", None, layout.node_dir(org.name, "chaincode"), [f"chaincode.{org.domain}", *hosts]
    )
    for user in org.users:
        id_type = "admin" if user.role == "admin" else "client"
        issued[user.name] = ca.issue(user.name, id_type, user.role, layout.user_dir(org.name, user.name), hosts)
    return issued

"""``flexledger org add | remove | sign``: organisations join and leave a running network.

Adding, in order: check the input (changes nothing when refused); start the organisation's CA and enrol
its identities; start its peer (and orderer); build the channel update that admits it, collect the
signatures of a majority of the member organisations' admins and submit it (the orderers enforce the
majority); join the orderer to Raft and the peer to the channel; install the chaincode, start its
server; approve and commit the next chaincode definition, whose endorsement policy is computed from the
new membership (:attr:`Topology.endorsement_policy`); finally the market admits the organisation's
role — a step the caller supplies (:class:`MarketSteps`; the CLI's step records it in the governance by a
majority-approved ledger transaction, ``flexledger/governance.py``), since ``network/`` knows no market.
Until the channel update is committed, a failure stops and removes everything the attempt started.

Removing runs the reverse: the market's step first (the leaver's open bids are cancelled, its money
stays claimable), then a definition without it, then the channel update, then its nodes stop. Its
folder, with its ledger copy and identities, stays with its owner.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from network import channel, channel_update, lifecycle, membership, pki, processes
from network.manager import Network
from network.profiles import write_profile
from network.topology import Org, Topology


class MembershipRefused(RuntimeError):
    """Bad input for ``org add``/``remove``: nothing was changed."""


class MarketSteps(Protocol):
    """What the market records when an organisation joins or leaves; each step must skip what is done."""

    def admit(self, net: Network, org: Org, role: str, voters: Sequence[Org]) -> None:
        """``org``, admitted to the channel with a chaincode server, may now act as ``role``."""

    def expel(self, net: Network, org: Org, voters: Sequence[Org]) -> None:
        """``org`` is about to leave the channel."""


def updates_dir(net: Network) -> Path:
    return net.layout.channel_dir / "updates"


def _ports(org: Org) -> list[int]:
    ports = [org.ca_port, org.ca_ops_port, org.peer_port, org.peer_chaincode_port, org.peer_ops_port,
             org.chaincode_port, org.gateway_port]  # fmt: skip
    if org.runs_orderer:
        ports += [org.orderer_port, org.orderer_admin_port, org.orderer_ops_port]
    return ports


def _default_signers(topo: Topology, changes_orderers: bool) -> list[str]:
    """A majority of the application organisations (and of the orderer organisations when Raft changes)."""
    names = [o.name for o in topo.orgs][: channel_update.majority(len(topo.orgs))]
    if changes_orderers:
        orderers = [o.name for o in topo.orderer_orgs]
        missing = channel_update.majority(len(orderers)) - sum(n in names for n in orderers)
        names += [n for n in orderers if n not in names][: max(0, missing)]
    return names


def check_signers(topo: Topology, signers: Sequence[str], changes_orderers: bool) -> list[Org]:
    """The signing organisations, refused unless they are members and enough for the MAJORITY policies."""
    orgs = []
    for name in signers:
        try:
            orgs.append(topo.org(name))
        except KeyError as exc:
            raise MembershipRefused(f"--signers: {exc.args[0]}") from exc
    if len(set(signers)) != len(signers):
        raise MembershipRefused("--signers: names an organisation twice")
    groups = [("application", topo.orgs)] + ([("orderer", topo.orderer_orgs)] if changes_orderers else [])
    for what, members in groups:
        have = [o.name for o in members if o.name in signers]
        need = channel_update.majority(len(members))
        if len(have) < need:
            missing = [o.name for o in members if o.name not in signers]
            raise MembershipRefused(
                f"missing signatures: the channel's {what} Admins policy needs {need} of {len(members)} "
                f"organisations ({', '.join(o.name for o in members)}); signed by {', '.join(have) or 'none'}; "
                f"ask {', '.join(missing)}")  # fmt: skip
    return orgs


def sign_update(net: Network, path: Path, org_name: str) -> list[str]:
    """``org sign``: add ``org_name``'s admin signature; return every MSP that signed so far."""
    try:
        org = net.topo.org(org_name)
    except KeyError as exc:
        raise MembershipRefused(f"--org: {exc.args[0]}") from exc
    channel_update.sign(net.layout, net.topo, org, path)
    return channel_update.signers(path)


def _collect_and_submit(net: Network, path: Path, signers: list[Org]) -> None:
    """Each signer signs as a separate step; the last one submits (its submission carries its signature)."""
    for org in signers[:-1]:
        sign_update(net, path, org.name)
        net.progress(f"signed by {org.name}'s admin")
    net.progress(f"submitted by {signers[-1].name}'s admin")
    channel_update.submit(net.layout, net.topo, signers[-1], path)


def _wait_config(net: Network, predicate, what: str, timeout: float = 60.0) -> None:
    """Wait until the orderers serve a config for which ``predicate(config)`` holds."""
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryDirectory() as tmp:
        while True:
            config = channel_update.fetch_config(net.layout, net.topo, net.topo.orgs[0], Path(tmp))
            if predicate(config):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the channel configuration does not show {what} after {timeout:.0f} s")
            time.sleep(1)


def _heights_equal(net: Network, orgs: Sequence[Org], timeout: float = 90.0) -> dict[str, int | None]:
    deadline = time.monotonic() + timeout
    while True:
        heights = {o.name: channel.height(net.layout, net.topo, o.name) for o in orgs}
        if None not in heights.values() and len(set(heights.values())) == 1:
            return heights
        if time.monotonic() > deadline:
            raise TimeoutError(f"peers did not reach one height: {heights}")
        time.sleep(1)


def _new_definition(net: Network, topo: Topology, package_id: str) -> int:
    """Approve (every org of ``topo`` that has not yet) and commit the next definition: its policy follows ``topo``."""
    committed = lifecycle.committed(net.layout, topo) or {}
    sequence = int(committed.get("sequence") or net.state().get("sequence", 1)) + 1
    approved = lifecycle.approvals(net.layout, topo, sequence)
    pending = [o for o in topo.orgs if not approved.get(o.name)]
    with ThreadPoolExecutor(max_workers=max(1, len(pending))) as pool:
        list(pool.map(lambda o: lifecycle.approve(net.layout, topo, o, package_id, sequence), pending))
    lifecycle.commit(net.layout, topo, sequence)
    net._save_state(sequence=sequence)
    return sequence


def add_org(net: Network, market: MarketSteps, name: str, role: str, orderer: bool = False,
            signers: Sequence[str] | None = None) -> Org:  # fmt: skip
    """``org add``: see the module docstring. Bad input raises :class:`MembershipRefused`, changing nothing.

    Once the channel has admitted the organisation, a failure leaves it recorded as incomplete; running
    the same ``org add`` again resumes after the channel update (every later step is idempotent).
    """
    state = net.state()
    if not state.get("ready"):
        raise MembershipRefused(f"no running network in {net.layout.home}; run 'flexledger network up' first")
    if role not in membership.ROLES:
        raise MembershipRefused(f"--role: must be one of {', '.join(membership.ROLES)}, got {role!r}")
    if not membership.NAME_PATTERN.fullmatch(name):
        raise MembershipRefused(f"NAME: {name!r} must be 2-16 lowercase letters or digits, starting with a letter")
    unfinished = next((j for j in membership.added(state) if j.name == name and not j.complete), None)
    if unfinished is not None and name not in membership.removed(state):
        if (unfinished.role, unfinished.orderer) != (role, orderer):
            raise MembershipRefused(f"NAME: {name} is half-way admitted as --role {unfinished.role}"
                                    f"{' --orderer' if unfinished.orderer else ''}; repeat that to finish")
        net.progress(f"resuming: {name} is admitted to the channel; finishing the remaining steps")
        org = net.topo.org(name)
        voters = check_signers(net.topo, signers or _default_signers(net.topo, False), False)
        voters = [o for o in voters if o.name != name]
        return _complete(net, market, unfinished, org, voters)
    if name in membership.known_names(net.founding, state):
        taken = "is a member" if name in (o.name for o in net.topo.orgs) else "was a member (its folder stays)"
        raise MembershipRefused(f"NAME: an organisation named {name!r} {taken}; choose another name")
    joined = membership.Joined(name, role, membership.next_index(net.founding, state), orderer, complete=False)
    org = joined.org(net.topo.orgs[0].base_port)
    taken = [p for p in _ports(org) if not processes.port_is_free(net.topo.host, p)]
    if taken:
        raise MembershipRefused(f"port {', '.join(map(str, taken))} (of {name}'s block from "
                                f"{org.ca_port}) taken by another process; free it first")  # fmt: skip
    old = net.topo
    voters = check_signers(old, signers or _default_signers(old, orderer), orderer)
    new = dataclasses.replace(old, orgs=(*old.orgs, org))
    try:
        issued = _start_nodes(net, new, org)
        net.progress(f"building the channel update that admits {org.msp_id} (configtxlator)")
        path = updates_dir(net) / f"add-{name}.pb"
        with tempfile.TemporaryDirectory() as tmp:
            config = channel_update.fetch_config(net.layout, old, old.orgs[0], Path(tmp))
        group = channel_update.org_group(net.layout, new, org)
        tls = issued["orderer0"].tls_cert if orderer else None
        channel_update.build_update(old, config, channel_update.with_org(config, group, new, org, tls), path)
        _collect_and_submit(net, path, voters)
    except Exception:
        _undo_start(net, new, org)
        raise
    net.topo = new
    net._save_state(membership=membership.with_added(state, joined))
    return _complete(net, market, joined, org, voters)


def _complete(net: Network, market: MarketSteps, joined: membership.Joined, org: Org,
              voters: Sequence[Org]) -> Org:  # fmt: skip
    """Everything after the channel admitted ``org``; each step skips what is already done."""
    new, name, state = net.topo, org.name, net.state()
    _wait_config(net, lambda c: org.msp_id in c["channel_group"]["groups"]["Application"]["groups"],
                 f"{org.msp_id} admitted")  # fmt: skip
    if org.runs_orderer and new.channel not in channel.orderer_channels(net.layout, new, name):
        net.progress(f"joining {name}'s orderer to the Raft cluster")
        with tempfile.TemporaryDirectory() as tmp:
            block = channel_update.fetch_config_block(net.layout, new, new.orgs[0], Path(tmp) / "config.block")
            channel.join_orderer(net.layout, new, name, block)
    net.progress(f"joining {name}'s peer to channel '{new.channel}'")
    channel.join_peers(net.layout, new)
    _heights_equal(net, [new.orgs[0], org])
    package = net.layout.chaincode_dir / f"{lifecycle.label(new)}.tar.gz"
    package_id = state["package_id"]
    net.progress(f"installing the chaincode on {name}'s peer and starting its chaincode server")
    lifecycle.install(net.layout, new, org, package, package_id)
    net._start_all([(net.chaincode_spec(org, package_id), org.chaincode_port)])
    write_profile(net.layout, new, org, pki.enrol_org(net.layout, new, org))  # enrolled already: reads the files
    definition = lifecycle.committed(net.layout, new) or {}
    if not (definition.get("approvals") or {}).get(org.msp_id):
        net.progress(f"approving and committing the next chaincode definition (endorsement policy "
                     f"{new.endorsement_policy})")  # fmt: skip
        sequence = _new_definition(net, new, package_id)
        net.progress(f"definition sequence {sequence} committed")
    lifecycle.wait_until_ready(net.layout, new, lambda: net.query(name, "admin", "org.hyperledger.fabric:get_metadata"))
    market.admit(net, org, joined.market_role, voters)
    if any(processes.running(net.layout, f"{o.name}-gateway") for o in new.orgs):
        net.progress(f"starting {name}'s REST gateway, as the other organisations' run")
        net._start_all([(net.gateway_spec(org), org.gateway_port)])
    net._save_state(membership=membership.with_added(net.state(), dataclasses.replace(joined, complete=True)))
    return org


def _start_nodes(net: Network, topo: Topology, org: Org) -> dict:
    saved, net.topo = net.topo, topo  # the specs render from the topology that includes the new org
    try:
        net.progress(f"starting {org.name}'s CA on {topo.host}:{org.ca_port}")
        net._start_all([(pki.ca_process(net.layout, topo, org), org.ca_port)])
        net._wait_cas()
        net.progress(f"enrolling {org.name}'s identities (admin, peer, {'orderer, ' if org.runs_orderer else ''}"
                     f"chaincode server, {', '.join(u.name for u in org.users if u.role != 'admin')})")  # fmt: skip
        issued = pki.enrol_org(net.layout, topo, org)
        specs = [(net.peer_spec(org), org.peer_port)]
        if org.runs_orderer:
            specs.append((net.orderer_spec(org), org.orderer_port))
        net._start_all(specs)
        return issued
    finally:
        net.topo = saved


def _undo_start(net: Network, topo: Topology, org: Org) -> None:
    """Before the channel admitted it, an organisation leaves no trace: stop its nodes, drop its folder."""
    for kind in ("chaincode", "peer", "orderer", "ca"):
        processes.stop(net.layout, f"{org.name}-{kind}")
    shutil.rmtree(net.layout.org_dir(org.name), ignore_errors=True)


def remove_org(net: Network, market: MarketSteps, name: str, signers: Sequence[str] | None = None) -> None:
    """``org remove``: the market's step, definition, channel, nodes (see the module docstring)."""
    state = net.state()
    if not state.get("ready"):
        raise MembershipRefused(f"no running network in {net.layout.home}; run 'flexledger network up' first")
    try:
        org = net.topo.org(name)
    except KeyError as exc:
        raise MembershipRefused(f"NAME: {exc.args[0]}") from exc
    if org.name == "dso":
        raise MembershipRefused("NAME: dso is the DSO; the marketplace cannot run without it")
    old = net.topo
    new = dataclasses.replace(old, orgs=tuple(o for o in old.orgs if o.name != name))
    if org.runs_orderer and len(new.orderer_orgs) < 2:
        raise MembershipRefused(f"NAME: removing {name} would leave Raft with fewer than 2 orderers")
    voters = check_signers(old, signers or [o.name for o in new.orgs][: channel_update.majority(len(old.orgs))],
                           org.runs_orderer)  # fmt: skip
    if org in voters:
        raise MembershipRefused(f"--signers: {name} is the organisation leaving; others decide")
    # Each step is skipped when already done, so a remove interrupted half-way is finished by running it again.
    market.expel(net, org, voters)
    if ((lifecycle.committed(net.layout, new) or {}).get("approvals") or {}).get(org.msp_id):
        net.progress(f"approving and committing the next chaincode definition (endorsement policy "
                     f"{new.endorsement_policy})")  # fmt: skip
        _new_definition(net, new, state["package_id"])
    with tempfile.TemporaryDirectory() as tmp:
        config = channel_update.fetch_config(net.layout, old, old.orgs[0], Path(tmp))
    if org.msp_id in config["channel_group"]["groups"]["Application"]["groups"]:
        net.progress(f"building the channel update that removes {org.msp_id}")
        path = updates_dir(net) / f"remove-{name}.pb"
        channel_update.build_update(old, config, channel_update.without_org(config, old, org), path)
        _collect_and_submit(net, path, voters)
    net.topo = new
    net._save_state(membership=membership.with_removed(state, name))
    _wait_config(net, lambda c: org.msp_id not in c["channel_group"]["groups"]["Application"]["groups"],
                 f"{org.msp_id} removed")  # fmt: skip
    for kind in ("gateway", "chaincode", "peer", "orderer", "ca"):
        processes.stop(net.layout, f"{name}-{kind}")
    (net.layout.profiles / f"{name}.json").unlink(missing_ok=True)
    net.progress(f"{name} left: its nodes stopped; its ledger copy and identities stay in "
                 f"{net.layout.org_dir(name)}")  # fmt: skip


def submit_update(net: Network, path: Path, org_name: str) -> None:
    """``org submit``: send an update file as ``org_name``'s admin; the orderers decide on its signatures."""
    try:
        org = net.topo.org(org_name)
    except KeyError as exc:
        raise MembershipRefused(f"--org: {exc.args[0]}") from exc
    channel_update.signers(path)
    channel_update.submit(net.layout, net.topo, org, path)

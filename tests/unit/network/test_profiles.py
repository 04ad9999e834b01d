"""The profile ``network up`` writes is read back by the Fabric client as written (one model, contract.profile)."""

from __future__ import annotations

from pathlib import Path

from gateway.profile import load_profile
from network.layout import Layout
from network.pki import Enrolled
from network.profiles import write_profiles
from network.topology import default_topology


def test_every_written_profile_loads_in_the_client_with_its_identities(tmp_path: Path) -> None:
    topo = default_topology(base_port=31000)
    layout = Layout(tmp_path)
    issued = {org.name: {user.name: Enrolled(msp=tmp_path / org.name / user.name, tls=None) for user in org.users}
              for org in topo.orgs}
    for users in issued.values():
        for enrolled in users.values():
            (enrolled.msp / "keystore").mkdir(parents=True)
            (enrolled.msp / "keystore" / "abc_sk").write_text("key")
    write_profiles(layout, topo, issued)
    for org in topo.orgs:
        profile = load_profile(layout.profiles / f"{org.name}.json")
        assert (profile.org, profile.msp_id, profile.channel) == (org.name, org.msp_id, topo.channel)
        assert profile.peer.endpoint.endswith(f":{org.peer_port}")
        for user in org.users:
            files = profile.identity_files(user.name)
            assert files.cert == issued[org.name][user.name].cert and files.role == user.role

"""Which Fabric builds the network runs on, and what each one takes: one table.

Three lines are supported, told apart by the binaries themselves (Go build info, or the
version Fabric's own build stamps into ``peer version``), never by a flag:

- the **snapshot** ``main@695dd57e01c2`` (2023-04-04, after the 2.5 branch split, before 3.0):
  the only Fabric >= 2 the Go module proxy serves, so the one ``./scripts/setup`` builds;
- **v2.5.x** (LTS) and **v3.1.x** release binaries, which users download and name with
  ``FLEXLEDGER_FABRIC_BIN``.

Why a table rather than ifs where configs are rendered: the differences are few but sharp.
The orderer refuses unknown configuration keys (``General.Backoff``/``Throttling`` exist from
3.0 on); a peer whose ``core.yaml`` names an auth filter it lacks (``TimeWindowCheck``, 3.0 on)
panics at start; and channel capability ``V3_0`` is refused by 2.5 and, on the snapshot, takes
an unfinished BFT path in the gateway that orders every Raft transaction once per orderer.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

#: The snapshot the Go module proxy serves, as the pseudo-version Go names it.
SNAPSHOT_MODULE_VERSION = "v1.4.0-rc1.0.20230405174026-695dd57e01c2"
SNAPSHOT_COMMIT = "695dd57e01c2"
#: What ``peer version`` says of our build of it: the branch and commit, no release number.
SNAPSHOT_VERSION_STAMP = f"main@{SNAPSHOT_COMMIT}"


@dataclass(frozen=True)
class FabricLine:
    """What one line of Fabric builds accepts; every version-dependent rendering reads this."""

    key: str
    description: str
    channel_capability: str
    orderer_capability: str
    application_capability: str
    #: ``General.Backoff`` and ``General.Throttling`` in orderer.yaml (3.0 on; older orderers refuse them)
    orderer_backoff_and_throttling: bool
    #: the peer's proposal auth filters; a filter the build lacks makes the peer panic
    peer_auth_filters: tuple[str, ...]
    #: ``peer.deliveryclient.policy`` and its BFT censorship keys (3.0 on)
    peer_bft_delivery_keys: bool
    #: ``chaincode.runtimeParams``: the peer offers chaincodes batched reads and write batches (3.1 on)
    chaincode_batching: bool = False


SNAPSHOT = FabricLine(
    key="main-695dd57e01c2",
    description="Fabric main@695dd57e01c2 (2023-04-04, pre-3.0 snapshot)",
    channel_capability="V2_0",
    orderer_capability="V2_0",
    application_capability="V2_5",
    orderer_backoff_and_throttling=False,
    peer_auth_filters=("DefaultAuth", "ExpirationCheck"),
    peer_bft_delivery_keys=False,
)
V2_5 = FabricLine(
    key="2.5",
    description="Fabric v2.5.x (LTS)",
    channel_capability="V2_0",
    orderer_capability="V2_0",
    application_capability="V2_5",
    orderer_backoff_and_throttling=False,
    peer_auth_filters=("DefaultAuth", "ExpirationCheck"),
    peer_bft_delivery_keys=False,
)
V3_1 = FabricLine(
    key="3.1",
    description="Fabric v3.1.x",
    channel_capability="V3_0",
    orderer_capability="V2_0",
    application_capability="V2_5",
    orderer_backoff_and_throttling=True,
    peer_auth_filters=("DefaultAuth", "ExpirationCheck", "TimeWindowCheck"),
    peer_bft_delivery_keys=True,
    chaincode_batching=True,
)
#: release lines by (major, minor)
RELEASE_LINES: dict[tuple[int, int], FabricLine] = {(2, 5): V2_5, (3, 1): V3_1}
SUPPORTED = f"{SNAPSHOT.description}, Fabric v2.5.x (LTS), Fabric v3.1.x"


class UnsupportedFabric(RuntimeError):
    """The binaries are Fabric, but of a version this project does not render configs for."""


@dataclass(frozen=True)
class FabricBuild:
    """A detected set of binaries: its line and the version text the binary itself reports."""

    line: FabricLine
    version: str  # e.g. "v2.5.16", "main@695dd57e01c2"
    commit: str  # short commit as stamped or named by the build info ("" when unknown)

    @property
    def summary(self) -> str:
        if self.line is SNAPSHOT:
            return self.line.description
        commit = f", commit {self.commit}" if self.commit else ""
        return f"Fabric {self.version} ({self.line.description}{commit})"


def _run(argv: list[str]) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return proc.stdout + proc.stderr


def go_module_version(path: Path) -> str | None:
    """The version of ``github.com/hyperledger/fabric`` in the binary's Go build info, if Go can tell."""
    info = _run(["go", "version", "-m", str(path)])
    match = re.search(r"^\s*(?:mod|dep)\s+github\.com/hyperledger/fabric\s+(\S+)", info, re.MULTILINE)
    return match.group(1) if match else None


#: how each tool is asked for its version (osnadmin cannot be asked: Go build info or nothing)
VERSION_ARGS = {"peer": ["version"], "orderer": ["version"], "configtxlator": ["version"],
                "configtxgen": ["-version"]}  # fmt: skip


def stamped_version(path: Path) -> tuple[str, str]:
    """(Version, Commit SHA) as the binary's version command prints them ("" when it cannot say)."""
    args = VERSION_ARGS.get(path.name)
    if args is None:
        return "", ""
    text = _run([str(path), *args])
    version = re.search(r"^\s*Version:\s*(\S+)", text, re.MULTILINE)
    commit = re.search(r"^\s*Commit SHA:\s*(.+?)\s*$", text, re.MULTILINE)
    return (version.group(1) if version else "", commit.group(1) if commit else "")


def classify(module_version: str | None, version: str, commit: str) -> FabricBuild:
    """Decide the line from what a binary reports; :class:`UnsupportedFabric` names what was found."""
    if module_version == SNAPSHOT_MODULE_VERSION or version == SNAPSHOT_VERSION_STAMP:
        return FabricBuild(SNAPSHOT, SNAPSHOT_VERSION_STAMP, SNAPSHOT_COMMIT)
    release = re.fullmatch(r"v?(\d+)\.(\d+)\.(\d+)", version)
    if release:
        line = RELEASE_LINES.get((int(release.group(1)), int(release.group(2))))
        if line is not None:
            short = commit if re.fullmatch(r"[0-9a-f]{7,40}", commit) else ""
            return FabricBuild(line, "v" + ".".join(release.groups()), short)
    found = version or "no version"
    if module_version and module_version != "(devel)":
        found += f", Go module version {module_version}"
    if commit:
        found += f", commit {commit}"
    raise UnsupportedFabric(f"found Fabric {found}; supported: {SUPPORTED}")


@functools.lru_cache(maxsize=64)
def _detect(path: str, mtime_ns: int) -> FabricBuild:
    version, commit = stamped_version(Path(path))
    module_version = go_module_version(Path(path))
    if not version and not module_version:
        raise UnsupportedFabric(f"{path} reports no Fabric version (neither its version command nor Go build info)")
    return classify(module_version, version, commit)


def detect(path: Path) -> FabricBuild:
    """The Fabric build of one binary (cached per file and modification time)."""
    if not path.is_file() or not os.access(path, os.X_OK):
        raise FileNotFoundError(f"{path}: no executable file")
    return _detect(str(path), path.stat().st_mtime_ns)

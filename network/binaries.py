"""Build or locate the Fabric and Fabric CA binaries the network runs on.

What ``./scripts/setup`` builds: the one Fabric >= 2 the Go module proxy serves, main-branch
commit 695dd57e01c2 (see :mod:`network.fabric_versions`). Its go.mod carries a ``replace``, so
``go install pkg@version`` refuses it; a wrapper module that requires it and repeats the replace
builds all five tools. Fabric's own build stamps ``Version``/``CommitSHA`` into the binaries with
ldflags; ours stamps ``main@695dd57e01c2`` so that ``peer version`` says what it is, and never a
release number it is not. Fabric CA has valid v1 tags and is built through a wrapper module too
(``go install pkg@version`` also asks the proxy for the version list, which it refuses).

``FLEXLEDGER_FABRIC_BIN`` names a folder of Fabric binaries to use instead (official v2.5.x or
v3.1.x releases); their version is detected, never assumed. Built binaries are cached per user,
keyed by what was built, so a present binary is never rebuilt.

Run as ``python -m network.binaries ensure [--strict]`` or ``status``.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from network.fabric_versions import (
    SNAPSHOT,
    SNAPSHOT_COMMIT,
    SNAPSHOT_MODULE_VERSION,
    SNAPSHOT_VERSION_STAMP,
    SUPPORTED,
    FabricBuild,
    UnsupportedFabric,
    detect,
)

FABRIC_CA_VERSION = "1.5.21"
#: a replace in Fabric's go.mod that a requiring module must repeat for the build to resolve
SNAPSHOT_REPLACES = ("github.com/cespare/xxhash/v2 => github.com/cespare/xxhash/v2 v2.1.2",)

FABRIC_TOOLS = ("peer", "orderer", "osnadmin", "configtxgen", "configtxlator")
FABRIC_CA_TOOLS = ("fabric-ca-server", "fabric-ca-client")

REPO_ROOT = Path(__file__).resolve().parent.parent
FABRIC_BIN_ENV = "FLEXLEDGER_FABRIC_BIN"


class BinariesMissing(RuntimeError):
    """A binary is neither present nor usable; the message says what was found and what to do."""


@dataclass(frozen=True)
class BuildOutcome:
    tool: str
    path: Path | None
    action: str  # "present" | "from cache" | "built" | "rejected" | "failed"
    detail: str = ""


def bin_dir() -> Path:
    """The git-ignored folder the project builds its binaries into."""
    return REPO_ROOT / ".fabric" / "bin"


def cache_dir() -> Path:
    """A per-user cache of built binaries, shared by every clone (CI starts from a fresh clone)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "flexledger" / f"fabric-{SNAPSHOT.key}-ca-{FABRIC_CA_VERSION}"


def fabric_bin_override() -> Path | None:
    value = os.environ.get(FABRIC_BIN_ENV)
    return Path(value).expanduser().resolve() if value else None


# ---- checks ---------------------------------------------------------------------------------
def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


@functools.lru_cache(maxsize=16)
def _ca_version(path: str, mtime_ns: int) -> str:
    try:
        info = subprocess.run(["go", "version", "-m", path], capture_output=True, text=True, timeout=30,
                              check=False).stdout  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        info = ""
    match = re.search(r"github\.com/hyperledger/fabric-ca\s+v(\S+)", info)
    if match:
        return match.group(1)
    try:
        text = subprocess.run([path, "version"], capture_output=True, text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""
    match = re.search(r"Version:\s*v?(\S+)", text)
    return match.group(1) if match else ""


def is_pinned_fabric_ca(path: Path) -> bool:
    return _executable(path) and _ca_version(str(path), path.stat().st_mtime_ns) == FABRIC_CA_VERSION


def is_snapshot_build(path: Path) -> bool:
    """True for a Fabric tool of our snapshot build (for the cache and for ``.fabric/bin``)."""
    if not _executable(path):
        return False
    try:
        return detect(path).line is SNAPSHOT
    except UnsupportedFabric:
        return False


def fabric_dir() -> Path:
    """The folder the Fabric tools are taken from: ``$FLEXLEDGER_FABRIC_BIN`` or ``.fabric/bin``."""
    return fabric_bin_override() or bin_dir()


def fabric_build(folder: Path | None = None) -> FabricBuild:
    """Detect the Fabric build in ``folder``; every tool present and all of one version, or an error.

    ``peer`` decides the line; every other tool that can say its version must say the same.
    """
    folder = folder or fabric_dir()
    where = f"${FABRIC_BIN_ENV} ({folder})" if folder != bin_dir() else ".fabric/bin"
    missing = [t for t in FABRIC_TOOLS if not _executable(folder / t)]
    if missing:
        hint = ("point it at a folder with all five tools" if folder != bin_dir()
                else "run ./scripts/setup (see README: Fabric binaries)")  # fmt: skip
        raise BinariesMissing(f"{', '.join(missing)}: not found in {where}; {hint}")
    try:
        build = detect(folder / "peer")
    except UnsupportedFabric as exc:
        raise BinariesMissing(f"{where}: peer rejected: {exc}") from exc
    for tool in ("orderer", "configtxgen", "configtxlator"):
        try:
            other = detect(folder / tool)
        except UnsupportedFabric as exc:
            raise BinariesMissing(f"{where}: {tool} rejected: {exc}") from exc
        if other.line is not build.line or other.version != build.version:
            raise BinariesMissing(f"{where}: {tool} is {other.summary} but peer is {build.summary}; use one release")
    return build


def locate(tool: str) -> Path:
    """Path of a usable binary, or :class:`BinariesMissing` naming what was found and what to do."""
    if tool in FABRIC_CA_TOOLS:
        path = bin_dir() / tool
        if is_pinned_fabric_ca(path):
            return path
        raise BinariesMissing(f"{tool}: no Fabric CA v{FABRIC_CA_VERSION} in .fabric/bin; run ./scripts/setup")
    fabric_build()
    return fabric_dir() / tool


def fabric_available() -> bool:
    try:
        for tool in FABRIC_CA_TOOLS + FABRIC_TOOLS:
            locate(tool)
    except BinariesMissing:
        return False
    return True


# ---- building -------------------------------------------------------------------------------
def _go_env(gobin: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["GOBIN"] = str(gobin)
    env.setdefault("GOFLAGS", "-buildvcs=false")
    return env


def _wrapper_build(go_mod: str, packages: list[str], gobin: Path, ldflags: str = "") -> tuple[int, str, str]:
    """``go install`` packages of a module required by a throw-away wrapper module."""
    with tempfile.TemporaryDirectory(prefix="flexledger-gobuild-") as tmp:
        Path(tmp, "go.mod").write_text(go_mod)
        command = ["go", "install", "-mod=mod", "-buildvcs=false"]
        if ldflags:
            command.append(f"-ldflags={ldflags}")
        command += packages
        proc = subprocess.run(command, cwd=tmp, env=_go_env(gobin), capture_output=True, text=True, check=False)
    return proc.returncode, (proc.stdout + proc.stderr).strip(), "$ " + " ".join(command)


def snapshot_go_mod() -> str:
    replaces = "".join(f"replace {r}\n" for r in SNAPSHOT_REPLACES)
    return (f"module flexledger.local/fabricbuild\n\ngo 1.22\n\n"
            f"require github.com/hyperledger/fabric {SNAPSHOT_MODULE_VERSION}\n\n{replaces}")  # fmt: skip


def build_fabric_snapshot() -> list[BuildOutcome]:
    """Build the five Fabric tools of the snapshot, stamped with what they are."""
    metadata = "github.com/hyperledger/fabric/common/metadata"
    ldflags = f"-X {metadata}.Version={SNAPSHOT_VERSION_STAMP} -X {metadata}.CommitSHA={SNAPSHOT_COMMIT}"
    packages = [f"github.com/hyperledger/fabric/cmd/{t}" for t in FABRIC_TOOLS]
    return _outcomes(FABRIC_TOOLS, is_snapshot_build, *_wrapper_build(snapshot_go_mod(), packages, bin_dir(), ldflags))


def build_fabric_ca_tools() -> list[BuildOutcome]:
    """Build fabric-ca-server and fabric-ca-client at the pinned tag through a wrapper module."""
    go_mod = f"module flexledger.local/fabricca\n\ngo 1.22\n\nrequire github.com/hyperledger/fabric-ca v{FABRIC_CA_VERSION}\n"
    packages = [f"github.com/hyperledger/fabric-ca/cmd/{t}" for t in FABRIC_CA_TOOLS]
    return _outcomes(FABRIC_CA_TOOLS, is_pinned_fabric_ca, *_wrapper_build(go_mod, packages, bin_dir()))


def _outcomes(tools: tuple[str, ...], check, code: int, output: str, command: str) -> list[BuildOutcome]:
    """What a build left in ``.fabric/bin``: each tool built and checked, or failed with Go's own words."""
    return [
        BuildOutcome(tool, bin_dir() / tool, "built") if code == 0 and check(bin_dir() / tool)
        else BuildOutcome(tool, None, "failed", f"{command}\n{output}")
        for tool in tools
    ]  # fmt: skip


def _from_cache(tools: tuple[str, ...], check) -> bool:
    """Copy ``tools`` from the per-user cache into ``.fabric/bin`` when the cache holds good builds of all."""
    if not all(check(cache_dir() / t) for t in tools):
        return False
    bin_dir().mkdir(parents=True, exist_ok=True)
    for tool in tools:
        shutil.copy2(cache_dir() / tool, bin_dir() / tool)
    return True


def _to_cache(outcomes: list[BuildOutcome]) -> None:
    try:
        cache_dir().mkdir(parents=True, exist_ok=True)
        for outcome in outcomes:
            if outcome.path is not None:
                shutil.copy2(outcome.path, cache_dir() / outcome.tool)
    except OSError:
        pass  # a cache that cannot be written only costs a rebuild next time


def _ensure_group(tools: tuple[str, ...], check, build, what: str, progress) -> list[BuildOutcome]:
    present = [BuildOutcome(t, bin_dir() / t, "present") for t in tools if check(bin_dir() / t)]
    if len(present) == len(tools):
        if not all(check(cache_dir() / t) for t in tools):
            _to_cache(present)  # so that the next fresh clone starts from the cache
        return present
    if _from_cache(tools, check):
        return [BuildOutcome(t, bin_dir() / t, "from cache") for t in tools]
    progress(f"building {what} from the Go module proxy (a few minutes when nothing is cached)")
    outcomes = build()
    _to_cache(outcomes)
    return outcomes


def ensure(progress=print) -> list[BuildOutcome]:
    """Make every binary the network needs present, building only what is missing."""
    bin_dir().mkdir(parents=True, exist_ok=True)
    outcomes = _ensure_group(FABRIC_CA_TOOLS, is_pinned_fabric_ca, build_fabric_ca_tools,
                             f"Fabric CA v{FABRIC_CA_VERSION}", progress)  # fmt: skip
    override = fabric_bin_override()
    if override is not None:
        try:
            build = fabric_build(override)
            progress(f"using {build.summary} from ${FABRIC_BIN_ENV} ({override})")
            return outcomes + [BuildOutcome(t, override / t, "present") for t in FABRIC_TOOLS]
        except BinariesMissing as exc:
            return outcomes + [BuildOutcome(t, None, "rejected", str(exc)) for t in FABRIC_TOOLS]
    return outcomes + _ensure_group(FABRIC_TOOLS, is_snapshot_build, build_fabric_snapshot,
                                    SNAPSHOT.description, progress)  # fmt: skip


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m network.binaries")
    sub = parser.add_subparsers(dest="cmd", required=True)
    ensure_p = sub.add_parser("ensure", help="build what is missing, report what could not be built or was rejected")
    ensure_p.add_argument("--strict", action="store_true", help="exit 1 when a binary is missing or rejected")
    sub.add_parser("status", help="say which binaries the network would use, and their version")
    args = parser.parse_args(argv)

    if args.cmd == "status":
        try:
            for tool in FABRIC_CA_TOOLS + FABRIC_TOOLS:
                print(f"{tool}: {locate(tool)}")
            print(f"Fabric: {fabric_build().summary}")
        except BinariesMissing as exc:
            print(f"missing: {exc}")
            return 1
        return 0

    if shutil.which("go") is None and fabric_bin_override() is None:
        print("[setup] 'go' is not on PATH; install Go (Debian: golang-go) to build the Fabric binaries")
        return 1 if args.strict else 0
    outcomes = ensure(progress=lambda msg: print(f"[setup] {msg}", flush=True))
    for o in outcomes:
        if o.action in ("present", "from cache", "built"):
            print(f"[setup] {o.tool}: {o.action} ({o.path})")
    rejected = [o for o in outcomes if o.action == "rejected"]
    failed = [o for o in outcomes if o.action == "failed"]
    if rejected:
        print(f"[setup] ERROR: found but rejected: {rejected[0].detail}\n[setup] supported: {SUPPORTED}", flush=True)
    if failed:
        print("[setup] ERROR: could not build " + ", ".join(o.tool for o in failed) + ":\n"
              + "\n".join("    " + line for line in failed[0].detail.splitlines()[-40:]), flush=True)  # fmt: skip
    if rejected or failed:
        return 1 if args.strict else 0
    print(f"[setup] Fabric: {fabric_build().summary}; Fabric CA v{FABRIC_CA_VERSION}")
    return 0


if __name__ == "__main__":
    sys.exit(_main())

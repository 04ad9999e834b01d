"""Build or locate the pinned Fabric and Fabric CA binaries.

Why a pin by commit: Fabric's module path has no major-version suffix, so its v3 tags are not
valid Go module versions; the only way through the Go module proxy is the commit
(``go install github.com/hyperledger/fabric/cmd/peer@<commit>``). Fabric CA has valid v1 tags;
it is built inside a tiny wrapper module because ``go install pkg@version`` also asks the proxy
for the module's version list (deprecation check), which some proxies refuse.

A present binary of the pinned version is never rebuilt. Where the proxy refuses the pinned
Fabric commit, ``FLEXLEDGER_FABRIC_BIN`` may name a folder holding binaries of exactly that
commit (built from Fabric's source at the tag); they are checked before use.

Run as ``python -m network.binaries ensure [--strict]``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

FABRIC_VERSION = "3.1.5"
FABRIC_COMMIT = "86c1172bec37e6590c6b1ae6f847833df48d65fc"
FABRIC_CA_VERSION = "1.5.21"

FABRIC_TOOLS = ("peer", "orderer", "osnadmin", "configtxgen", "configtxlator")
FABRIC_CA_TOOLS = ("fabric-ca-server", "fabric-ca-client")

REPO_ROOT = Path(__file__).resolve().parent.parent
FABRIC_BIN_ENV = "FLEXLEDGER_FABRIC_BIN"


class BinariesMissing(RuntimeError):
    """A pinned binary is neither present nor buildable; the message says what to do."""


@dataclass(frozen=True)
class BuildOutcome:
    tool: str
    path: Path | None
    action: str  # "present" | "built" | "failed"
    detail: str = ""


def bin_dir() -> Path:
    """The git-ignored folder the project builds its binaries into."""
    return REPO_ROOT / ".fabric" / "bin"


def cache_dir() -> Path:
    """A per-user cache of built binaries, shared by every clone (CI starts from a fresh clone).

    Keyed by the pinned versions, so a cached binary is always of the right version; it is still
    checked before use.
    """
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "flexledger" / f"fabric-{FABRIC_VERSION}-{FABRIC_COMMIT[:12]}-ca-{FABRIC_CA_VERSION}"


def _from_cache(tool: str) -> bool:
    """Copy ``tool`` from the cache into ``.fabric/bin`` when the cache holds a pinned build."""
    cached = cache_dir() / tool
    check = is_pinned_fabric if tool in FABRIC_TOOLS else is_pinned_fabric_ca
    if not check(cached):
        return False
    bin_dir().mkdir(parents=True, exist_ok=True)
    shutil.copy2(cached, bin_dir() / tool)
    return True


def _to_cache(path: Path) -> None:
    try:
        cache_dir().mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, cache_dir() / path.name)
    except OSError:
        pass  # a cache that cannot be written only costs a rebuild next time


def _go_build_info(path: Path) -> str:
    try:
        return subprocess.run(
            ["go", "version", "-m", str(path)], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def _tool_version_text(path: Path) -> str:
    try:
        return subprocess.run(
            [str(path), "version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def is_pinned_fabric(path: Path) -> bool:
    """True when ``path`` is a Fabric binary of the pinned commit.

    Accepted evidence: Go build info naming the commit (``go install ...@commit``), or the
    version metadata Fabric's own build stamps in (``Commit SHA: 86c1172bec37``).
    """
    if not path.is_file() or not os.access(path, os.X_OK):
        return False
    short = FABRIC_COMMIT[:12]
    if short in _go_build_info(path):
        return True
    text = _tool_version_text(path)
    match = re.search(r"Commit SHA:\s*([0-9a-f]+)", text)
    return bool(match and FABRIC_COMMIT.startswith(match.group(1)) and len(match.group(1)) >= 7)


def is_pinned_fabric_ca(path: Path) -> bool:
    if not path.is_file() or not os.access(path, os.X_OK):
        return False
    info = _go_build_info(path)
    return bool(re.search(r"github\.com/hyperledger/fabric-ca\s+v" + re.escape(FABRIC_CA_VERSION) + r"\b", info))


def locate(tool: str) -> Path:
    """Path of a pinned binary, or :class:`BinariesMissing` explaining how to get it."""
    candidates = [bin_dir() / tool]
    if tool in FABRIC_TOOLS and os.environ.get(FABRIC_BIN_ENV):
        candidates.insert(0, Path(os.environ[FABRIC_BIN_ENV]) / tool)
    check = is_pinned_fabric if tool in FABRIC_TOOLS else is_pinned_fabric_ca
    for candidate in candidates:
        if check(candidate):
            return candidate
    raise BinariesMissing(
        f"{tool}: no binary of the pinned version (Fabric v{FABRIC_VERSION} @ {FABRIC_COMMIT[:12]}, "
        f"Fabric CA v{FABRIC_CA_VERSION}) in .fabric/bin"
        + (f" or ${FABRIC_BIN_ENV}" if tool in FABRIC_TOOLS else "")
        + "; run ./scripts/setup (see README: Fabric binaries)"
    )


def fabric_available() -> bool:
    try:
        for tool in FABRIC_TOOLS + FABRIC_CA_TOOLS:
            locate(tool)
    except BinariesMissing:
        return False
    return True


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env["GOBIN"] = str(bin_dir())
    env.setdefault("GOFLAGS", "-buildvcs=false")
    return env


def _run_go(args: list[str], cwd: Path | None = None) -> tuple[int, str]:
    proc = subprocess.run(args, cwd=cwd, env=_go_env(), capture_output=True, text=True, check=False)
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def build_fabric_tool(tool: str) -> BuildOutcome:
    """``go install`` one Fabric tool by the pinned commit (the only route through the proxy)."""
    command = ["go", "install", f"github.com/hyperledger/fabric/cmd/{tool}@{FABRIC_COMMIT}"]
    code, output = _run_go(command)
    path = bin_dir() / tool
    if code == 0 and is_pinned_fabric(path):
        return BuildOutcome(tool, path, "built")
    return BuildOutcome(tool, None, "failed", f"$ {' '.join(command)}\n{output}")


def build_fabric_ca_tools() -> list[BuildOutcome]:
    """Build fabric-ca-server and fabric-ca-client at the pinned tag through a wrapper module."""
    with tempfile.TemporaryDirectory(prefix="flexledger-fabric-ca-") as tmp:
        Path(tmp, "go.mod").write_text(
            "module flexledger.local/fabricca\n\ngo 1.22\n\n"
            f"require github.com/hyperledger/fabric-ca v{FABRIC_CA_VERSION}\n"
        )
        command = ["go", "install", "-mod=mod"] + [f"github.com/hyperledger/fabric-ca/cmd/{t}" for t in FABRIC_CA_TOOLS]
        code, output = _run_go(command, cwd=Path(tmp))
    outcomes = []
    for tool in FABRIC_CA_TOOLS:
        path = bin_dir() / tool
        if code == 0 and is_pinned_fabric_ca(path):
            outcomes.append(BuildOutcome(tool, path, "built"))
        else:
            outcomes.append(BuildOutcome(tool, None, "failed", f"$ {' '.join(command)}\n{output}"))
    return outcomes


def ensure(progress=print) -> list[BuildOutcome]:
    """Make every pinned binary present, building only what is missing."""
    bin_dir().mkdir(parents=True, exist_ok=True)
    outcomes: list[BuildOutcome] = []
    missing_ca = []
    for tool in FABRIC_CA_TOOLS:
        try:
            outcomes.append(BuildOutcome(tool, locate(tool), "present"))
        except BinariesMissing:
            if _from_cache(tool):
                outcomes.append(BuildOutcome(tool, locate(tool), "from cache"))
            else:
                missing_ca.append(tool)
    if missing_ca:
        progress(f"building Fabric CA v{FABRIC_CA_VERSION} ({', '.join(missing_ca)}) from the Go module proxy")
        built = [o for o in build_fabric_ca_tools() if o.tool in missing_ca]
        for outcome in built:
            if outcome.path is not None:
                _to_cache(outcome.path)
        outcomes.extend(built)
    for tool in FABRIC_TOOLS:
        try:
            outcomes.append(BuildOutcome(tool, locate(tool), "present"))
            continue
        except BinariesMissing:
            pass
        if _from_cache(tool):
            outcomes.append(BuildOutcome(tool, locate(tool), "from cache"))
            continue
        progress(f"building Fabric v{FABRIC_VERSION} {tool} from the Go module proxy (commit {FABRIC_COMMIT[:12]})")
        outcome = build_fabric_tool(tool)
        if outcome.path is not None:
            _to_cache(outcome.path)
        outcomes.append(outcome)
        if outcome.action == "failed" and ("403" in outcome.detail or "not available" in outcome.detail):
            # The proxy refuses the commit itself: the other tools would fail the same way.
            for rest in FABRIC_TOOLS[FABRIC_TOOLS.index(tool) + 1 :]:
                try:
                    outcomes.append(BuildOutcome(rest, locate(rest), "present"))
                except BinariesMissing:
                    outcomes.append(BuildOutcome(rest, None, "failed", "skipped: the proxy refused the commit"))
            break
    return outcomes


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m network.binaries")
    sub = parser.add_subparsers(dest="cmd", required=True)
    ensure_p = sub.add_parser("ensure", help="build what is missing, report what could not be built")
    ensure_p.add_argument("--strict", action="store_true", help="exit 1 when a binary is missing")
    sub.add_parser("status", help="say where each pinned binary is")
    args = parser.parse_args(argv)

    if args.cmd == "status":
        ok = True
        for tool in FABRIC_CA_TOOLS + FABRIC_TOOLS:
            try:
                print(f"{tool}: {locate(tool)}")
            except BinariesMissing as exc:
                ok = False
                print(f"{tool}: missing ({exc})")
        return 0 if ok else 1

    if shutil.which("go") is None:
        print("setup: 'go' is not on PATH; install Go (Debian: golang-go) to build the Fabric binaries")
        return 1 if args.strict else 0
    outcomes = ensure(progress=lambda msg: print(f"[setup] {msg}", flush=True))
    failed = [o for o in outcomes if o.action == "failed"]
    for o in outcomes:
        if o.action != "failed":
            print(f"[setup] {o.tool}: {o.action} ({o.path})")
    if failed:
        first = next(o for o in failed if o.detail and not o.detail.startswith("skipped"))
        print(
            "[setup] WARNING: these pinned binaries could not be built: "
            + ", ".join(o.tool for o in failed)
            + "\n[setup] first failure:\n"
            + "\n".join("    " + line for line in first.detail.splitlines())
            + f"\n[setup] The real network cannot start without them. Provide binaries of Fabric v{FABRIC_VERSION} "
            f"(commit {FABRIC_COMMIT[:12]}) in ${FABRIC_BIN_ENV}; integration tests are skipped until then.",
            flush=True,
        )
        return 1 if args.strict else 0
    return 0


if __name__ == "__main__":
    sys.exit(_main())

"""Native processes the network starts: launch detached, record pids, stop every one of them.

Each process runs in its own session (process group) with stdout/stderr in a log file, so
``down`` can end it and anything it spawned, and a crash leaves its last words on disk.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from network.layout import Layout


class PortTaken(RuntimeError):
    pass


class StartFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class ProcessSpec:
    """How to run one node: the name is also its log and pid file name (``agg1-peer``)."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    cwd: Path
    ports: Sequence[int]


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_is_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def read_pid(layout: Layout, name: str) -> int | None:
    try:
        return int(layout.pid(name).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); treat it as dead.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def running(layout: Layout, name: str) -> int | None:
    pid = read_pid(layout, name)
    return pid if pid_alive(pid) else None


def start(layout: Layout, spec: ProcessSpec, host: str) -> int:
    """Start ``spec`` unless it already runs; fail clearly when one of its ports is taken."""
    pid = running(layout, spec.name)
    if pid:
        return pid
    for port in spec.ports:
        if not port_is_free(host, port):
            raise PortTaken(
                f"{spec.name}: port {host}:{port} is already in use by another process; stop it or move the "
                "network with FLEXLEDGER_BASE_PORT"
            )
    layout.logs.mkdir(parents=True, exist_ok=True)
    layout.run.mkdir(parents=True, exist_ok=True)
    log = open(layout.log(spec.name), "ab")  # noqa: SIM115 - handed to the child
    try:
        proc = subprocess.Popen(
            list(spec.argv),
            cwd=spec.cwd,
            env={**os.environ, **spec.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    finally:
        log.close()
    layout.pid(spec.name).write_text(str(proc.pid))
    return proc.pid


def wait_for_port(layout: Layout, name: str, host: str, port: int, timeout: float = 60.0) -> None:
    """Wait until ``port`` accepts connections, failing early (with the log's tail) if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_is_open(host, port):
            return
        if not running(layout, name):
            raise StartFailed(f"{name} exited during start-up; last log lines:\n{tail(layout.log(name))}")
        time.sleep(0.1)
    raise StartFailed(f"{name} did not open {host}:{port} within {timeout:.0f} s; log: {layout.log(name)}")


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: how Fabric's nodes (and Go itself) say that something went wrong
_FAULT = re.compile(r"\bpanic\b|\b(PANI|FATA|CRIT|ERRO)\b|\b(fatal|Error):", re.IGNORECASE)


def last_words(layout: Layout, name: str, lines: int = 4) -> list[str]:
    """The last error, fatal or panic lines of a node's log: the node's own account of a failure."""
    try:
        text = layout.log(name).read_text(errors="replace")
    except FileNotFoundError:
        return []
    faults = [_ANSI.sub("", line).strip() for line in text.splitlines() if _FAULT.search(line)]
    return [line[:400] for line in faults[-lines:]]


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def stop(layout: Layout, name: str, grace: float = 10.0) -> bool:
    """Stop a process group we started; True when something was running."""
    pid = read_pid(layout, name)
    layout.pid(name).unlink(missing_ok=True)
    if not pid_alive(pid):
        return False
    assert pid is not None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.05)
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        while pid_alive(pid):
            time.sleep(0.05)
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
    return True


def recorded_names(layout: Layout) -> list[str]:
    if not layout.run.is_dir():
        return []
    return sorted(p.stem for p in layout.run.glob("*.pid"))

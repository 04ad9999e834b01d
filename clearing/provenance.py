"""What computed a result: package and solver versions, and a digest of the sources that shape it.

Why: peers compare result bytes; two peers running different code or solver versions must
disagree visibly (a different ``oracle`` block, hence a different ``result_hash``) rather than by
a last-digit surprise. Each market lists the sources that determine its results.
"""

from __future__ import annotations

import functools
import hashlib
from importlib import metadata
from pathlib import Path

#: The clearing package: source paths are given relative to it.
PACKAGE_DIR = Path(__file__).resolve().parent


def package_version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


@functools.cache
def sources_sha256(sources: tuple[str, ...]) -> str:
    """sha256 over (relative path, content) of ``sources`` (files, or folders of ``*.py``), by path."""
    files: list[Path] = []
    for name in sources:
        path = PACKAGE_DIR / name
        files.extend(sorted(path.glob("*.py")) if path.is_dir() else [path])
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.relative_to(PACKAGE_DIR).as_posix()):
        digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


@functools.cache
def highs_version() -> str:
    from clearing.solver import new_highs

    h = new_highs()
    return f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"

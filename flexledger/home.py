"""Where this machine keeps its network: ``$FLEXLEDGER_HOME`` and the profiles ``network up`` writes there.

Why here and not in ``gateway/``: the Fabric client connects to whatever profile it is given; knowing
where this project's command line keeps its state is the command line's business.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gateway.client import Contract, Timeouts, connect_from_profile
from gateway.profile import load_profile
from gateway.retry import SETTLE_RETRY, EndorseRetry


def flexledger_home() -> Path:
    """``$FLEXLEDGER_HOME``, else ``.flexledger`` at the repository root (next to pyproject.toml)."""
    env = os.environ.get("FLEXLEDGER_HOME")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / ".flexledger"


def profile_path(org: str, home: Path | None = None) -> Path:
    """Where ``network up`` writes the profile of ``org``."""
    return (home or flexledger_home()) / "profiles" / f"{org}.json"


@contextmanager
def contract_session(org: str, user: str = "admin", home: Path | None = None, timeouts: Timeouts | None = None,
                     endorse_retry: EndorseRetry = SETTLE_RETRY) -> Iterator[Contract]:
    """The org's chaincode as ``user``, from ``$FLEXLEDGER_HOME/profiles/<org>.json``; closes the connection.

    What ``flexledger tx submit|evaluate`` needs: ``with contract_session("agg1", "trader") as c: c.submit(...)``.
    The command line chooses :data:`~gateway.retry.SETTLE_RETRY`: a person typing a command right after
    ``network up`` or ``org add`` should not see discovery still settling as an error.
    """
    prof = load_profile(profile_path(org, home))
    with connect_from_profile(prof, user, timeouts, endorse_retry) as gw:
        yield gw.get_network(prof.channel).get_contract(prof.chaincode)

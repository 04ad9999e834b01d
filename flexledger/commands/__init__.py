"""Sub-commands of the ``flexledger`` CLI, one module each (see :mod:`flexledger.cli`)."""

from __future__ import annotations

import pkgutil

#: The order ``--help`` lists the sub-commands in; any other module here comes after them.
_PREFERRED_ORDER = ("network", "tx", "clear", "validate_ac", "experiment", "gateway", "demo")


def command_modules() -> list[str]:
    """Names of the modules in this package that provide a sub-command."""
    found = {m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")}
    ordered = [name for name in _PREFERRED_ORDER if name in found]
    return ordered + sorted(found - set(ordered))


class UserError(Exception):
    """A problem the user can fix (bad flag, missing file, network down): printed without traceback."""

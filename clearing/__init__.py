"""flexledger's clearing oracle: a pure library (no Fabric, no HTTP, no processes).

Public entry point: :func:`clearing.api.clear`, which reads the ``schema`` field of a
document and clears it with the matching market:

* ``flexledger.clearing/1`` — flexibility market (linearised DistFlow OPF, VCG or DLMP),
  in :mod:`clearing.flex`;
* ``flexledger.capacity/1`` — capacity market (premium capacity, social equity), in
  :mod:`clearing.capacity`.
"""

from clearing.api import SCHEMAS, clear, clear_to_bytes
from clearing.errors import ClearingError, InfeasibleError, SolverError, ValidationError

__all__ = [
    "SCHEMAS",
    "ClearingError",
    "InfeasibleError",
    "SolverError",
    "ValidationError",
    "clear",
    "clear_to_bytes",
]

"""The flexibility market: linearised DistFlow OPF (seed 004, eqs. 1-15) cleared by VCG or DLMP.

Entry points:

* :func:`clear_flexibility` ``(doc, mechanism)`` -> result document (``flexledger.clearing-result/1``),
  already rounded; ``clearing.canonical.dumps`` of it are the bytes peers compare;
* :class:`FlexInstance` ``.from_document(doc)`` -> the validated, normalised instance;
  :func:`clear_instance` clears one directly;
* :func:`build_model` -> the pyomo model of any set of periods (reference formulation).
"""

from clearing.flex.clear import MECHANISMS, RESULT_SCHEMA, clear_flexibility, clear_instance
from clearing.flex.instance import PRODUCTS, SCHEMA, FlexInstance, Offer, Product
from clearing.flex.opf import build_model

__all__ = [
    "MECHANISMS",
    "PRODUCTS",
    "RESULT_SCHEMA",
    "SCHEMA",
    "FlexInstance",
    "Offer",
    "Product",
    "build_model",
    "clear_flexibility",
    "clear_instance",
]

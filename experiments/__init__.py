"""Reproducible evaluations of the clearing mechanisms (the FLEXGRID paper, seed 004).

Experiments build ordinary ``flexledger.clearing/1`` documents from the project's own data
files under ``experiments/data/`` and clear them through :func:`clearing.api.clear`, so that
they exercise exactly the oracle the chaincode runs.
"""

"""Throughput of the bid path: the official Node Gateway client, our client library and REST, side by side.

``python -m tests.benchmarks.throughput --help`` (see :mod:`tests.benchmarks.throughput.bench`).
"""

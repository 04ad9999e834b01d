"""flexledger's smart contract: device registry, network data, funds, markets, bids, clearing, audit.

Runs inside ``fabric-chaincode-python`` as a chaincode-as-a-service process (``python -m chaincode``).
It imports only :mod:`clearing` (the oracle) and third-party libraries, never the gateway, the network
tooling or the CLI: whatever runs on a peer must be explainable from this package and the oracle alone.
"""

#: Version of the contract code, recorded next to the oracle version in every clearing.
__version__ = "0.1.0"

#: Name of the contract inside the chaincode (callers may prefix functions with ``flexledger:``).
CONTRACT_NAME = "flexledger"

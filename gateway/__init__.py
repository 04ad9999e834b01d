"""Python Fabric Gateway client (the REST service is ``restapi``).

Client API (shaped like Fabric's official Gateway clients)::

    from gateway import connect_from_profile
    with connect_from_profile(".flexledger/profiles/agg1.json", "user1") as gw:
        contract = gw.get_network("flexchannel").get_contract("flexledger")
        contract.evaluate("GetMarketplace")
        contract.submit("RegisterDevice", device_json)
"""

from gateway.client import (
    Contract,
    Gateway,
    Network,
    Proposal,
    Status,
    SubmittedTransaction,
    Timeouts,
    Transaction,
    connect,
    connect_from_profile,
)
from gateway.errors import (
    CommitError,
    CommitStatusError,
    ConfigError,
    EndorseError,
    ErrorDetail,
    EvaluateError,
    GatewayError,
    RpcFailure,
    SubmitError,
)
from gateway.events import ChaincodeEvent, Checkpoint, FileCheckpoint
from gateway.identity import X509Identity
from gateway.retry import NO_ENDORSE_RETRY, NO_RETRY, RACE_RETRY, SETTLE_RETRY, EndorseRetry, RetryPolicy

__all__ = [
    "NO_ENDORSE_RETRY", "NO_RETRY", "RACE_RETRY", "SETTLE_RETRY", "EndorseRetry", "RetryPolicy",
    "ChaincodeEvent", "Checkpoint", "CommitError", "CommitStatusError", "ConfigError", "Contract",
    "EndorseError", "ErrorDetail", "EvaluateError", "FileCheckpoint", "Gateway", "GatewayError", "Network",
    "Proposal", "RpcFailure", "Status", "SubmitError", "SubmittedTransaction", "Timeouts", "Transaction",
    "X509Identity", "connect", "connect_from_profile",
]

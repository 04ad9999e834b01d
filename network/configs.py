"""Per-node configuration rendered from the project's own templates.

Fabric's sample ``core.yaml``/``orderer.yaml``/``configtx.yaml`` are the reference for keys
and defaults; these builders keep only what a native, TLS-everywhere, Docker-free node needs,
with every path and port filled in from the topology.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from network.fabric_versions import FabricLine
from network.layout import Layout
from network.pki import Enrolled
from network.topology import Org, Topology

BUILDER_DIR = Path(__file__).resolve().parent / "builder"
BUILDER_NAME = "flexledger-ccaas"
#: Environment the peer passes to the external builder so that one package serves every org.
BUILDER_ENV = ("FLEXLEDGER_CHAINCODE_ADDRESS", "FLEXLEDGER_CHAINCODE_ROOT_CERT",
               "FLEXLEDGER_PEER_TLS_CERT", "FLEXLEDGER_PEER_TLS_KEY")  # fmt: skip


def write_yaml(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def peer_core(layout: Layout, topo: Topology, org: Org, peer: Enrolled, fabric: FabricLine) -> dict[str, Any]:
    node = layout.node_dir(org.name, "peer0")
    address = f"{topo.host}:{org.peer_port}"
    tls = {
        "enabled": True,
        "clientAuthRequired": False,
        "cert": {"file": str(peer.tls_cert)},
        "key": {"file": str(peer.tls_key)},
        "rootcert": {"file": str(layout.ca_cert(org.name))},
        "clientRootCAs": {"files": [str(layout.ca_cert(o.name)) for o in topo.orgs]},
        "clientCert": {"file": str(peer.tls_cert)},
        "clientKey": {"file": str(peer.tls_key)},
    }
    return {
        "peer": {
            "id": org.peer_host,
            "networkId": "flexledger",
            "listenAddress": address,
            "address": address,
            "chaincodeListenAddress": f"{topo.host}:{org.peer_chaincode_port}",
            "addressAutoDetect": False,
            "gateway": {"enabled": True, "endorsementTimeout": "60s", "broadcastTimeout": "30s", "dialTimeout": "30s"},
            "keepalive": {"interval": "7200s", "timeout": "20s", "minInterval": "60s",
                          "client": {"interval": "60s", "timeout": "20s"},
                          "deliveryClient": {"interval": "60s", "timeout": "20s"}},  # fmt: skip
            "gossip": {
                "bootstrap": address,
                "externalEndpoint": address,
                "endpoint": address,
                "useLeaderElection": False,
                "orgLeader": True,
                "membershipTrackerInterval": "5s",
                "maxBlockCountToStore": 10,
                "maxPropagationBurstLatency": "10ms",
                "maxPropagationBurstSize": 10,
                "propagateIterations": 1,
                "propagatePeerNum": 3,
                "pullInterval": "4s",
                "pullPeerNum": 3,
                "requestStateInfoInterval": "4s",
                "publishStateInfoInterval": "4s",
                "stateInfoRetentionInterval": None,
                "publishCertPeriod": "10s",
                "skipBlockVerification": False,
                "dialTimeout": "3s",
                "connTimeout": "2s",
                "recvBuffSize": 20,
                "sendBuffSize": 200,
                "digestWaitTime": "1s",
                "requestWaitTime": "1500ms",
                "responseWaitTime": "2s",
                "aliveTimeInterval": "5s",
                "aliveExpirationTimeout": "25s",
                "reconnectInterval": "25s",
                "maxConnectionAttempts": 120,
                "msgExpirationFactor": 20,
                "election": {"startupGracePeriod": "15s", "membershipSampleInterval": "1s",
                             "leaderAliveThreshold": "10s", "leaderElectionDuration": "5s"},  # fmt: skip
                "pvtData": {"pullRetryThreshold": "60s", "transientstoreMaxBlockRetention": 20000,
                            "pushAckTimeout": "3s", "btlPullMargin": 10, "reconcileBatchSize": 10,
                            "reconcileSleepInterval": "1m", "reconciliationEnabled": True,
                            "skipPullingInvalidTransactionsDuringCommit": False,
                            "implicitCollectionDisseminationPolicy": {"requiredPeerCount": 0, "maxPeerCount": 1}},
                "state": {"enabled": False, "checkInterval": "10s", "responseTimeout": "3s", "batchSize": 10,
                          "blockBufferSize": 20, "maxRetries": 3},  # fmt: skip
            },
            "tls": tls,
            "authentication": {"timewindow": "15m"},
            "fileSystemPath": str(node / "data"),
            "BCCSP": {"Default": "SW", "SW": {"Hash": "SHA2", "Security": 256, "FileKeyStore": {"KeyStore": None}}},
            "mspConfigPath": str(peer.msp),
            "localMspId": org.msp_id,
            "client": {"connTimeout": "3s"},
            "deliveryclient": _delivery_client(fabric),
            "localMspType": "bccsp",
            "profile": {"enabled": False},
            "handlers": {
                "authFilters": [{"name": name} for name in fabric.peer_auth_filters],
                "decorators": [{"name": "DefaultDecorator"}],
                "endorsers": {"escc": {"name": "DefaultEndorsement", "library": None}},
                "validators": {"vscc": {"name": "DefaultValidation", "library": None}},
            },
            "validatorPoolSize": None,
            "discovery": {"enabled": True, "authCacheEnabled": True, "authCacheMaxSize": 1000,
                          "authCachePurgeRetentionRatio": 0.75, "orgMembersAllowedAccess": False},  # fmt: skip
            "limits": {"concurrency": {"endorserService": 2500, "deliverService": 2500, "gatewayService": 500}},
            "maxRecvMsgSize": 104857600,
            "maxSendMsgSize": 104857600,
        },
        # No Docker: an empty endpoint disables the Docker VM; chaincode runs as a service.
        "vm": {"endpoint": ""},
        "chaincode": {
            "builder": "",
            "pull": False,
            "externalBuilders": [
                {"name": BUILDER_NAME, "path": str(BUILDER_DIR), "propagateEnvironment": list(BUILDER_ENV)}
            ],
            "installTimeout": "60s",
            "startuptimeout": "60s",
            "executetimeout": "120s",
            "mode": "net",
            "keepalive": 0,
            "system": {"_lifecycle": "enable", "cscc": "enable", "lscc": "enable", "qscc": "enable"},
            "logging": {"level": "info", "shim": "warning", "format": "%{time:2006-01-02 15:04:05.000} "
                        "[%{module}] %{shortfunc} -> %{level:.4s} %{message}"},  # fmt: skip
            **_runtime_params(fabric),
        },
        "ledger": {
            "state": {"stateDatabase": "goleveldb", "totalQueryLimit": 100000},
            "history": {"enableHistoryDatabase": True},
            "pvtdataStore": {"collElgProcMaxDbBatchSize": 5000, "collElgProcDbBatchesInterval": 1000,
                             "deprioritizedDataReconcilerInterval": "60m", "purgeInterval": 100,
                             "purgedKeyAuditLogging": True},  # fmt: skip
            "snapshots": {"rootDir": str(node / "data" / "snapshots")},
        },
        "operations": {
            "listenAddress": f"{topo.host}:{org.peer_ops_port}",
            "tls": {"enabled": True, "cert": {"file": str(peer.tls_cert)}, "key": {"file": str(peer.tls_key)},
                    "clientAuthRequired": False, "clientRootCAs": {"files": []}},  # fmt: skip
        },
        "metrics": {"provider": "disabled"},
    }


def _runtime_params(fabric: FabricLine) -> dict[str, Any]:
    """Batched state access for the chaincode (chaincode/batching.py), where the peer has it: a bid's
    reads and writes then cost two messages to the Python chaincode instead of nine."""
    if not fabric.chaincode_batching:
        return {}
    return {"runtimeParams": {"useWriteBatch": True, "maxSizeWriteBatch": 1000,
                              "useGetMultipleKeys": True, "maxSizeGetMultipleKeys": 1000}}


def _delivery_client(fabric: FabricLine) -> dict[str, Any]:
    client: dict[str, Any] = {"blockGossipEnabled": False, "reconnectTotalTimeThreshold": "3600s",
                              "connTimeout": "3s", "reConnectBackoffThreshold": "3600s"}  # fmt: skip
    if fabric.peer_bft_delivery_keys:
        client.update(blockCensorshipTimeoutKey="30s", minimalReconnectInterval="100ms", policy="cluster")
    return client


def orderer_config(layout: Layout, topo: Topology, org: Org, orderer: Enrolled, fabric: FabricLine) -> dict[str, Any]:
    node = layout.node_dir(org.name, "orderer0")
    roots = [str(layout.ca_cert(o.name)) for o in topo.orgs]
    general: dict[str, Any] = {
        "ListenAddress": topo.host,
        "ListenPort": org.orderer_port,
        "TLS": {"Enabled": True, "PrivateKey": str(orderer.tls_key), "Certificate": str(orderer.tls_cert),
                "RootCAs": roots, "ClientAuthRequired": False, "ClientRootCAs": roots},  # fmt: skip
        "Keepalive": {"ServerMinInterval": "60s", "ServerInterval": "7200s", "ServerTimeout": "20s"},
        "MaxRecvMsgSize": 104857600,
        "MaxSendMsgSize": 104857600,
        # Raft traffic shares the TLS listener; the TLS cert doubles as cluster client cert.
        "Cluster": {"SendBufferSize": 100, "ClientCertificate": str(orderer.tls_cert),
                    "ClientPrivateKey": str(orderer.tls_key), "ListenPort": None, "ListenAddress": None,
                    "ServerCertificate": None, "ServerPrivateKey": None},  # fmt: skip
        "BootstrapMethod": "none",
        "LocalMSPDir": str(orderer.msp),
        "LocalMSPID": org.msp_id,
        "Profile": {"Enabled": False},
        "BCCSP": {"Default": "SW", "SW": {"Hash": "SHA2", "Security": 256, "FileKeyStore": {"KeyStore": None}}},
        "Authentication": {"TimeWindow": "15m"},
    }
    if fabric.orderer_backoff_and_throttling:
        general["Backoff"] = {"BaseDelay": "1s", "Multiplier": 1.6, "MaxDelay": "2m"}
        general["Throttling"] = {"Rate": 0, "InactivityTimeout": "5s"}
    return {
        "General": general,
        "FileLedger": {"Location": str(node / "data")},
        "Operations": {
            "ListenAddress": f"{topo.host}:{org.orderer_ops_port}",
            "TLS": {"Enabled": True, "Certificate": str(orderer.tls_cert), "PrivateKey": str(orderer.tls_key),
                    "ClientAuthRequired": False, "ClientRootCAs": []},  # fmt: skip
        },
        "Metrics": {"Provider": "disabled"},
        "Admin": {
            "ListenAddress": f"{topo.host}:{org.orderer_admin_port}",
            "TLS": {"Enabled": True, "Certificate": str(orderer.tls_cert), "PrivateKey": str(orderer.tls_key),
                    "ClientAuthRequired": True, "ClientRootCAs": [str(layout.ca_cert(org.name))]},  # fmt: skip
        },
        "ChannelParticipation": {"Enabled": True, "MaxRequestBodySize": "1 MB"},
        "Consensus": {"WALDir": str(node / "data" / "etcdraft" / "wal"),
                      "SnapDir": str(node / "data" / "etcdraft" / "snapshot")},  # fmt: skip
    }


def _org_policies(org: Org) -> dict[str, Any]:
    m = org.msp_id
    return {
        "Readers": {"Type": "Signature", "Rule": f"OR('{m}.admin', '{m}.peer', '{m}.client', '{m}.orderer')"},
        "Writers": {"Type": "Signature", "Rule": f"OR('{m}.admin', '{m}.client', '{m}.orderer')"},
        "Admins": {"Type": "Signature", "Rule": f"OR('{m}.admin')"},
        "Endorsement": {"Type": "Signature", "Rule": f"OR('{m}.peer')"},
    }


def org_definition(layout: Layout, topo: Topology, org: Org) -> dict[str, Any]:
    """One organisation as configtx.yaml defines it: in the genesis block, or admitted later by an update."""
    entry: dict[str, Any] = {
        "Name": org.msp_id,
        "ID": org.msp_id,
        "MSPDir": str(layout.org_msp(org.name)),
        "Policies": _org_policies(org),
        "AnchorPeers": [{"Host": topo.host, "Port": org.peer_port}],
    }
    if org.runs_orderer:
        entry["OrdererEndpoints"] = [f"{topo.host}:{org.orderer_port}"]
    return entry


def configtx(layout: Layout, topo: Topology, orderers: dict[str, Enrolled], fabric: FabricLine) -> dict[str, Any]:
    """The application channel's genesis definition (Raft across the participants' orderers)."""
    orgs = [org_definition(layout, topo, org) for org in topo.orgs]
    by_msp = {e["ID"]: e for e in orgs}
    implicit = {
        "Readers": {"Type": "ImplicitMeta", "Rule": "ANY Readers"},
        "Writers": {"Type": "ImplicitMeta", "Rule": "ANY Writers"},
        "Admins": {"Type": "ImplicitMeta", "Rule": "MAJORITY Admins"},
    }
    consenters = [
        {"Host": topo.host, "Port": o.orderer_port, "ClientTLSCert": str(orderers[o.name].tls_cert),
         "ServerTLSCert": str(orderers[o.name].tls_cert)}
        for o in topo.orderer_orgs
    ]  # fmt: skip
    profile = {
        "Policies": implicit,
        "Capabilities": {fabric.channel_capability: True},
        "Orderer": {
            "OrdererType": "etcdraft",
            "BatchTimeout": topo.batch_timeout,
            "BatchSize": {"MaxMessageCount": 100, "AbsoluteMaxBytes": "10 MB", "PreferredMaxBytes": "2 MB"},
            "EtcdRaft": {"Consenters": consenters, "Options": {"TickInterval": "200ms", "ElectionTick": 10,
                         "HeartbeatTick": 1, "MaxInflightBlocks": 5, "SnapshotIntervalSize": "16 MB"}},
            "Organizations": [by_msp[o.msp_id] for o in topo.orderer_orgs],
            "Policies": {**implicit, "BlockValidation": {"Type": "ImplicitMeta", "Rule": "ANY Writers"}},
            "Capabilities": {fabric.orderer_capability: True},
        },
        "Application": {
            "Organizations": [by_msp[o.msp_id] for o in topo.orgs],
            "Policies": {
                **implicit,
                "LifecycleEndorsement": {"Type": "ImplicitMeta", "Rule": "MAJORITY Endorsement"},
                "Endorsement": {"Type": "ImplicitMeta", "Rule": "MAJORITY Endorsement"},
            },
            "Capabilities": {fabric.application_capability: True},
            "ACLs": {},
        },
    }
    return {"Organizations": orgs, "Profiles": {"FlexChannel": profile}}

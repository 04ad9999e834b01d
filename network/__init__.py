"""Operations: the local Fabric network as native processes (no Docker).

Builds or locates the Fabric binaries (and detects which Fabric line they are), runs each organisation's Fabric CA, enrols
identities, renders per-node configs for that line from the project's own templates, starts CAs, orderers,
peers and chaincode servers, creates the channel and runs the chaincode lifecycle. It knows
nothing of market logic.
"""

"""The typed contract between the parts: what the chaincode, the Fabric client and the REST service agree on.

It imports nothing of Fabric, gRPC or HTTP, so every part may use it (tests/unit/test_walls.py).
"""

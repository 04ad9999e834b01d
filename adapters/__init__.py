"""Adapters to the external platforms of the wholesale modules: an energy exchange and a TSO's mFRR platform.

Why a package of its own: the chaincode never reaches outside the ledger (every endorser must compute the
same thing from ledger state alone), and the gateway only speaks Fabric. What crosses to the outside
world — the order book the DSO's check let through, the exchange's signed results, the mFRR bids and
the TSO's activation requests — is moved by these adapters, by a file drop or over HTTP, and entered on
the ledger by the organisation whose role it is (see docs/wholesale.md).
"""

"""Funds in integer cents: deposits and withdrawals by settlement only, balances visible to the right people."""

from __future__ import annotations

import pytest
from cc_fakes import Chain
from cc_world import AGG1, AGG2, AUDITOR, DSO, SETTLE, TSO


def test_deposit_and_withdraw_move_integer_cents(chain: Chain) -> None:
    assert chain.invoke(SETTLE, "Deposit", "agg1MSP", "12345")["available_cents"] == 12345
    assert chain.invoke(SETTLE, "Withdraw", "agg1MSP", "345")["available_cents"] == 12000
    balance = chain.invoke(AGG1, "GetBalance", "agg1MSP")
    assert (balance["available_cents"], balance["escrow_cents"]) == (12000, 0)
    assert chain.total_cents() == 12000


def test_only_settlement_moves_money_in_or_out(chain: Chain) -> None:
    chain.refuse(AGG1, "Deposit", "agg1MSP", "100", field="caller.role")
    chain.refuse(DSO, "Deposit", "dsoMSP", "100", field="caller.role")
    chain.refuse(AGG1, "Withdraw", "agg1MSP", "100", field="caller.role")


@pytest.mark.parametrize("amount", ["0", "-5", "1.5", "12e3", "", "abc", "1" * 16])
def test_amount_must_be_positive_whole_cents(chain: Chain, amount: str) -> None:
    chain.refuse(SETTLE, "Deposit", "agg1MSP", amount, field="amountCents")


def test_withdrawal_beyond_available_money_is_refused(chain: Chain) -> None:
    chain.invoke(SETTLE, "Deposit", "agg1MSP", "100")
    chain.refuse(SETTLE, "Withdraw", "agg1MSP", "101", field="amountCents")


def test_money_only_for_marketplace_participants(chain: Chain) -> None:
    chain.refuse(SETTLE, "Deposit", "auditorMSP", "100", field="participantMsp")
    chain.refuse(SETTLE, "Deposit", "strangerMSP", "100", field="participantMsp")
    assert chain.invoke(SETTLE, "Deposit", "tsoMSP", "100")["available_cents"] == 100


def test_balance_is_visible_to_its_owner_dso_and_auditors_only(chain: Chain) -> None:
    chain.invoke(SETTLE, "Deposit", "agg1MSP", "100")
    assert chain.invoke(AUDITOR, "GetBalance", "agg1MSP")["available_cents"] == 100
    assert chain.invoke(DSO, "GetBalance", "agg1MSP")["available_cents"] == 100
    chain.refuse(AGG2, "GetBalance", "agg1MSP", field="caller.role")
    chain.refuse(TSO, "GetBalance", "agg1MSP", field="caller.role")
    assert chain.invoke(AGG2, "GetBalance", "agg2MSP")["available_cents"] == 0


def test_total_funds_query_sums_every_balance(chain: Chain) -> None:
    chain.invoke(SETTLE, "Deposit", "agg1MSP", "100")
    chain.invoke(SETTLE, "Deposit", "dsoMSP", "250")
    assert chain.invoke(AUDITOR, "TotalFunds")["total_cents"] == 350
    chain.refuse(AGG1, "TotalFunds", field="caller.role")

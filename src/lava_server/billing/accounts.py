"""Ledger account names: one place that says how accounts are identified."""

from __future__ import annotations

from ..ids import Mode


def wallet_account(wallet_id: str) -> str:
    return f"wallet:{wallet_id}"


def system_account(kind: str, mode: Mode) -> str:
    """Platform-wide accounts per mode: provider_cost, platform_service, external_funding, granted_credit."""
    return f"{kind}:{mode}"


def merchant_revenue_account(merchant_id: str, mode: Mode) -> str:
    return f"merchant_revenue:{merchant_id}:{mode}"


def cycle_credit_account(wallet_id: str, connection_id: str) -> str:
    """A customer's cycle credits at one merchant (included credit + rollover; negative while in
    debt, docs/plans.md). Under the wallet's name so a request's draws count as wallet-paid."""
    return f"wallet:{wallet_id}:cycle:{connection_id}"


def bundle_credit_account(wallet_id: str, connection_id: str) -> str:
    """A customer's bundle credits at one merchant (bought bundles and auto top-ups; never negative)."""
    return f"wallet:{wallet_id}:bundle:{connection_id}"


def credit_issued_account(merchant_id: str, mode: Mode) -> str:
    """Where a merchant's plan credits come from and return to (grants, forfeits, redemptions):
    its balance is minus the credits its customers hold."""
    return f"credit_issued:{merchant_id}:{mode}"

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

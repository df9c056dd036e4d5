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


def cycle_credit_account(wallet_id: str) -> str:
    """A customer's cycle credits (included credit + rollover; may go negative as debt, spec §4.5)."""
    return f"wallet:{wallet_id}:cycle"


def bundle_credit_account(wallet_id: str) -> str:
    """A customer's bundle credits (bought bundles and auto top-ups; never negative)."""
    return f"wallet:{wallet_id}:bundle"

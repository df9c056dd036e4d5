"""Response models: exact Decimals, aware datetimes, optional fields, unknown fields kept."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from lava import CheckoutSession, Connection, DeleteResult, Request, Usage

from .conftest import CHECKOUT_SESSION, CONNECTION, REQUEST, USAGE


def test_connection() -> None:
    connection = Connection.model_validate(CONNECTION)
    assert connection.wallet.balance == Decimal("125.5000000000")
    assert isinstance(connection.wallet.balance, Decimal)
    assert str(connection.wallet.balance) == "125.5000000000"  # scale kept
    assert connection.wallet.autopay_enabled is True
    assert connection.created_at == dt.datetime(2023, 5, 15, 8, 35, 42, tzinfo=dt.UTC)
    assert connection.created_at.tzinfo is not None


def test_connection_optional_fields() -> None:
    minimal = {
        "connection_id": "con_1",
        "wallet": {"balance": "0.0000000000"},
        "created_at": "2025-01-01T00:00:00Z",
    }
    connection = Connection.model_validate(minimal)
    assert connection.connection_secret is None
    assert connection.reference_id is None
    assert connection.next_usage_reset is None
    assert connection.wallet.phone is None and connection.wallet.autopay_enabled is None


def test_naive_timestamps_are_read_as_utc() -> None:
    connection = Connection.model_validate(dict(CONNECTION, created_at="2025-01-01T00:00:00"))
    assert connection.created_at.tzinfo is not None
    assert connection.created_at.utcoffset() == dt.timedelta(0)


def test_unknown_fields_are_kept() -> None:
    wallet: dict[str, Any] = {**CONNECTION["wallet"], "x": 1}  # type: ignore[dict-item]
    connection = Connection.model_validate({**CONNECTION, "livemode": False, "wallet": wallet})
    assert connection.model_extra == {"livemode": False}
    assert connection.wallet.model_extra == {"x": 1}


def test_checkout_session() -> None:
    session = CheckoutSession.model_validate(CHECKOUT_SESSION)
    assert session.connection_id is None and session.completed_at is None
    assert session.checkout_mode == "onboarding"
    completed = CheckoutSession.model_validate(
        dict(CHECKOUT_SESSION, connection_id="con_1", completed_at="2023-05-15T08:35:42Z")
    )
    assert completed.completed_at == dt.datetime(2023, 5, 15, 8, 35, 42, tzinfo=dt.UTC)


def test_request() -> None:
    request = Request.model_validate(REQUEST)
    usage = request.model_usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (845, 412, 1257)
    assert isinstance(usage.input_tokens, int)
    assert usage.total_cost == Decimal("0.0581000000")
    assert usage.output_seconds == Decimal("1.5") and isinstance(usage.output_seconds, Decimal)
    assert request.fee.amount == Decimal("0.0058100000")
    assert request.fee.breakdown[0].tier.type == "tokens_1m"
    assert request.fee.breakdown[0].tier.rate == Decimal(0)
    assert request.service_charge.payer == "wallet"
    assert request.total_request_cost == Decimal("0.0639100000")
    assert request.total_wallet_cost is not None
    assert request.total_wallet_cost + (request.total_merchant_cost or 0) == Decimal("0.0639100000")
    assert request.metadata == {"user_id": "123456"}
    assert request.timestamp is not None and request.timestamp.tzinfo is not None


def test_request_older_api_shape_and_provider_usage_tolerated() -> None:
    # 2025-03-27.v1: no status, payer, wallet/merchant totals, characters or seconds
    old = {
        "request_id": "req_1",
        "provider": "openai",
        "provider_key_type": "unmanaged",
        "endpoint": "POST https://api.openai.com/v1/chat/completions",
        "model_usage": {
            "input_tokens": 1,
            "output_tokens": 2,
            "total_tokens": 3,
            "input_cost": "0.0000000000",
            "output_cost": "0.0000000000",
            "total_cost": "0.0000000000",
            "future_field": 1,
        },
        "fee": {"amount": "0.0000000000", "rate_type": "percentage", "token_basis": "output", "breakdown": []},
        "service_charge": {"amount": "0.0000000000"},
        "total_request_cost": "0.0000000000",
        "metadata": {},
        "created_at": "2025-01-01T00:00:00Z",
        "provider_usage": {"prompt_tokens": 1, "completion_tokens": 2},
    }
    request = Request.model_validate(old)
    assert request.status is None and request.total_wallet_cost is None and request.model is None
    assert request.model_usage.input_characters == 0
    assert request.model_usage.input_seconds == 0
    assert request.model_usage.payer is None
    assert request.model_extra == {"provider_usage": {"prompt_tokens": 1, "completion_tokens": 2}}
    assert request.model_usage.model_extra == {"future_field": 1}
    assert request.model_usage.cached_input_tokens is None


def test_usage_split_reported_by_the_server() -> None:
    model_usage = {**REQUEST["model_usage"], "cached_input_tokens": 800, "reasoning_tokens": 12, "estimated": False}  # type: ignore[dict-item]
    request = Request.model_validate({**REQUEST, "model_usage": model_usage})
    assert request.model_usage.cached_input_tokens == 800
    assert request.model_usage.reasoning_tokens == 12
    assert request.model_usage.cache_write_tokens is None
    assert request.model_usage.estimated is False


def test_money_must_be_a_number() -> None:
    with pytest.raises(ValidationError):
        Connection.model_validate(dict(CONNECTION, wallet={"balance": "lots"}))


def test_usage() -> None:
    usage = Usage.model_validate(USAGE)
    item = usage.items[0]
    assert item.date == dt.date(2023, 5, 15)
    assert item.start == dt.datetime(2023, 5, 15, tzinfo=dt.UTC)
    assert item.total_requests == 100
    assert item.total_usage_cost == Decimal("2.5741000000")
    assert usage.totals.total_request_cost == Decimal("2.8315100000")
    assert usage.totals.total_merchant_cost == Decimal(0)


def test_usage_items_before_5_3_have_no_start_end() -> None:
    usage = Usage.model_validate({"items": [{"date": "2023-05-15"}], "totals": {}})
    assert usage.items[0].start is None
    assert usage.items[0].total_request_cost == Decimal(0)


def test_delete_result() -> None:
    assert DeleteResult.model_validate({"success": True}).success is True

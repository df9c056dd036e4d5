"""Shared pieces of the ``/v1/rewrite`` end-to-end tests: the account fixture, URLs, upstream and record checks."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import anthropic
import openai
import pytest

from tests.e2e import conftest_gateway
from tests.e2e.conftest_gateway import Account, GatewayStack
from tests.fakes import expected_usage

fake_gateway = conftest_gateway.fake_gateway

WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
OPENAI_TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": WEATHER}}
ANTHROPIC = "https://api.anthropic.com/v1/messages"
OPENAI = "https://api.openai.com/v1/chat/completions"
GEMINI_HOST = "https://generativelanguage.googleapis.com"


@pytest.fixture
def acct(fake_gateway: GatewayStack) -> Account:
    return fake_gateway.account()


def rewrite_base(acct: Account, fmt: str, provider_url: str) -> str:
    return f"{acct.server.url}/v1/rewrite/{fmt}/{provider_url}"


def upstream(stack: GatewayStack) -> dict[str, Any]:
    last = stack.fake_stats()["last_request"]
    assert last is not None
    return last


def check_record(
    acct: Account, rid: str, *, api: str, up: dict[str, Any], provider: str, client: str, endpoint: str
) -> dict[str, Any]:
    rec = acct.request(rid)
    assert rec["status"] == "completed", rec
    assert rec["provider"] == provider and rec["client_format"] == client
    assert rec["endpoint"] == endpoint
    assert rec["provider_usage"] == expected_usage(api, up["body"]), "billed from the upstream's own usage"
    assert rec["model_usage"]["estimated"] is False
    assert rec["provider_key_type"] == "managed"
    assert Decimal(rec["model_usage"]["total_cost"]) > 0, "priced from the upstream model's usage"
    return rec


def openai_to_anthropic(acct: Account) -> openai.OpenAI:
    # the SDK appends /chat/completions to the provider URL; the gateway strips it
    return openai.OpenAI(base_url=rewrite_base(acct, "openai", ANTHROPIC), api_key=acct.token(), max_retries=0)


def anthropic_to_openai(acct: Account) -> anthropic.Anthropic:
    # the SDK appends /v1/messages to the provider root
    return anthropic.Anthropic(
        base_url=rewrite_base(acct, "anthropic", "https://api.openai.com"), api_key=acct.token(), max_retries=0
    )

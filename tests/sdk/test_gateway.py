"""``lava.gateway()``: the request exactly as Node 11.2.0's ``gateway()`` sends it, the x-lava-*
headers, errors, and ``rewrite_url()``. Streaming is in test_gateway_stream.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

import lava
from lava import Lava

from . import _node1120
from .conftest import BASE, KEY, Recorder, error

MakeClient = Callable[..., Lava]
OPENAI = "https://api.openai.com/v1/chat/completions"
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Grüße 😀"}], "max_tokens": 5}

# (url, Node's options); our kwargs are the same names.
CASES: list[tuple[str, dict[str, Any]]] = [
    (OPENAI, {"body": CHAT}),
    (OPENAI, {"body": CHAT, "meter_slug": "chat"}),
    (OPENAI, {"body": CHAT, "customer_id": "con_01K7", "meter_slug": "chat"}),
    (OPENAI, {"body": CHAT, "customer_id": "user_1", "meter_slug": "chat", "disable_billing": True}),
    (OPENAI, {"body": CHAT, "customer_id": "user_1", "meter_slug": "chat", "disable_billing": False}),
    (OPENAI, {"body": CHAT, "provider_key": "sk-byok", "meter_slug": "chat"}),
    ("https://api.anthropic.com/v1/messages", {"body": CHAT, "format": "openai", "meter_slug": "chat"}),
    (
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
        {"body": {"contents": []}, "format": "google"},
    ),
    ("https://api.x.ai/v1/chat/completions?a=b c&d=(e)!*'~", {"body": [1, "two"]}),
    (
        OPENAI,
        {
            "body": json.dumps(CHAT),  # a string passes through, and no Content-Type is inferred
            "headers": {"authorization": "Bearer theirs", "X-Custom": "1", "OpenAI-Beta": "assistants=v2"},
        },
    ),
    (OPENAI, {"body": CHAT, "headers": {"content-type": "application/json; charset=utf-8"}}),
    ("https://api.openai.com/v1/models", {"method": "GET"}),
]


def _ours(make_client: MakeClient, url: str, options: dict[str, Any]) -> httpx.Request:
    recorder = Recorder(httpx.Response(200, json={}))
    make_client(recorder).gateway(url, **options)
    return recorder.last


@pytest.mark.node
def test_requests_match_node_1120_byte_for_byte(make_client: MakeClient) -> None:
    records = _node1120.run([{"kind": "gateway", "args": [url, opts]} for url, opts in CASES], key=KEY, base=BASE)
    for (url, options), record in zip(CASES, records, strict=True):
        assert record["error"] is None, record
        (node,) = record["requests"]
        ours = _ours(make_client, url, options)
        assert str(ours.url) == node["url"], url
        assert ours.method == node["method"]
        assert ours.content == (node["body"] or "").encode(), url
        node_headers = {k.lower(): v for k, v in node["headers"].items()}
        for name, value in node_headers.items():
            assert ours.headers[name] == value, (url, name)
        assert ("content-type" in ours.headers) == ("content-type" in node_headers), url
        assert ours.headers.get_list("authorization") == [node_headers["authorization"]]


@pytest.mark.node
def test_customer_without_meter_fails_before_any_call_like_node(make_client: MakeClient) -> None:
    (record,) = _node1120.run([{"kind": "gateway", "args": [OPENAI, {"customer_id": "con_1"}]}], key=KEY, base=BASE)
    assert record["requests"] == [] and "customer_id requires meter_slug" in record["error"]
    recorder = Recorder()
    with pytest.raises(ValueError, match="customer_id requires meter_slug"):
        make_client(recorder).gateway(OPENAI, body=CHAT, customer_id="con_1")
    assert recorder.requests == []


def test_response_carries_status_body_and_lava_headers(make_client: MakeClient) -> None:
    answer = {"id": "chatcmpl-1", "choices": [{"message": {"content": "hi"}}], "usage": {"total_tokens": 9}}
    headers = {
        "x-lava-request-id": "req_01K7",
        "x-lava-request-cost": "0.0000135000",
        "x-lava-balance": "9.9999865000",
        "x-lava-hold": "0.0100000000",
        "openai-processing-ms": "12",
    }
    recorder = Recorder(httpx.Response(200, json=answer, headers=headers))
    response = make_client(recorder).gateway(OPENAI, body=CHAT, customer_id="con_1", meter_slug="chat")
    assert response.status_code == 200 and response.json() == answer
    assert response.lava.request_id == "req_01K7"
    assert response.lava.request_cost == Decimal("0.0000135000")
    assert isinstance(response.lava.balance, Decimal) and response.lava.balance == Decimal("9.9999865")
    assert response.lava.all == {k: v for k, v in headers.items() if k.startswith("x-lava-")}
    assert response.headers["openai-processing-ms"] == "12"


def test_missing_or_garbled_lava_headers_are_none(make_client: MakeClient) -> None:
    recorder = Recorder(httpx.Response(200, json={}, headers={"x-lava-request-cost": "n/a"}))
    response = make_client(recorder).gateway(OPENAI, body=CHAT)
    assert response.lava.request_id is None and response.lava.request_cost is None and response.lava.balance is None


@pytest.mark.parametrize(
    ("status", "code", "exc"),
    [
        (402, "insufficient_credits", lava.InsufficientBalanceError),
        (401, "invalid_forward_token", lava.AuthenticationError),
        (403, "meter_not_on_plan", lava.PermissionDeniedError),
        (429, "spend_limit_reached", lava.RateLimitError),
        (502, "upstream_unreachable", lava.InternalServerError),
    ],
)
def test_errors_raise_and_are_never_retried(
    make_client: MakeClient, status: int, code: str, exc: type[lava.APIStatusError]
) -> None:
    recorder = Recorder(error(status, code), default=httpx.Response(200, json={}))
    with pytest.raises(exc) as raised:
        make_client(recorder).gateway(OPENAI, body=CHAT, meter_slug="chat")
    assert raised.value.code == code and raised.value.status == status
    assert len(recorder.requests) == 1  # a gateway call may already be billed: no retry


def test_connection_errors_are_not_retried(make_client: MakeClient) -> None:
    recorder = Recorder(httpx.ConnectError("refused"), default=httpx.Response(200, json={}))
    with pytest.raises(lava.APIConnectionError):
        make_client(recorder).gateway(OPENAI, body=CHAT)
    assert len(recorder.requests) == 1


async def test_async_gateway_sends_the_same_request(
    make_client: MakeClient, make_async_client: Callable[..., lava.AsyncLava]
) -> None:
    options: dict[str, Any] = {"body": CHAT, "customer_id": "con_1", "meter_slug": "chat", "provider_key": "sk"}
    sync_request = _ours(make_client, OPENAI, options)
    recorder = Recorder(httpx.Response(200, json={"ok": True}, headers={"x-lava-request-id": "req_1"}))
    response = await make_async_client(recorder).gateway(OPENAI, **options)
    assert response.json() == {"ok": True} and response.lava.request_id == "req_1"
    assert str(recorder.last.url) == str(sync_request.url)
    assert recorder.last.content == sync_request.content
    assert recorder.last.headers["authorization"] == sync_request.headers["authorization"]


def test_unknown_format_is_refused(make_client: MakeClient) -> None:
    with pytest.raises(ValueError, match="format"):
        make_client(Recorder()).gateway(OPENAI, body=CHAT, format="cohere")  # type: ignore[call-overload]


# --- rewrite_url -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "provider_url", "expected"),
    [
        ("openai", "https://api.anthropic.com/v1/messages", f"{BASE}rewrite/openai/api.anthropic.com/v1/messages"),
        (
            "anthropic",
            "api.openai.com/v1/chat/completions",
            f"{BASE}rewrite/anthropic/api.openai.com/v1/chat/completions",
        ),
        ("google", "https://api.openai.com/v1/", f"{BASE}rewrite/google/api.openai.com/v1"),
        ("bedrock", "https://api.anthropic.com", f"{BASE}rewrite/bedrock/api.anthropic.com"),
    ],
)
def test_rewrite_url(fmt: Any, provider_url: str, expected: str) -> None:
    client = Lava(KEY, base_url=BASE)
    assert client.rewrite_url(fmt, provider_url) == expected == lava.rewrite_url(BASE, fmt, provider_url)


@pytest.mark.parametrize(
    ("fmt", "provider_url"),
    [
        ("openai", "http://api.anthropic.com/v1/messages"),
        ("openai", "https://api.anthropic.com/v1/messages?beta=1"),
        ("openai", "https:///v1/messages"),
        ("cohere", "https://api.anthropic.com/v1/messages"),
    ],
)
def test_rewrite_url_refuses(fmt: Any, provider_url: str) -> None:
    with pytest.raises(ValueError):
        Lava(KEY, base_url=BASE).rewrite_url(fmt, provider_url)


def test_openai_sdk_path_joining_on_a_rewrite_base_url() -> None:
    # what openai-python does with base_url: ensure a trailing slash, then join "chat/completions"
    base = Lava(KEY, base_url=BASE).rewrite_url("openai", "https://api.anthropic.com/v1/messages")
    joined = httpx.URL(base + "/").join("chat/completions")
    assert str(joined) == f"{BASE}rewrite/openai/api.anthropic.com/v1/messages/chat/completions"


# --- quote (a server extension): the payer in either generation's form ------------------------

QUOTE = {"hold": "0.0100000000", "provider": "openai", "sufficient": True}


def test_quote_current_and_legacy_forms(make_client: MakeClient) -> None:
    recorder = Recorder(httpx.Response(200, json=QUOTE), httpx.Response(200, json=QUOTE))
    client = make_client(recorder)
    quote = client.quote(url=OPENAI, body=CHAT, customer_id="con_1", meter_slug="chat")
    assert quote.hold == Decimal("0.01") and quote.sufficient is True
    assert json.loads(recorder.requests[0].content) == {
        "url": OPENAI,
        "body": CHAT,
        "method": "POST",
        "customer_id": "con_1",
        "meter_slug": "chat",
    }
    assert recorder.requests[0].headers["authorization"] == f"Bearer {KEY}"
    client.quote(url=OPENAI, body=CHAT, connection_secret="cons_x", product_secret="ps_y")
    assert json.loads(recorder.requests[1].content) == {
        "url": OPENAI,
        "body": CHAT,
        "method": "POST",
        "connection_secret": "cons_x",
        "product_secret": "ps_y",
    }
    with pytest.raises(ValueError, match="mixed"):
        client.quote(url=OPENAI, connection_secret="cons_x", customer_id="con_1", meter_slug="chat")

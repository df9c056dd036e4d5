"""Hostile and broken inputs to the forward gateway: none may give a 500, a hang, or a lost record.

Bad tokens, oversized bodies, targets off the allowlist (SSRF attempts), redirecting, resetting,
unreachable and slow upstreams, client disconnects, deleted connections, cross-merchant and
cross-mode tokens, credential hygiene upstream, and request metadata. After each scenario every
request record of the merchant must be ``completed`` or ``error``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import httpx
import pytest

from lava_server.settings import Limits
from tests.e2e import conftest_gateway
from tests.e2e.conftest_gateway import (
    MANAGED_KEYS,
    UNREACHABLE_HOST,
    Account,
    GatewayStack,
    make_token,
    start_fake_stack,
)
from tests.fakes import expected_usage

# the session fixtures shared by the gateway e2e modules, bound here so pytest finds them
fake_gateway = conftest_gateway.fake_gateway

OPENAI_CHAT = "https://api.openai.com/v1/chat/completions"
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}
ZERO = "0.0000000000"


@pytest.fixture
def acct(fake_gateway: GatewayStack) -> Iterator[Account]:
    account = fake_gateway.account()
    yield account
    account.assert_no_pending()


def post(acct: Account, target: str, *, token: str | None = None, body: Any = CHAT, **kw: Any) -> httpx.Response:
    token = acct.token() if token is None else token
    headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
    return httpx.post(acct.forward_url(target), headers=headers, json=body, timeout=30.0, **kw)


def assert_error(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error"]["code"] == code, body
    assert body["error"]["status"] == status and body["error"]["message"]
    return body


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# -- tokens ----------------------------------------------------------------------------------

BAD_TOKENS = {
    "not_base64": ("eyJ!!!not*base64***", "invalid_forward_token"),
    "base64_non_json": (b64(b'{"secret_key": "aks_test_x", oops'), "invalid_forward_token"),
    "json_string": (b64(b'"eyJzZWNyZXQ"'), "invalid_forward_token"),  # a Bearer value, but not a token
    "json_array": (b64(b'[{"secret_key":"aks_test_x"}]'), "invalid_forward_token"),
    "raw_provider_key": ("sk-proj-abc123", "invalid_forward_token"),
    "json_object_array_value": (b64(b'{"secret_key":["aks_test_x"]}'), "invalid_forward_token"),
    "missing_secret_key": (
        b64(b'{"connection_secret":"cons_test_x","product_secret":"ps_test_y"}'),
        "invalid_forward_token",
    ),
    "secret_key_number": (b64(b'{"secret_key":123,"connection_secret":"cons_test_x"}'), "invalid_forward_token"),
    "empty_secret_key": (b64(b'{"secret_key":"","connection_secret":"cons_test_x"}'), "invalid_forward_token"),
    "connection_secret_object": (b64(b'{"secret_key":"aks_test_x","connection_secret":{}}'), "invalid_forward_token"),
    "product_without_connection": (
        b64(b'{"secret_key":"aks_test_x","connection_secret":null,"product_secret":"ps_test_y"}'),
        "invalid_forward_token",
    ),
    "metering_only_without_provider_key": (
        b64(b'{"secret_key":"aks_test_x","connection_secret":null,"product_secret":null}'),
        "invalid_forward_token",
    ),
    "ten_kb": (b64(json.dumps({"secret_key": "aks_test_" + "x" * 7600}).encode()), "invalid_forward_token"),
    "unknown_secret_key": (make_token("aks_test_nope", "cons_test_nope", "ps_test_nope"), "authentication_failed"),
    "not_bearer": ("", "missing_forward_token"),
}


@pytest.mark.parametrize("case", BAD_TOKENS)
def test_bad_tokens_are_401_with_a_stable_code(case: str, acct: Account, fake_gateway: GatewayStack) -> None:
    token, code = BAD_TOKENS[case]
    if case == "ten_kb":
        assert len(token) > 10_000
    before = fake_gateway.upstream_hits()
    if case == "not_bearer":  # a valid token under another scheme is not a bearer token
        resp = httpx.post(acct.forward_url(OPENAI_CHAT), json=CHAT, headers={"Authorization": f"Basic {acct.token()}"})
    else:
        resp = post(acct, OPENAI_CHAT, token=token)
    assert_error(resp, 401, code)
    assert "x-lava-request-id" not in resp.headers
    assert fake_gateway.upstream_hits() == before


def test_no_token_at_all(acct: Account) -> None:
    resp = httpx.post(acct.forward_url(OPENAI_CHAT), json=CHAT, timeout=30.0)
    assert_error(resp, 401, "missing_forward_token")


def test_cross_merchant_product_is_401(acct: Account, fake_gateway: GatewayStack) -> None:
    other = fake_gateway.account()
    token = make_token(acct.secret_key, acct.connection_secret, other.product_secret)
    assert_error(post(acct, OPENAI_CHAT, token=token), 401, "invalid_product_secret")
    token = make_token(acct.secret_key, other.connection_secret, acct.product_secret)
    assert_error(post(acct, OPENAI_CHAT, token=token), 401, "invalid_connection_secret")
    assert acct.requests() == [] and other.requests() == []


def test_test_key_against_live_objects_is_401(acct: Account, fake_gateway: GatewayStack) -> None:
    live = fake_gateway.account(live=True)
    assert live.connection_secret.startswith("cons_live_")
    token = make_token(acct.secret_key, live.connection_secret, live.product_secret)
    assert_error(post(acct, OPENAI_CHAT, token=token), 401, "invalid_connection_secret")
    token = make_token(acct.secret_key, acct.connection_secret, live.product_secret)
    assert_error(post(acct, OPENAI_CHAT, token=token), 401, "invalid_product_secret")
    # and the other way round: a live key never reaches test objects
    token = make_token(live.secret_key, acct.connection_secret, acct.product_secret)
    assert_error(post(acct, OPENAI_CHAT, token=token), 401, "invalid_connection_secret")


def test_deleted_connection_is_403_immediately(acct: Account) -> None:
    ok = post(acct, OPENAI_CHAT)  # warms the token cache
    assert ok.status_code == 200
    deleted = httpx.delete(f"{acct.server.api_base}connections/{acct.connection_id}", headers=acct.admin_headers)
    assert deleted.status_code == 200, deleted.text
    assert_error(post(acct, OPENAI_CHAT), 403, "connection_inactive")
    assert [r["status"] for r in acct.requests()] == ["completed"]


# -- bodies ----------------------------------------------------------------------------------


def test_body_over_the_limit_is_413(acct: Account, fake_gateway: GatewayStack) -> None:
    limit = Limits().max_body_bytes
    before = fake_gateway.upstream_hits()
    big = json.dumps({**CHAT, "pad": "x" * (limit + 10)}).encode()
    resp = httpx.post(
        acct.forward_url(OPENAI_CHAT),
        content=big,
        headers={"Authorization": f"Bearer {acct.token()}", "Content-Type": "application/json"},
        timeout=60.0,
    )
    assert_error(resp, 413, "payload_too_large")
    assert fake_gateway.upstream_hits() == before


def test_non_json_body_to_a_json_endpoint_is_not_a_500(acct: Account) -> None:
    resp = httpx.post(
        acct.forward_url(OPENAI_CHAT),
        content=b"\x00\xff{{{ not json",
        headers={"Authorization": f"Bearer {acct.token()}", "Content-Type": "application/json"},
        timeout=30.0,
    )
    assert resp.status_code < 500 or resp.status_code in (502, 504), resp.text
    assert "x-lava-request-id" in resp.headers


# -- targets ---------------------------------------------------------------------------------

BLOCKED_TARGETS = {
    "suffix_host": ("https://api.openai.com.evil.example/v1/chat/completions", 403, "upstream_not_allowed"),
    "loopback": ("https://127.0.0.1/v1/chat/completions", 403, "upstream_not_allowed"),
    "metadata_service": ("https://169.254.169.254/latest/meta-data", 403, "upstream_not_allowed"),
    "ipv6_loopback": ("https://[::1]/", 403, "upstream_not_allowed"),
    "plain_http": ("http://api.openai.com/v1/chat/completions", 400, "invalid_forward_target"),
    "other_port": ("https://api.openai.com:8443/v1/chat/completions", 400, "invalid_forward_target"),
    "userinfo": ("https://user:pw@api.openai.com/v1/chat/completions", 400, "invalid_forward_target"),
    "userinfo_encoded": (
        "https%3A%2F%2Fuser%3Apw%40api.openai.com%2Fv1%2Fchat%2Fcompletions",
        400,
        "invalid_forward_target",
    ),
    "ipv4_mapped": ("https://[::ffff:127.0.0.1]/v1/chat/completions", 403, "upstream_not_allowed"),
    "decimal_ip": ("https://2130706433/v1/chat/completions", 403, "upstream_not_allowed"),
    "localhost": ("https://localhost/v1/chat/completions", 403, "upstream_not_allowed"),
    "no_host": ("https:///v1/chat/completions", 400, "invalid_forward_target"),
    "not_a_url": ("javascript:alert(1)", 400, "invalid_forward_target"),
}


@pytest.mark.parametrize("case", BLOCKED_TARGETS)
def test_targets_off_the_allowlist_never_reach_upstream(case: str, acct: Account, fake_gateway: GatewayStack) -> None:
    target, status, code = BLOCKED_TARGETS[case]
    before = fake_gateway.upstream_hits()
    assert_error(post(acct, target), status, code)
    assert fake_gateway.upstream_hits() == before
    assert acct.requests() == []


def test_missing_u_is_400(acct: Account) -> None:
    resp = httpx.post(f"{acct.server.url}/v1/forward", json=CHAT, headers={"Authorization": f"Bearer {acct.token()}"})
    assert_error(resp, 400, "invalid_forward_target")


def test_redirect_is_not_followed(acct: Account, fake_gateway: GatewayStack) -> None:
    before = fake_gateway.fake_stats()["by_path"].get("/_fake/redirect-target", 0)
    resp = post(acct, OPENAI_CHAT, body={**CHAT, "model": "redirect-302"})
    assert resp.status_code == 302
    assert resp.headers["location"].endswith("/_fake/redirect-target")
    assert resp.headers["x-lava-request-id"]
    time.sleep(0.2)
    assert fake_gateway.fake_stats()["by_path"].get("/_fake/redirect-target", 0) == before
    rec = acct.request(resp.headers["x-lava-request-id"])
    assert rec["status"] == "error" and rec["total_request_cost"] == ZERO


def test_redirect_on_get_is_not_followed(acct: Account, fake_gateway: GatewayStack) -> None:
    before = fake_gateway.fake_stats()["by_path"].get("/_fake/redirect-target", 0)
    # An unmetered read needs the caller's own key (BYOK): the operator's key only lists models.
    resp = httpx.get(
        acct.forward_url("https://api.openai.com/_fake/redirect"),
        headers={"Authorization": f"Bearer {acct.token(provider_key='sk-own-key')}"},
    )
    assert resp.status_code == 302
    assert fake_gateway.fake_stats()["by_path"].get("/_fake/redirect-target", 0) == before


def test_managed_key_does_not_reach_unmetered_reads(acct: Account, fake_gateway: GatewayStack) -> None:
    """The operator's key is shared by every merchant: it must not fetch the provider account's
    stored files, responses or caches. Only model listings pass without the caller's own key."""
    before = fake_gateway.upstream_hits()
    for target in (
        "https://api.openai.com/v1/files",
        "https://api.openai.com/v1/chat/completions",
        "https://generativelanguage.googleapis.com/v1beta/cachedContents",
    ):
        resp = httpx.get(acct.forward_url(target), headers={"Authorization": f"Bearer {acct.token()}"})
        assert_error(resp, 400, "unmetered_endpoint")
    assert fake_gateway.upstream_hits() == before
    listing = httpx.get(
        acct.forward_url("https://api.openai.com/v1/models"), headers={"Authorization": f"Bearer {acct.token()}"}
    )
    assert listing.status_code == 200


def test_dot_segments_and_odd_hosts_are_refused(acct: Account, fake_gateway: GatewayStack) -> None:
    before = fake_gateway.upstream_hits()
    for target in (
        "https://api.openai.com/../../internal/admin",
        "https://api.openai.com/v1/%2e%2e/%2e%2e/internal",
        "https%3A%2F%2Fapi.openai.com%20%2Fv1%2Fchat%2Fcompletions",
    ):
        resp = httpx.post(acct.forward_url(target), json=CHAT, headers={"Authorization": f"Bearer {acct.token()}"})
        assert_error(resp, 400, "invalid_forward_target")
    assert fake_gateway.upstream_hits() == before


def test_provider_key_with_control_characters_is_refused(acct: Account) -> None:
    resp = post(acct, OPENAI_CHAT, token=acct.token(provider_key="sk-bad\r\nX-Injected: 1"))
    assert_error(resp, 401, "invalid_forward_token")


# -- broken upstreams -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "body"),
    [
        (OPENAI_CHAT, {**CHAT, "model": "reset-midstream", "stream": True}),  # SSE
        (  # Gemini's JSON-array stream (no alt=sse)
            "https://generativelanguage.googleapis.com/v1beta/models/reset-midstream:streamGenerateContent",
            {"contents": [{"parts": [{"text": "fake-words=30"}]}]},
        ),
    ],
    ids=["sse", "json_array"],
)
def test_midstream_reset_truncates_the_client_stream_and_records_error(
    target: str, body: dict[str, Any], acct: Account
) -> None:
    started = time.monotonic()
    received = b""
    with pytest.raises(httpx.TransportError):  # cut, not a clean end: the client must know it is partial
        with httpx.stream(
            "POST",
            acct.forward_url(target),
            json=body,
            headers={"Authorization": f"Bearer {acct.token()}", "x-fake-reset-after": "3"},
            timeout=15.0,
        ) as resp:
            assert resp.status_code == 200
            rid = resp.headers["x-lava-request-id"]
            for chunk in resp.iter_raw():
                received += chunk
    assert received  # some of it was relayed before the reset
    assert time.monotonic() - started < 10
    assert b"data: [DONE]" not in received
    rec = acct.request(rid)
    assert rec["status"] == "error" and rec["total_request_cost"] == ZERO


def test_reset_of_a_non_streamed_body_is_502(acct: Account) -> None:
    resp = post(acct, OPENAI_CHAT, body={**CHAT, "model": "reset-midstream"})
    assert_error(resp, 502, "upstream_unreachable")
    assert acct.request(resp.headers["x-lava-request-id"])["status"] == "error"


def test_unreachable_upstream_is_502(acct: Account, fake_gateway: GatewayStack) -> None:
    token = acct.token(provider_key="gsk-byok")
    resp = post(
        acct,
        f"https://{UNREACHABLE_HOST}/openai/v1/chat/completions",
        token=token,
        body={**CHAT, "model": "llama-3.3-70b"},
    )
    assert_error(resp, 502, "upstream_unreachable")
    rec = acct.request(resp.headers["x-lava-request-id"])
    assert rec["status"] == "error" and rec["provider"] == "groq" and rec["error"]


def test_upstream_error_event_in_200_stream_is_an_error_record(acct: Account) -> None:
    resp = post(acct, OPENAI_CHAT, body={**CHAT, "model": "error-event-stream", "stream": True})
    assert resp.status_code == 200
    assert b"event: error" in resp.content
    assert acct.request(resp.headers["x-lava-request-id"])["status"] == "error"


def test_stream_without_usage_is_estimated(acct: Account) -> None:
    resp = post(acct, OPENAI_CHAT, body={**CHAT, "model": "no-usage-stream", "stream": True})
    assert resp.status_code == 200 and b"[DONE]" in resp.content
    rec = acct.request(resp.headers["x-lava-request-id"])
    assert rec["status"] == "completed"
    assert rec["model_usage"]["estimated"] is True and rec["model_usage"]["input_tokens"] > 0
    assert "provider_usage" not in rec


@pytest.fixture(scope="module")
def slow_limits_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayStack]:
    limits = Limits(upstream_read_timeout_s=0.5, upstream_idle_timeout_s=0.5, max_body_bytes=64 * 1024)
    stack, stop = start_fake_stack(tmp_path_factory.mktemp("gw-slow"), limits=limits)
    yield stack
    stop()


def test_upstream_timeout_is_504(slow_limits_gateway: GatewayStack) -> None:
    acct = slow_limits_gateway.account()
    started = time.monotonic()
    resp = post(acct, OPENAI_CHAT, headers={"x-fake-latency-ms": "3000"})
    assert time.monotonic() - started < 2.5
    assert_error(resp, 504, "upstream_timeout")
    rec = acct.request(resp.headers["x-lava-request-id"])
    assert rec["status"] == "error" and rec["total_request_cost"] == ZERO
    acct.assert_no_pending()


def test_idle_stream_times_out_and_records_error(slow_limits_gateway: GatewayStack) -> None:
    acct = slow_limits_gateway.account()
    started = time.monotonic()
    try:
        with httpx.stream(
            "POST",
            acct.forward_url(OPENAI_CHAT),
            json={**CHAT, "model": "slow-stream", "stream": True},
            headers={"Authorization": f"Bearer {acct.token()}", "x-fake-chunk-delay-ms": "2000"},
            timeout=15.0,
        ) as resp:
            rid = resp.headers["x-lava-request-id"]
            for _ in resp.iter_raw():
                pass
    except httpx.TransportError:
        pass
    assert time.monotonic() - started < 5
    rec = acct.request(rid)
    assert rec["status"] == "error" and "nothing" in rec["error"]
    acct.assert_no_pending()


def test_configured_body_limit_is_413(slow_limits_gateway: GatewayStack) -> None:
    acct = slow_limits_gateway.account()
    resp = post(acct, OPENAI_CHAT, body={**CHAT, "pad": "x" * 70_000})
    assert_error(resp, 413, "payload_too_large")
    assert acct.requests() == []


# -- client disconnect -----------------------------------------------------------------------


async def test_client_disconnect_drains_and_records_real_usage(acct: Account, fake_gateway: GatewayStack) -> None:
    body = {
        **CHAT,
        "model": "slow-stream",
        "stream": True,
        "messages": [{"role": "user", "content": "go fake-words=30"}],
    }
    headers = {"Authorization": f"Bearer {acct.token()}", "x-fake-chunk-delay-ms": "40"}
    async with aiohttp.ClientSession() as session:
        resp = await session.post(acct.forward_url(OPENAI_CHAT), json=body, headers=headers)
        assert resp.status == 200
        rid = resp.headers["x-lava-request-id"]
        got = b""
        while got.count(b"data:") < 3:
            got += await resp.content.readany()
        resp.close()  # drop the connection mid-stream
    deadline = time.monotonic() + 8
    rec = acct.request(rid)
    while rec["status"] == "pending" and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        rec = await asyncio.to_thread(acct.request, rid)
    assert rec["status"] == "completed", rec
    upstream_body = next(
        r["body"]
        for r in reversed(fake_gateway.fake_requests())
        if r["body"] and r["body"].get("model") == "slow-stream"
    )
    assert rec["provider_usage"] == expected_usage("openai.chat_completions", upstream_body)
    assert rec["provider_usage"]["output_tokens"] == 30
    assert rec["model_usage"]["estimated"] is False


# -- credentials and metadata ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "carrier", "upstream_header", "upstream_value", "body"),
    [
        (OPENAI_CHAT, "x-api-key", "authorization", f"Bearer {MANAGED_KEYS['openai']}", CHAT),
        (
            "https://api.anthropic.com/v1/messages",
            "authorization",
            "x-api-key",
            MANAGED_KEYS["anthropic"],
            {"model": "claude-sonnet-5", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]},
        ),
        (
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent",
            "x-goog-api-key",
            "x-goog-api-key",
            MANAGED_KEYS["google"],
            {"contents": [{"parts": [{"text": "hi"}]}]},
        ),
        (OPENAI_CHAT, "xi-api-key", "authorization", f"Bearer {MANAGED_KEYS['openai']}", CHAT),
    ],
)
def test_carrier_is_stripped_and_managed_key_sent_in_provider_scheme(
    target: str,
    carrier: str,
    upstream_header: str,
    upstream_value: str,
    body: dict[str, Any],
    acct: Account,
    fake_gateway: GatewayStack,
) -> None:
    token = acct.token()
    value = f"Bearer {token}" if carrier == "authorization" else token
    headers = {carrier: value, "anthropic-version": "2023-06-01", "Content-Type": "application/json"}
    resp = httpx.post(acct.forward_url(target), headers=headers, content=json.dumps(body), timeout=30.0)
    assert resp.status_code == 200, resp.text
    up = fake_gateway.fake_stats()["last_request"]
    assert up["headers"][upstream_header] == upstream_value
    flat = json.dumps(up)
    assert token not in flat and acct.secret_key not in flat, "a Lava credential reached the provider"
    assert acct.request(resp.headers["x-lava-request-id"])["provider_key_type"] == "managed"


def test_byok_key_goes_upstream(acct: Account, fake_gateway: GatewayStack) -> None:
    resp = post(acct, OPENAI_CHAT, token=acct.token(provider_key="sk-merchant-own"))
    assert resp.status_code == 200
    assert fake_gateway.fake_stats()["last_request"]["headers"]["authorization"] == "Bearer sk-merchant-own"
    assert acct.request(resp.headers["x-lava-request-id"])["provider_key_type"] == "unmanaged"


def test_metadata_is_recorded_and_filterable(acct: Account, fake_gateway: GatewayStack) -> None:
    tagged = post(
        acct,
        OPENAI_CHAT,
        headers={"x-lava-metadata": json.dumps({"team": "search", "env": "prod"}), "X-Lava-Metadata-Foo": "bar"},
    )
    other = post(acct, OPENAI_CHAT, headers={"X-Lava-Metadata-Foo": "baz"})
    assert tagged.status_code == other.status_code == 200
    upstream_headers = fake_gateway.fake_stats()["last_request"]["headers"]
    assert not any(h.startswith("x-lava") for h in upstream_headers)
    rec = acct.request(tagged.headers["x-lava-request-id"])
    assert rec["metadata"] == {"team": "search", "env": "prod", "Foo": "bar"}
    found = acct.requests(metadata_filters=json.dumps([["Foo", "bar"]]))
    assert [r["request_id"] for r in found] == [tagged.headers["x-lava-request-id"]]
    both = acct.requests(metadata_filters=json.dumps([["Foo", "bar"], ["team", "search"]]))
    assert len(both) == 1
    assert acct.requests(metadata_filters=json.dumps([["Foo", "nope"]])) == []
    by_conn = acct.requests(connection_id=acct.connection_id, product_id=acct.product_id)
    assert len(by_conn) == 2


@pytest.mark.parametrize(
    "headers",
    [
        {"x-lava-metadata": "{not json"},
        {"x-lava-metadata": "[1, 2]"},
        {"x-lava-metadata": json.dumps({"k": 5})},
        {"x-lava-metadata": json.dumps({"bad key!": "v"})},
        {"x-lava-metadata": json.dumps({"k": "v" * 256})},
        {"x-lava-metadata": json.dumps({f"k{i}": "v" for i in range(101)})},
        {"X-Lava-Metadata-Bad-Key": "v"},
        {"X-Lava-Metadata-Empty": ""},
    ],
    ids=["not_json", "array", "non_string", "bad_key", "long_value", "too_many", "dash_key", "empty_value"],
)
def test_invalid_metadata_is_400(headers: dict[str, str], acct: Account, fake_gateway: GatewayStack) -> None:
    before = fake_gateway.upstream_hits()
    assert_error(post(acct, OPENAI_CHAT, headers=headers), 400, "invalid_metadata")
    assert fake_gateway.upstream_hits() == before

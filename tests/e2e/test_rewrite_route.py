"""``/v1/rewrite`` as a route: refusals and errors in the client's shape, forward's auth, holds from the
translated request, the ledger, Bedrock Converse clients, Idempotency-Key and spend keys.

The official-SDK round trips (openai, anthropic, google-genai across providers) are in
``test_rewrite_sdks.py``; the shared fixture and checks are in ``rewrite_support.py``.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import openai
import pytest

from lava_server.money import to_wire
from lava_server.store.requests import get_request
from tests.e2e import rewrite_support
from tests.e2e.conftest_gateway import Account, GatewayStack
from tests.e2e.ledger_asserts import assert_ledger_consistent
from tests.e2e.rewrite_support import (
    ANTHROPIC,
    OPENAI,
    anthropic_to_openai,
    check_record,
    openai_to_anthropic,
    rewrite_base,
    upstream,
)
from tests.fakes import expected_usage

fake_gateway = rewrite_support.fake_gateway
acct = rewrite_support.acct

# -- refusals and errors -----------------------------------------------------------------------


def test_untranslatable_request_is_refused_before_anything(acct: Account, fake_gateway: GatewayStack) -> None:
    before = fake_gateway.upstream_hits()
    records = len(acct.requests())
    client = openai_to_anthropic(acct)
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="claude-x", messages=[{"role": "user", "content": "x"}], n=3)
    body = info.value.response.json()
    assert body["error"]["code"] == "untranslatable_request"
    assert "unsupported_by_target: n" in body["error"]["message"]
    assert fake_gateway.upstream_hits() == before
    assert len(acct.requests()) == records


def test_upstream_errors_come_back_in_the_client_shape(acct: Account, fake_gateway: GatewayStack) -> None:
    with pytest.raises(openai.RateLimitError) as info:
        openai_to_anthropic(acct).chat.completions.create(
            model="error-429", messages=[{"role": "user", "content": "x"}]
        )
    assert info.value.response.json()["error"]["type"] == "rate_limit_error"
    rec = acct.latest_request()
    assert rec["status"] == "error" and rec["client_format"] == "openai"
    with pytest.raises(anthropic.NotFoundError) as err:
        anthropic_to_openai(acct).messages.create(
            model="error-404", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
    assert err.value.response.json()["type"] == "error"
    assert err.value.response.json()["error"]["type"] == "not_found_error"


def test_auth_is_forwards(acct: Account, fake_gateway: GatewayStack) -> None:
    r = httpx.post(
        rewrite_base(acct, "openai", ANTHROPIC),
        json={"model": "m", "messages": []},
        headers={"Authorization": "Bearer nope"},
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_forward_token"
    r = httpx.post(
        f"{acct.server.url}/v1/rewrite/cobol/{ANTHROPIC}", json={}, headers={"Authorization": f"Bearer {acct.token()}"}
    )
    assert r.status_code == 404


def test_same_format_is_a_forward(acct: Account, fake_gateway: GatewayStack) -> None:
    raw = openai.OpenAI(
        base_url=rewrite_base(acct, "openai", "https://api.openai.com/v1"), api_key=acct.token(), max_retries=0
    ).chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi fake-words=4"}]
    )
    assert len((raw.parse().choices[0].message.content or "").split()) == 4
    up = upstream(fake_gateway)
    check_record(
        acct,
        raw.headers["x-lava-request-id"],
        api="openai.chat_completions",
        up=up,
        provider="openai",
        client="openai",
        endpoint=f"POST {OPENAI}",
    )


# -- holds and the ledger ----------------------------------------------------------------------


def quote_hold(acct: Account, url: str, body: dict[str, Any]) -> str:
    r = httpx.post(
        f"{acct.server.api_base}quote",
        json={"url": url, "body": body},
        headers={"Authorization": f"Bearer {acct.token()}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return str(r.json()["hold"])


def test_hold_uses_the_translated_request(acct: Account, fake_gateway: GatewayStack) -> None:
    client_body = {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "no limit given"}]}
    raw = openai_to_anthropic(acct).chat.completions.with_raw_response.create(**client_body)  # type: ignore[call-overload]
    up = upstream(fake_gateway)
    assert up["body"]["max_tokens"] == 4096  # Anthropic needs one: the documented default
    rid = raw.headers["x-lava-request-id"]
    server = acct.server
    rec = server.call(get_request(server.services.db, str(acct.merchant_id), "test", rid))
    assert rec is not None and rec.client_format == "openai"
    translated, untranslated = quote_hold(acct, ANTHROPIC, up["body"]), quote_hold(acct, ANTHROPIC, client_body)
    assert translated != untranslated, "the two bodies imply different worst cases"
    assert to_wire(rec.hold_units) == translated


def test_ledger_checks_out_after_rewrite_calls(acct: Account, fake_gateway: GatewayStack) -> None:
    openai_to_anthropic(acct).chat.completions.create(
        model="claude-sonnet-4-5", messages=[{"role": "user", "content": "x"}]
    )
    anthropic_to_openai(acct).messages.create(
        model="gpt-4o-mini", max_tokens=9, messages=[{"role": "user", "content": "y"}]
    )
    acct.assert_no_pending()
    assert_ledger_consistent(acct.server)


def test_an_error_inside_a_translated_stream_reaches_the_client(acct: Account, fake_gateway: GatewayStack) -> None:
    stream = openai_to_anthropic(acct).chat.completions.create(
        model="error-event-stream", messages=[{"role": "user", "content": "x"}], stream=True
    )
    with pytest.raises(openai.APIError, match="Overloaded"):
        list(stream)
    rec = acct.latest_request()
    assert rec["status"] == "error" and rec["client_format"] == "openai"
    assert rec["total_request_cost"] == "0.0000000000"


def test_a_stream_without_upstream_usage_is_estimated_and_still_well_formed(
    acct: Account, fake_gateway: GatewayStack
) -> None:

    with anthropic_to_openai(acct).messages.stream(
        model="no-usage-stream", max_tokens=50, messages=[{"role": "user", "content": "x"}]
    ) as s:
        final = s.get_final_message()
    assert final.content and final.content[0].type == "text"
    rec = acct.latest_request()
    assert rec["status"] == "completed" and rec["model_usage"]["estimated"] is True


def test_bedrock_converse_client_to_anthropic(acct: Account, fake_gateway: GatewayStack) -> None:
    url = rewrite_base(acct, "bedrock", "https://api.anthropic.com/model/claude-haiku-4-5/converse")
    body = {
        "messages": [{"role": "user", "content": [{"text": "hello fake-words=4"}]}],
        "system": [{"text": "be brief"}],
        "inferenceConfig": {"maxTokens": 64},
    }
    r = httpx.post(url, json=body, headers={"Authorization": f"Bearer {acct.token()}"}, timeout=30)
    assert r.status_code == 200, r.text
    out = r.json()
    assert len(out["output"]["message"]["content"][0]["text"].split()) == 4
    assert out["stopReason"] == "end_turn"
    up = upstream(fake_gateway)
    assert up["body"]["model"] == "claude-haiku-4-5" and up["body"]["max_tokens"] == 64
    raw_usage = expected_usage("anthropic.messages", up["body"])
    assert out["usage"]["inputTokens"] == raw_usage["input_tokens"] and out["usage"]["outputTokens"] == 4
    assert acct.latest_request()["client_format"] == "bedrock"
    bedrock_target = rewrite_base(acct, "openai", "https://bedrock-runtime.us-east-1.amazonaws.com/model/x/converse")
    r = httpx.post(
        bedrock_target, json={"model": "x", "messages": []}, headers={"Authorization": f"Bearer {acct.token()}"}
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "provider_not_configured"


def test_bedrock_converse_stream_client_to_openai(acct: Account, fake_gateway: GatewayStack) -> None:
    from tests.gateway.rewrite.test_bedrock_stream import parse_frames

    url = rewrite_base(acct, "bedrock", "https://api.openai.com/v1/model/gpt-4o-mini/converse-stream")
    body = {"messages": [{"role": "user", "content": [{"text": "stream fake-words=7"}]}]}
    r = httpx.post(url, json=body, headers={"Authorization": f"Bearer {acct.token()}"}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/vnd.amazon.eventstream"
    events = [(h[":event-type"], json.loads(p)) for h, p in parse_frames(r.content)]
    text = "".join(e["delta"].get("text", "") for k, e in events if k == "contentBlockDelta")
    assert len(text.split()) == 7
    up = upstream(fake_gateway)
    assert up["path"] == "/v1/chat/completions" and up["body"]["stream"] is True
    raw_usage = expected_usage("openai.chat_completions", up["body"])
    assert events[-1][0] == "metadata"
    assert events[-1][1]["usage"]["inputTokens"] == raw_usage["input_tokens"]
    assert events[-1][1]["usage"]["outputTokens"] == raw_usage["output_tokens"] == 7
    rec = acct.latest_request()
    assert rec["client_format"] == "bedrock" and rec["provider_usage"] == raw_usage


def test_idempotency_key_does_not_replay_gateway_calls(acct: Account, fake_gateway: GatewayStack) -> None:
    """/v1/rewrite is a gateway call like /v1/forward: an Idempotency-Key is not a REST replay key."""
    url = rewrite_base(acct, "openai", ANTHROPIC)
    body = {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "hi fake-words=2"}]}
    token = acct.token()
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "same-key"}
    first = httpx.post(url, json=body, headers=headers, timeout=30)
    second = httpx.post(url, json=body, headers=headers, timeout=30)
    assert first.status_code == second.status_code == 200
    assert first.headers["x-lava-request-id"] != second.headers["x-lava-request-id"]
    assert "idempotency-key" not in upstream(fake_gateway)["headers"]


def test_the_idempotency_middleware_leaves_rewrite_alone() -> None:
    from aiohttp.test_utils import make_mocked_request

    from lava_server.api.idempotency import covered

    assert not covered(make_mocked_request("POST", "/v1/rewrite/openai/https://api.anthropic.com/v1/messages"))
    assert covered(make_mocked_request("POST", "/v1/requests"))


def test_spend_key_as_the_sdk_api_key(acct: Account, fake_gateway: GatewayStack) -> None:
    """Auth is forward's: a spend key (``lava_sk_``) works as the SDK key, and its allow-list
    names the *upstream* provider."""
    r = httpx.post(
        f"{acct.server.api_base}spend_keys",
        headers=acct.admin_headers,
        json={"name": "agent", "allowed_providers": ["anthropic"]},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    key = r.json()["key"]
    client = openai.OpenAI(base_url=rewrite_base(acct, "openai", ANTHROPIC), api_key=key, max_retries=0)
    done = client.chat.completions.create(model="claude-haiku-4-5", messages=[{"role": "user", "content": "hi"}])
    assert done.choices[0].message.content
    rec = acct.latest_request()
    assert rec["client_format"] == "openai" and rec["provider"] == "anthropic"
    other = openai.OpenAI(
        base_url=rewrite_base(acct, "openai", "https://api.openai.com/v1"), api_key=key, max_retries=0
    )
    with pytest.raises(openai.PermissionDeniedError) as info:
        other.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert info.value.response.json()["error"]["code"] == "provider_not_allowed"

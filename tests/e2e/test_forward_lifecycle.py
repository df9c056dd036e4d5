"""The forward lifecycle's failure paths, end to end against a fake provider of our own:

* a provider that refuses a field the gateway injected (``stream_options``) still serves the
  client's valid request (one retry without it), and an operator can say so up front;
* a Responses stream whose final event is far over the SSE event cap is charged its exact usage;
* an error after a stream started ends that stream (a final SSE error event, the terminating
  chunk, the connection closed), never a second HTTP response inside its body;
* an identifier the upstream chose never makes a new call free (issue 8);
"""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx
import pytest

from lava_server.billing.service import BillingService
from tests.billing.billing_fixtures import BillingEnv, units
from tests.e2e import lifecycle_stack
from tests.e2e.lifecycle_stack import AZURE_URL, CHAT_URL, IMAGE_BYTES, PLAIN, RESPONSES_URL, STRICT, forward, seen

env = lifecycle_stack.env
account = lifecycle_stack.account

# -- injected fields ---------------------------------------------------------------------------


def test_a_refused_injected_field_is_retried_once_without_it(env: BillingEnv, account: Any) -> None:
    con, product = account
    before = len(seen(env, "/azure/"))
    tok = env.token(con, product, provider_key="azure-key")
    r = forward(env, AZURE_URL, tok, json={"stream": True, "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 200, r.text
    assert '"content":"Hi"' in r.text and r.text.rstrip().endswith("data: [DONE]")
    tries = seen(env, "/azure/")[before:]
    assert len(tries) == 2
    assert "stream_options" in tries[0]["body"] and "stream_options" not in tries[1]["body"]
    assert json.loads(tries[1]["body"]) == {"stream": True, "messages": [{"role": "user", "content": "hi"}]}
    rec = env.request(r.headers["x-lava-request-id"])
    assert rec["status"] == "completed"
    assert rec["model_usage"]["estimated"] is True  # the stream carried no usage: a marked estimate
    assert rec["model_usage"]["output_tokens"] == 3  # one token per relayed event (two chunks and [DONE])
    env.assert_ledger_ok()


def test_a_refusal_that_does_not_name_the_injected_field_is_relayed(env: BillingEnv, account: Any) -> None:
    con, product = account
    before = len(seen(env, "/strict/"))
    tok = env.token(con, product, provider_key="k")
    r = forward(env, f"https://{STRICT}/chat/completions", tok, json={"model": "nope", "stream": True, "messages": []})
    assert r.status_code == 400 and "does not exist" in r.text
    assert len(seen(env, "/strict/")) == before + 1  # no retry
    rec = env.request(r.headers["x-lava-request-id"])
    assert rec["status"] == "error" and rec["total_request_cost"] == "0.0000000000"


def test_a_host_configured_to_refuse_the_option_never_gets_it(env: BillingEnv, account: Any) -> None:
    con, product = account
    before = len(seen(env, "/plain/"))
    tok = env.token(con, product, provider_key="k")
    r = forward(env, f"https://{PLAIN}/chat/completions", tok, json={"stream": True, "messages": []})
    assert r.status_code == 200, r.text
    tries = seen(env, "/plain/")[before:]
    assert len(tries) == 1 and "stream_options" not in tries[0]["body"]


def test_a_client_that_asked_for_usage_is_not_retried_without_it(env: BillingEnv, account: Any) -> None:
    """Only what *we* added is ever taken away: the client's own stream_options is its business."""
    con, product = account
    before = len(seen(env, "/azure/"))
    tok = env.token(con, product, provider_key="azure-key")
    body = {"stream": True, "stream_options": {"include_usage": True}, "messages": []}
    r = forward(env, AZURE_URL, tok, json=body)
    assert r.status_code == 400
    assert len(seen(env, "/azure/")) == before + 1


# -- an oversized final event ------------------------------------------------------------------


def test_usage_in_a_final_event_over_the_cap_is_read_exactly(env: BillingEnv, account: Any) -> None:
    con, product = account
    tok = env.token(con, product)
    body = {"model": "img-model", "stream": True, "input": "huge", "tools": [{"type": "image_generation"}]}
    r = forward(env, RESPONSES_URL, tok, json=body)
    assert r.status_code == 200
    assert len(r.content) > 2 * IMAGE_BYTES  # relayed whole
    rec = env.request(r.headers["x-lava-request-id"])
    usage = rec["model_usage"]
    assert (usage["input_tokens"], usage["output_tokens"], usage["estimated"]) == (2000, 4000, False)
    assert usage["total_cost"] == "0.0425000000"  # 2000 × $1.25/M + 4000 × $10/M
    assert rec["response_id"] == "resp_huge"


# -- an error after the stream started -----------------------------------------------------------


def _raw_post(url: str, path: str, headers: dict[str, str], body: bytes, *, until_closed: bool = False) -> bytes:
    """One keep-alive HTTP/1.1 request on a raw socket; the raw answer. Reads until the chunked
    body's terminating chunk or, with ``until_closed``, until the server closes the connection
    (a hang of either kind fails on the socket timeout)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        sock.sendall(head.encode() + body)
        out = b""
        while True:
            data = sock.recv(65536)
            if not data:
                return out
            out += data
            if not until_closed and out.endswith(b"\r\n0\r\n\r\n"):
                return out


def test_a_settlement_failure_after_the_stream_started_ends_that_stream(
    env: BillingEnv, account: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    con, product = account
    real_settle = BillingService.settle

    async def settle(self: BillingService, res: Any, outcome: Any) -> Any:
        if res.plan.model == "explode":
            raise OverflowError("usage too large to record")
        return await real_settle(self, res, outcome)

    monkeypatch.setattr(BillingService, "settle", settle)
    start = env.balance(con)
    tok = env.token(con, product)
    body = json.dumps({"model": "explode", "stream": True, "messages": [{"role": "user", "content": "hi"}]}).encode()
    raw = _raw_post(
        env.server.url,
        "/v1/forward?u=" + CHAT_URL,
        {"Authorization": f"Bearer {tok}", "Content-Type": "application/json"},
        body,
        until_closed=True,  # the server must close the connection itself, not leave it hanging
    )
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"transfer-encoding: chunked" in head.lower()
    assert raw.count(b"HTTP/1.1") == 1  # never a second response written into the body
    assert b'"content":"Hi"' in rest
    assert b"event: error" in rest and b"settlement_failed" in rest
    assert rest.endswith(b"0\r\n\r\n")  # the terminating chunk: the client is not left waiting
    rid = next(
        line.split(b":", 1)[1].strip().decode()
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"x-lava-request-id")
    )
    rec = env.request(rid)
    assert rec["status"] == "error" and "settlement failed" in rec["error"]
    assert env.balance(con) == start  # hold released, nothing charged
    assert env.holds(rid)[0]["status"] == "released"
    env.assert_ledger_ok()


@pytest.mark.parametrize("sdk", ["openai", "anthropic"])
def test_the_official_sdks_raise_on_the_final_error_event(
    env: BillingEnv, account: Any, monkeypatch: pytest.MonkeyPatch, sdk: str
) -> None:
    """What the final event is for: a client using a provider's own SDK learns the call failed."""
    import anthropic
    import openai

    con, product = account

    async def settle(self: BillingService, res: Any, outcome: Any) -> Any:
        raise OverflowError("usage too large to record")

    monkeypatch.setattr(BillingService, "settle", settle)
    tok = env.token(con, product)
    if sdk == "openai":
        client = openai.OpenAI(
            base_url=f"{env.server.url}/v1/forward?u=https://api.openai.com/v1", api_key=tok, max_retries=0
        )
        with pytest.raises(openai.APIError, match="not charged"):
            for _ in client.chat.completions.create(
                model="explode", messages=[{"role": "user", "content": "hi"}], stream=True
            ):
                pass
    else:  # the Anthropic SDK reads `event: error` from any stream (here: a chat stream's bytes)
        from anthropic._streaming import Stream

        raw = _raw_post(
            env.server.url,
            "/v1/forward?u=" + CHAT_URL,
            {"Authorization": f"Bearer {tok}", "Content-Type": "application/json"},
            json.dumps({"model": "explode", "stream": True, "messages": []}).encode(),
        )
        _, rest, _ = _stream_ended_cleanly(raw)
        body = _dechunk(rest)
        response = httpx.Response(200, content=body, request=httpx.Request("POST", "http://x"))
        client = anthropic.Anthropic(api_key="x", max_retries=0)
        with pytest.raises(anthropic.APIError, match="not charged"):
            for _ in Stream(cast_to=object, response=response, client=client):
                pass


def _dechunk(body: bytes) -> bytes:
    out, rest = b"", body
    while rest:
        size, _, rest = rest.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            return out
        out, rest = out + rest[:n], rest[n + 2 :]
    return out


def test_a_settlement_failure_of_a_buffered_call_is_a_clean_500(
    env: BillingEnv, account: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    con, product = account

    async def settle(self: BillingService, res: Any, outcome: Any) -> Any:
        raise OverflowError("usage too large to record")

    monkeypatch.setattr(BillingService, "settle", settle)
    r = forward(env, CHAT_URL, env.token(con, product), json={"model": "explode", "messages": []})
    assert r.status_code == 500 and r.json()["error"]["code"] == "settlement_failed"
    rec = env.request(r.headers["x-lava-request-id"])
    assert rec["status"] == "error"


def _stream_ended_cleanly(raw: bytes) -> tuple[bytes, bytes, str]:
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert raw.count(b"HTTP/1.1") == 1
    assert rest.endswith(b"0\r\n\r\n")
    rid = next(
        line.split(b":", 1)[1].strip().decode()
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"x-lava-request-id")
    )
    return head, rest, rid


def test_usage_above_2_63_never_corrupts_the_stream(env: BillingEnv, account: Any) -> None:
    """Issue 14's deterministic repro: whatever settlement makes of the absurd count (capped, or
    failed), the client gets one whole response and the call is finished, never left pending."""
    con, product = account
    tok = env.token(con, product)
    body = json.dumps({"model": "huge-usage", "stream": True, "messages": [{"role": "user", "content": "hi"}]})
    raw = _raw_post(
        env.server.url,
        "/v1/forward?u=" + CHAT_URL,
        {"Authorization": f"Bearer {tok}", "Content-Type": "application/json"},
        body.encode(),
    )
    _, rest, rid = _stream_ended_cleanly(raw)
    assert b'"content":"Hi"' in rest
    assert env.request(rid)["status"] in ("completed", "error")
    env.assert_ledger_ok()


def test_any_failure_after_the_stream_started_ends_it_cleanly(
    env: BillingEnv, account: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not only settlement: a fault anywhere after prepare() (here: in the relay itself) reaches
    the error middleware, which ends the started stream instead of answering anew."""
    from lava_server.gateway import relay as relay_module

    con, product = account

    def broken_flush(self: Any) -> bytes:
        raise RuntimeError("a bug in the relay")

    monkeypatch.setattr(relay_module.SseSink, "flush", broken_flush)
    tok = env.token(con, product)
    body = json.dumps({"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "hi"}]})
    raw = _raw_post(
        env.server.url,
        "/v1/forward?u=" + CHAT_URL,
        {"Authorization": f"Bearer {tok}", "Content-Type": "application/json"},
        body.encode(),
        until_closed=True,
    )
    _, rest, rid = _stream_ended_cleanly(raw)
    assert b"event: error" in rest and b"internal_error" in rest
    rec = env.request(rid)
    assert rec["status"] == "error" and rec["total_request_cost"] == "0.0000000000"
    env.assert_ledger_ok()


# -- upstream-chosen identifiers (issue 8) ---------------------------------------------------------


def test_an_upstream_that_reuses_a_response_id_cannot_make_a_new_call_free(env: BillingEnv, account: Any) -> None:
    con, product = account
    tok = env.token(con, product)
    costs = []
    for _ in range(2):
        before = env.balance(con)
        r = forward(env, RESPONSES_URL, tok, json={"model": "img-model", "input": "reuse"})
        assert r.status_code == 200
        assert env.request(r.headers["x-lava-request-id"])["response_id"] == "resp_same"
        costs.append(before - env.balance(con))
    # 0.0425 base + 20 % fee (0.0085) + 1.9 % service charge on the fee (0.0001615), both times
    assert costs[0] == costs[1] == units("0.0511615")
    # Fetching it is free: the POST recorded it, keyed per merchant.
    before = env.balance(con)
    r = httpx.get(
        f"{env.server.url}/v1/forward",
        params={"u": RESPONSES_URL + "/resp_same"},
        headers={"Authorization": f"Bearer {tok}"},
    )
    assert r.status_code == 200
    assert env.balance(con) == before
    env.assert_ledger_ok()


def test_a_fetch_is_keyed_on_the_id_the_client_asked_for(env: BillingEnv) -> None:
    """The upstream answers GET /responses/resp_same with a body naming resp_other: had the
    gateway keyed on that, the fetch of an already-billed response would be charged again.
    A merchant of its own, so no other test has billed either id for it."""
    fresh = BillingEnv(env.server, env.fake, env.server.merchant("fetch-keying"), lambda: None)
    product = fresh.product("--rate-type", "percentage", "--tier", "0:20")
    con = fresh.connection(credit="10")
    tok = fresh.token(con, product)
    assert forward(fresh, RESPONSES_URL, tok, json={"model": "img-model", "input": "reuse"}).status_code == 200
    before = fresh.balance(con)
    for _ in range(2):
        r = httpx.get(
            f"{env.server.url}/v1/forward",
            params={"u": RESPONSES_URL + "/resp_same"},
            headers={"Authorization": f"Bearer {tok}"},
        )
        assert r.status_code == 200
        assert fresh.request(r.headers["x-lava-request-id"])["provider_usage"]["input_tokens"] == 2000
    assert fresh.balance(con) == before  # the POST billed resp_same; its fetches are free
    fresh.assert_ledger_ok()

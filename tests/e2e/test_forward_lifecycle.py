"""The forward lifecycle's failure paths, end to end against a fake provider of our own:

* a provider that refuses a field the gateway injected (``stream_options``) still serves the
  client's valid request (one retry without it), and an operator can say so up front;
* a Responses stream whose final event is far over the SSE event cap is charged its exact usage;
* an error after a stream started ends that stream (a final SSE error event, the terminating
  chunk, the connection closed), never a second HTTP response inside its body;
* an identifier the upstream chose never makes a new call free (issue 8);
* compressed request bodies: decoded with a bound and forwarded without ``Content-Encoding``;
  garbage is a clean 400, unknown codings 415, even before authentication.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import brotli
import httpx
import pytest
import zstandard
from aiohttp import web

from lava_server.billing.service import BillingService
from tests.billing.billing_fixtures import BillingEnv, Connection, units
from tests.fakes.server import start_in_thread
from tests.support.live import start_server

AZURE = "myres.openai.azure.com"
STRICT = "strict.example.com"  # an operator-added host that refuses stream_options for another reason
PLAIN = "plain.example.com"  # configured up front: never gets stream_options
AZURE_URL = f"https://{AZURE}/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-02-01"
CHAT_URL = "https://api.openai.com/v1/chat/completions"
RESPONSES_URL = "https://api.openai.com/v1/responses"
USAGE = {"input_tokens": 2000, "output_tokens": 4000, "total_tokens": 6000}
IMAGE_BYTES = 5 * 1024 * 1024  # > the 4 MiB SSE event cap
AZURE_REFUSAL = {
    "error": {
        "code": None,
        "message": "Unrecognized request argument supplied: stream_options",
        "param": None,
        "type": "invalid_request_error",
    }
}


def _sse(obj: Any, name: str | None = None) -> bytes:
    head = f"event: {name}\n".encode() if name else b""
    return head + b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def _chat_chunks(usage: dict[str, int] | None) -> bytes:
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-4o-mini"}
    out = _sse({**base, "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}]})
    out += _sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    if usage is not None:
        out += _sse({**base, "choices": [], "usage": usage})
    return out + b"data: [DONE]\n\n"


def _huge_responses_stream() -> bytes:
    item = {"id": "ig_1", "type": "image_generation_call", "status": "completed", "result": "A" * IMAGE_BYTES}

    def response(status: str, usage: Any, output: list[Any]) -> dict[str, Any]:
        return {
            "id": "resp_huge",
            "object": "response",
            "status": status,
            "model": "img-model",
            "output": output,
            "usage": usage,
        }

    return (
        _sse({"type": "response.created", "response": response("in_progress", None, [])}, "response.created")
        + _sse({"type": "response.output_item.done", "output_index": 0, "item": item}, "response.output_item.done")
        + _sse({"type": "response.completed", "response": response("completed", USAGE, [item])}, "response.completed")
    )


def provider_app() -> web.Application:
    """One fake provider behind every mapped host; it records what it received."""
    seen: list[dict[str, Any]] = []

    async def record(request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        entry = {"path": request.path, "body": raw.decode(), "headers": dict(request.headers)}
        seen.append(entry)
        return entry

    async def stream(request: web.Request, body: bytes, step: int = 64 * 1024) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for i in range(0, len(body), step):
            await resp.write(body[i : i + step])
        await resp.write_eof()
        return resp

    async def azure_chat(request: web.Request) -> web.StreamResponse:
        entry = await record(request)
        if "stream_options" in entry["body"]:
            return web.json_response(AZURE_REFUSAL, status=400)
        return await stream(request, _chat_chunks(None))

    async def strict_chat(request: web.Request) -> web.StreamResponse:
        await record(request)
        return web.json_response(
            {"error": {"message": "model 'nope' does not exist", "type": "invalid_request_error"}}, status=400
        )

    async def chat(request: web.Request) -> web.StreamResponse:
        entry = await record(request)
        body = json.loads(entry["body"]) if entry["body"] else {}
        if body.get("stream"):
            usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
            if body.get("model") == "huge-usage":  # issue 14's repro: a count above 2**63
                usage = {"prompt_tokens": 10, "completion_tokens": 2**64 + 5, "total_tokens": 2**64 + 15}
            return await stream(request, _chat_chunks(usage if "stream_options" in entry["body"] else None))
        return web.json_response(
            {
                "id": "chatcmpl-2",
                "object": "chat.completion",
                "model": body.get("model"),
                "choices": [],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            }
        )

    async def responses(request: web.Request) -> web.StreamResponse:
        entry = await record(request)
        body = json.loads(entry["body"])
        if body.get("input") == "huge":
            return await stream(request, _huge_responses_stream())
        # "reuse": an upstream that answers every call with the same id
        return web.json_response(
            {"id": "resp_same", "object": "response", "model": body["model"], "status": "completed", "usage": USAGE}
        )

    async def fetch(request: web.Request) -> web.Response:
        await record(request)
        # The body names another id than the one asked for: the gateway must key on the URL's.
        return web.json_response(
            {"id": "resp_other", "object": "response", "model": "img-model", "status": "completed", "usage": USAGE}
        )

    async def requests_seen(request: web.Request) -> web.Response:
        return web.json_response(seen)

    app = web.Application(client_max_size=64 << 20)
    app.router.add_post("/azure/openai/deployments/{dep}/chat/completions", azure_chat)
    app.router.add_post("/strict/chat/completions", strict_chat)
    app.router.add_post("/plain/chat/completions", azure_chat)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/v1/responses", responses)
    app.router.add_get("/v1/responses/{rid}", fetch)
    app.router.add_get("/_seen", requests_seen)
    return app


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BillingEnv]:
    tmp: Path = tmp_path_factory.mktemp("lifecycle")
    upstream = start_in_thread(provider_app)
    (tmp / "prices.json").write_text(
        json.dumps(
            {
                "openai/img-model": {"input_mtok": "1.25", "output_mtok": "10.00"},
                "openai/gpt-4o-mini": {"input_mtok": "1.00", "output_mtok": "10.00"},
                "openai/explode": {"input_mtok": "1.00", "output_mtok": "10.00"},
            }
        )
    )
    server, stop = start_server(
        tmp,
        upstream_map={
            "api.openai.com": upstream.url,
            AZURE: upstream.url + "/azure",
            STRICT: upstream.url + "/strict",
            PLAIN: upstream.url + "/plain",
        },
        extra_upstream_hosts=(AZURE, STRICT, PLAIN),
        no_stream_usage_option_hosts=(PLAIN,),
        prices_file=tmp / "prices.json",
    )
    server.cli("provider-keys", "set", "--provider", "openai", "--key", "sk-managed")
    e = BillingEnv(server, upstream, server.merchant(), stop)
    yield e
    e.close()


@pytest.fixture
def account(env: BillingEnv) -> tuple[Connection, dict[str, Any]]:
    product = env.product("--rate-type", "percentage", "--tier", "0:20", "--allow-unpriced-models")
    return env.connection(credit="10"), product


def forward(env: BillingEnv, url: str, tok: str, headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {tok}", **(headers or {})}
    return httpx.post(f"{env.server.url}/v1/forward", params={"u": url}, headers=headers, timeout=60, **kw)


def seen(env: BillingEnv, path_part: str) -> list[dict[str, Any]]:
    rows = httpx.get(env.fake.url + "/_seen", timeout=10).json()
    return [r for r in rows if path_part in r["path"]]


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


def _raw_post(url: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        sock.sendall(head.encode() + body)
        out = b""
        while True:  # the server must close the connection itself, not leave it hanging
            data = sock.recv(65536)
            if not data:
                return out
            out += data


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


def test_a_fetch_is_keyed_on_the_id_the_client_asked_for(env: BillingEnv, account: Any) -> None:
    """The upstream answers GET /responses/resp_same with a body naming resp_other: had the
    gateway keyed on that, the fetch of an already-billed response would be charged again."""
    con, product = account
    tok = env.token(con, product)
    assert forward(env, RESPONSES_URL, tok, json={"model": "img-model", "input": "reuse"}).status_code == 200
    before = env.balance(con)
    for _ in range(2):
        r = httpx.get(
            f"{env.server.url}/v1/forward",
            params={"u": RESPONSES_URL + "/resp_same"},
            headers={"Authorization": f"Bearer {tok}"},
        )
        assert r.status_code == 200
    assert env.balance(con) == before


# -- compressed request bodies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("br", brotli.compress),
        ("zstd", lambda b: zstandard.ZstdCompressor().compress(b)),
    ],
)
def test_a_compressed_body_is_decoded_and_forwarded_plain(
    env: BillingEnv, account: Any, coding: str, encode: Any
) -> None:
    con, product = account
    before = len(seen(env, "/v1/chat/completions"))
    payload = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi " * 100}]}
    r = forward(
        env,
        CHAT_URL,
        env.token(con, product),
        content=encode(json.dumps(payload).encode()),
        headers={"Content-Encoding": coding, "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    (got,) = seen(env, "/v1/chat/completions")[before:]
    assert json.loads(got["body"]) == payload
    assert "Content-Encoding" not in got["headers"] and "content-encoding" not in got["headers"]
    assert env.request(r.headers["x-lava-request-id"])["model"] == "gpt-4o-mini"


@pytest.mark.parametrize("path", ["/v1/quote", "/v1/forward?u=" + CHAT_URL, "/v1/checkout_sessions"])
@pytest.mark.parametrize(
    ("coding", "body", "status", "code"),
    [
        ("gzip", b"not gzip at all", 400, "invalid_content_encoding"),
        ("deflate", b"\x78\x9cgarbage", 400, "invalid_content_encoding"),
        ("br", b"\xff\xff\xff garbage", 400, "invalid_content_encoding"),
        ("zstd", b"garbage", 400, "invalid_content_encoding"),
        ("gzip", gzip.compress(b"{}")[:-6], 400, "invalid_content_encoding"),
        ("compress", b"x", 415, "unsupported_content_encoding"),
        ("gzip", gzip.compress(b" " * (11 * 1024 * 1024)), 413, "payload_too_large"),
    ],
)
def test_bad_compressed_bodies_are_clean_4xx_before_authentication(
    env: BillingEnv, path: str, coding: str, body: bytes, status: int, code: str
) -> None:
    r = httpx.post(env.server.url + path, content=body, headers={"Content-Encoding": coding}, timeout=30)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code


def test_bad_compressed_bodies_log_no_traceback(env: BillingEnv, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("DEBUG"):
        r = httpx.post(env.server.url + "/v1/quote", content=b"junk", headers={"Content-Encoding": "gzip"})
        assert r.status_code == 400
        asyncio.run(asyncio.sleep(0.2))
    assert not [rec for rec in caplog.records if rec.exc_info]


def test_a_compressed_rest_body_is_read_decoded(env: BillingEnv, account: Any) -> None:
    """Every handler sees the decoded body, not only /v1/forward's (here /v1/quote's JSON reader)."""
    con, product = account
    payload = {"url": CHAT_URL, "body": {"model": "gpt-4o-mini", "max_tokens": 10, "messages": []}}
    r = httpx.post(
        env.server.url + "/v1/quote",
        content=gzip.compress(json.dumps(payload).encode()),
        headers={
            "Authorization": f"Bearer {env.token(con, product)}",
            "Content-Encoding": "gzip",
            "Content-Type": "application/json",
        },
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert r.json()["model"] == "gpt-4o-mini" and r.json()["max_output_tokens"] == 10

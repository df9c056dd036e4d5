"""Edges of the forward endpoint: URL shapes, extra query parameters, the ``?key=`` carrier,
``x-lava-request-id`` on every forwarded response, and header pass-through (hop-by-hop removed)."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from aiohttp import web

from tests.e2e import conftest_gateway
from tests.e2e.conftest_gateway import MANAGED_KEYS, Account, GatewayStack
from tests.fakes.server import RunningServer, start_in_thread
from tests.support.live import start_server

# the session fixtures shared by the gateway e2e modules, bound here so pytest finds them
fake_gateway = conftest_gateway.fake_gateway

OPENAI_CHAT = "https://api.openai.com/v1/chat/completions"
GEMINI = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash"
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}
GEMINI_BODY = {"contents": [{"role": "user", "parts": [{"text": "hello"}]}]}


@pytest.fixture
def acct(fake_gateway: GatewayStack) -> Iterator[Account]:
    account = fake_gateway.account()
    yield account
    account.assert_no_pending()


def last(stack: GatewayStack) -> dict[str, Any]:
    return stack.fake_stats()["last_request"]


@pytest.mark.parametrize("mount", ["/v1/forward", "/v1/forward/"])
@pytest.mark.parametrize("encoded", [False, True], ids=["raw_u", "encoded_u"])
def test_forward_paths_and_u_encodings(mount: str, encoded: bool, acct: Account, fake_gateway: GatewayStack) -> None:
    u = quote(OPENAI_CHAT, safe="") if encoded else OPENAI_CHAT
    resp = httpx.post(
        f"{acct.server.url}{mount}?u={u}", json=CHAT, headers={"Authorization": f"Bearer {acct.token()}"}, timeout=30
    )
    assert resp.status_code == 200, resp.text
    assert last(fake_gateway)["path"] == "/v1/chat/completions"
    assert acct.request(resp.headers["x-lava-request-id"])["endpoint"] == f"POST {OPENAI_CHAT}"


@pytest.mark.parametrize("host", ["api.openai.com.", "API.OpenAI.COM", "Api.Openai.Com."])
def test_host_spellings_hit_the_mapped_upstream(host: str, acct: Account, fake_gateway: GatewayStack) -> None:
    """A trailing dot or upper case names the same host: it must not bypass the upstream map."""
    resp = httpx.post(
        acct.forward_url(f"https://{host}/v1/chat/completions"),
        json=CHAT,
        headers={"Authorization": f"Bearer {acct.token()}"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    assert last(fake_gateway)["path"] == "/v1/chat/completions"
    assert acct.request(resp.headers["x-lava-request-id"])["endpoint"] == f"POST {OPENAI_CHAT}"


@pytest.mark.parametrize(
    ("target", "body"),
    [
        (
            OPENAI_CHAT,
            {
                **CHAT,
                "model": "slow-stream",
                "stream": True,
                "messages": [{"role": "user", "content": "fake-words=12"}],
            },
        ),
        (f"{GEMINI}:streamGenerateContent?alt=sse", {"contents": [{"parts": [{"text": "fake-words=40"}]}]}),
        (f"{GEMINI}:streamGenerateContent", {"contents": [{"parts": [{"text": "fake-words=40"}]}]}),  # JSON array
    ],
    ids=["openai_sse", "gemini_sse", "gemini_json_array"],
)
def test_streams_are_relayed_as_they_arrive(target: str, body: dict[str, Any], acct: Account) -> None:
    """docs/design.md "Streaming": never buffered whole — the first bytes arrive long before the end."""
    started = time.monotonic()
    arrivals: list[float] = []
    with httpx.stream(
        "POST",
        acct.forward_url(target.replace("gemini-2.5-flash", "slow-stream")),
        json=body,
        headers={"Authorization": f"Bearer {acct.token()}", "x-fake-chunk-delay-ms": "100"},
        timeout=30,
    ) as resp:
        assert resp.status_code == 200
        rid = resp.headers["x-lava-request-id"]
        for _ in resp.iter_raw():
            arrivals.append(time.monotonic() - started)
    assert len(arrivals) >= 4
    assert arrivals[-1] - arrivals[0] > 0.3, f"the stream arrived in one burst: {arrivals}"
    rec = acct.request(rid)
    assert rec["status"] == "completed" and rec["model_usage"]["estimated"] is False
    assert rec["provider_usage"]["output_tokens"] > 0


@pytest.mark.parametrize(
    "query",
    [
        f"u={GEMINI}:streamGenerateContent&alt=sse",  # raw u, extra param after it
        f"alt=sse&u={GEMINI}:streamGenerateContent",  # extra param before u
        f"u={quote(GEMINI + ':streamGenerateContent', safe='')}&alt=sse",  # encoded u
        f"u={quote(GEMINI + ':streamGenerateContent?alt=sse', safe='')}",  # the param inside encoded u
        f"u={GEMINI}:streamGenerateContent?alt=sse",  # the param inside raw u
    ],
    ids=["raw_after", "before", "encoded_after", "inside_encoded", "inside_raw"],
)
def test_extra_query_params_go_upstream(query: str, acct: Account, fake_gateway: GatewayStack) -> None:
    resp = httpx.post(
        f"{acct.server.url}/v1/forward?{query}",
        json=GEMINI_BODY,
        headers={"x-goog-api-key": acct.token()},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/event-stream")
    assert resp.content.count(b"\r\n\r\n") > 1  # Gemini SSE framing survives
    up = last(fake_gateway)
    assert up["path"] == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert up["query"] == {"alt": "sse"}
    rec = acct.request(resp.headers["x-lava-request-id"])
    assert rec["endpoint"] == f"POST {GEMINI}:streamGenerateContent?alt=sse"
    assert rec["status"] == "completed" and rec["provider_usage"]["total_tokens"] > 0


def test_several_upstream_params_keep_their_order(acct: Account, fake_gateway: GatewayStack) -> None:
    target = f"{GEMINI}:streamGenerateContent"
    resp = httpx.post(
        f"{acct.server.url}/v1/forward?u={target}&alt=sse&trace=a%20b",
        json=GEMINI_BODY,
        headers={"x-goog-api-key": acct.token()},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    assert last(fake_gateway)["query"] == {"alt": "sse", "trace": "a b"}


@pytest.mark.parametrize("where", ["after_u", "inside_raw_u", "before_u"])
def test_key_param_carrier_is_stripped_from_the_upstream_url(
    where: str, acct: Account, fake_gateway: GatewayStack
) -> None:
    token = acct.token()
    target = f"{GEMINI}:generateContent"
    query = {
        "after_u": f"u={target}&key={token}",
        "inside_raw_u": f"u={target}?key={token}",
        "before_u": f"key={quote(token, safe='')}&u={quote(target, safe='')}",
    }[where]
    resp = httpx.post(f"{acct.server.url}/v1/forward?{query}", json=GEMINI_BODY, timeout=30)  # no auth header at all
    assert resp.status_code == 200, resp.text
    up = last(fake_gateway)
    assert "key" not in up["query"]
    assert up["headers"]["x-goog-api-key"] == MANAGED_KEYS["google"]
    assert token not in json.dumps(up)
    rec = acct.request(resp.headers["x-lava-request-id"])
    assert "key=" not in rec["endpoint"] and token not in rec["endpoint"]


def test_header_token_wins_over_a_provider_key_param(acct: Account, fake_gateway: GatewayStack) -> None:
    """A ``?key=`` that is not a Lava token is still never forwarded in the URL."""
    resp = httpx.post(
        f"{acct.server.url}/v1/forward?u={GEMINI}:generateContent&key=AIza-not-a-lava-token",
        json=GEMINI_BODY,
        headers={"Authorization": f"Bearer {acct.token()}"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    assert "key" not in last(fake_gateway)["query"]


@pytest.mark.parametrize(
    ("model", "stream", "status"),
    [
        ("gpt-4o-mini", False, 200),
        ("gpt-4o-mini", True, 200),
        ("error-400", False, 400),
        ("error-404", False, 404),
        ("error-500", False, 500),
        ("error-503", False, 503),
        ("error-502-html", False, 502),
        ("error-429", True, 429),
        ("redirect-302", False, 302),
    ],
)
def test_request_id_on_every_forwarded_response(
    model: str,
    stream: bool,
    status: int,
    acct: Account,
    fake_gateway: GatewayStack,
) -> None:
    resp = httpx.post(
        acct.forward_url(OPENAI_CHAT),
        json={**CHAT, "model": model, "stream": stream},
        headers={"Authorization": f"Bearer {acct.token()}"},
        timeout=30,
    )
    assert resp.status_code == status
    rid = resp.headers.get("x-lava-request-id")
    assert rid and rid.startswith("req_test_")
    rec = acct.request(rid)
    assert rec["status"] == ("completed" if status == 200 else "error")
    if status >= 400:  # upstream errors pass through unchanged
        direct = httpx.post(
            f"{fake_gateway.upstream.url}/v1/chat/completions",
            json={**CHAT, "model": model, "stream": stream},
            headers={"Authorization": f"Bearer {MANAGED_KEYS['openai']}"},
        )
        assert resp.content == direct.content
        assert resp.headers["content-type"] == direct.headers["content-type"]


# -- header hygiene, against a purpose-built upstream -------------------------------------

UPSTREAM_HEADERS = {
    "x-request-id": "req-upstream-1",
    "openai-processing-ms": "12",
    "x-ratelimit-remaining-requests": "99",
    "Keep-Alive": "timeout=5",
    "Proxy-Authenticate": "Basic realm=x",
    "Upgrade": "h2c",
    "Trailer": "X-Checksum",
}
COMPLETION = {
    "id": "chatcmpl-edge",
    "object": "chat.completion",
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
}


def _header_app() -> web.Application:
    seen: list[dict[str, str]] = []

    async def chat(request: web.Request) -> web.StreamResponse:
        seen.append({k.lower(): v for k, v in request.headers.items()})
        body = json.dumps(COMPLETION).encode()
        if request.headers.get("x-test-gzip"):
            return web.Response(
                body=gzip.compress(body),
                headers={**UPSTREAM_HEADERS, "Content-Type": "application/json", "Content-Encoding": "gzip"},
            )
        return web.Response(body=body, headers={**UPSTREAM_HEADERS, "Content-Type": "application/json"})

    async def headers(request: web.Request) -> web.Response:
        return web.json_response(seen[-1])

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/seen", headers)
    return app


@pytest.fixture(scope="module")
def header_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Account, RunningServer]]:
    upstream = start_in_thread(_header_app)
    server, stop = start_server(tmp_path_factory.mktemp("gw-headers"), upstream_map={"api.openai.com": upstream.url})
    stack = GatewayStack(server, upstream)
    yield stack.account(), upstream
    stop()
    upstream.stop()


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_upstream_headers_pass_through_except_hop_by_hop(
    gzipped: bool, header_stack: tuple[Account, RunningServer]
) -> None:
    acct, upstream = header_stack
    headers = {
        "Authorization": f"Bearer {acct.token(provider_key='sk-byok-edge')}",
        "OpenAI-Beta": "assistants=v2",
        "X-Custom-Trace": "t-1",
        "Proxy-Authorization": "Basic c2VjcmV0",
        "TE": "trailers",
        "Cookie": "session=abc",
        "X-Lava-Metadata-Run": "edge",
        **({"x-test-gzip": "1"} if gzipped else {}),
    }
    resp = httpx.post(acct.forward_url(OPENAI_CHAT), json=CHAT, headers=headers, timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.json() == COMPLETION
    for name in ("x-request-id", "openai-processing-ms", "x-ratelimit-remaining-requests"):
        assert resp.headers[name] == UPSTREAM_HEADERS[name]
    for name in ("keep-alive", "proxy-authenticate", "upgrade", "trailer", "content-encoding"):
        assert name not in resp.headers, name
    assert resp.headers["x-lava-request-id"].startswith("req_test_")

    sent = httpx.get(f"{upstream.url}/seen").json()
    assert sent["openai-beta"] == "assistants=v2" and sent["x-custom-trace"] == "t-1"
    assert sent["authorization"] == "Bearer sk-byok-edge"
    for name in ("proxy-authorization", "te", "cookie", "x-lava-metadata-run"):
        assert name not in sent, name
    rec = acct.request(resp.headers["x-lava-request-id"])
    assert rec["status"] == "completed" and rec["provider_usage"]["total_tokens"] == 7
    assert rec["metadata"] == {"Run": "edge"}

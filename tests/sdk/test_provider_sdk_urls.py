"""``base_url_for``: exact strings, and what the official provider SDKs then send.

The official clients run against a MockTransport; the assertion is on the request
line they produce, which must be a clean forward URL needing no server-side repair.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import httpx
import pytest

import lava
from lava import Lava

BASE = "http://127.0.0.1:8080/v1/"
TOKEN = "tok_forward"


def test_exact_strings() -> None:
    client = Lava("k", base_url=BASE)
    assert client.base_url_for("openai") == "http://127.0.0.1:8080/v1/forward?u=https://api.openai.com/v1/"
    assert client.base_url_for("anthropic") == "http://127.0.0.1:8080/v1/forward?u=https://api.anthropic.com"
    assert client.base_url_for("google") == "http://127.0.0.1:8080/v1/forward/https://generativelanguage.googleapis.com"
    assert client.base_url_for("google_openai_compatible") == (
        "http://127.0.0.1:8080/v1/forward?u=https://generativelanguage.googleapis.com/v1beta/openai/"
    )
    assert client.base_url_for("groq") == "http://127.0.0.1:8080/v1/forward?u=https://api.groq.com/openai/v1/"
    assert client.base_url_for("moonshot") == "http://127.0.0.1:8080/v1/forward?u=https://api.moonshot.ai/v1/"
    assert lava.base_url_for(BASE, "xai") == "http://127.0.0.1:8080/v1/forward?u=https://api.x.ai/v1/"


def test_unknown_provider_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="Unknown provider 'nope'"):
        Lava("k").base_url_for("nope")


def test_provider_without_an_sdk_base_url() -> None:
    with pytest.raises(ValueError, match="forward_url"):
        Lava("k").base_url_for("elevenlabs")


def _recording(seen: list[str], body: dict[str, Any], module: Any = httpx) -> Any:
    def handler(request: Any) -> Any:
        seen.append(request.url.raw_path.decode())
        seen.append(request.headers.get("authorization") or request.headers.get("x-goog-api-key") or "")
        if "stream" in request.url.raw_path.decode():
            chunk = 'data: {"candidates":[{"content":{"parts":[{"text":"hi"}],"role":"model"}}]}\n\n'
            return module.Response(200, headers={"content-type": "text/event-stream"}, content=chunk.encode())
        return module.Response(200, json=body)

    return handler


def _httpx_modules() -> list[ModuleType]:
    """Legacy httpx, plus httpx2 (the fork newer openai/anthropic releases run on) if installed."""
    modules: list[ModuleType] = [httpx]
    try:
        import httpx2
    except ImportError:
        return modules
    return [*modules, httpx2]


@pytest.mark.parametrize("http", _httpx_modules(), ids=lambda m: m.__name__)
def test_openai_python_sdk(http: Any) -> None:
    import openai

    seen: list[str] = []
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
    }
    client = openai.OpenAI(
        api_key=TOKEN,
        base_url=Lava("k", base_url=BASE).base_url_for("openai"),
        http_client=http.Client(transport=http.MockTransport(_recording(seen, body, http))),
        max_retries=0,
    )
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert seen == ["/v1/forward/?u=https://api.openai.com/v1/chat/completions", f"Bearer {TOKEN}"]
    # with query parameters of its own, openai-python re-encodes u (the server URL-decodes it)
    seen.clear()
    client.files.list(purpose="batch")
    assert seen[0] == "/v1/forward/?u=https%3A%2F%2Fapi.openai.com%2Fv1%2Ffiles&purpose=batch"


def test_anthropic_python_sdk() -> None:
    import anthropic

    http = _httpx_modules()[-1]  # anthropic >= 2 accepts only httpx2 clients
    seen: list[str] = []
    body = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "content": [{"type": "text", "text": "hi"}],
        "model": "claude-3-5-haiku-latest",
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    client = anthropic.Anthropic(
        api_key=TOKEN,
        base_url=Lava("k", base_url=BASE).base_url_for("anthropic"),
        http_client=http.Client(transport=http.MockTransport(_recording(seen, body, http))),
        max_retries=0,
    )
    client.messages.create(model="claude-3-5-haiku-latest", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    assert seen[0] == "/v1/forward?u=https://api.anthropic.com/v1/messages"
    assert TOKEN in seen[1]


@pytest.mark.parametrize("stream", [False, True])
def test_google_genai_sdk(stream: bool) -> None:
    from google import genai
    from google.genai import types

    seen: list[str] = []
    body = {"candidates": [{"content": {"parts": [{"text": "hi"}], "role": "model"}}]}
    client = genai.Client(
        api_key=TOKEN,
        http_options=types.HttpOptions(
            base_url=Lava("k", base_url=BASE).base_url_for("google"),
            api_version="v1beta",
            httpx_client=httpx.Client(transport=httpx.MockTransport(_recording(seen, body))),
        ),
    )
    if stream:
        list(client.models.generate_content_stream(model="gemini-2.0-flash", contents="hi"))
        expected = "/v1/forward/https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
    else:
        client.models.generate_content(model="gemini-2.0-flash", contents="hi")
        expected = (
            "/v1/forward/https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent"
        )
    assert seen == [expected, TOKEN]


def test_google_genai_cannot_use_a_query_style_base_url() -> None:
    """Why ``google`` gets the path form: with ``?u=`` google-genai puts its path
    before the query, and when streaming produces ``?alt=sse?u=...``."""
    from google import genai
    from google.genai import types

    seen: list[str] = []
    client = genai.Client(
        api_key=TOKEN,
        http_options=types.HttpOptions(
            base_url=f"{BASE}forward?u=https://generativelanguage.googleapis.com",
            api_version="v1beta",
            httpx_client=httpx.Client(transport=httpx.MockTransport(_recording(seen, {}))),
        ),
    )
    list(client.models.generate_content_stream(model="gemini-2.0-flash", contents="hi"))
    assert seen[0] == (
        "/v1/forward/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse?u=https://generativelanguage.googleapis.com"
    )

"""The recorded samples the rewrite tests use, and the dialects that meter each format.

The samples are the repository's recorded corpus (``tests/data/provider-samples``): every
OpenAI Chat Completions, Anthropic Messages and Gemini exchange with the providers' own hosts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lava_server.gateway.dialects import Dialect, select_dialect
from lava_server.gateway.providers import Provider, provider_for_host
from lava_server.gateway.rewrite import Format
from lava_server.gateway.sse import SseParser
from lava_server.gateway.usage import Metered

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "provider-samples"
PROVIDERS = ("openai", "anthropic", "google")
API_FORMAT: dict[str, Format] = {
    "openai.chat_completions": "openai",
    "anthropic.messages": "anthropic",
    "google.generate_content": "google",
    "google.stream_generate_content": "google",
}
ENDPOINTS: dict[Format, tuple[str, str]] = {
    "openai": ("api.openai.com", "/v1/chat/completions"),
    "anthropic": ("api.anthropic.com", "/v1/messages"),
    "google": ("generativelanguage.googleapis.com", "/v1beta/models/gemini-2.5-flash:generateContent"),
}


def rows() -> list[dict[str, Any]]:
    """The chat-family samples of the three providers (73 rows)."""
    lines = (SAMPLES / "manifest.jsonl").read_text().splitlines()
    every = [json.loads(line) for line in lines if line.strip()]
    return [r for r in every if r["api"] in API_FORMAT and r["provider"] in PROVIDERS]


def body_of(row: dict[str, Any]) -> bytes:
    return (SAMPLES / row["response_file"]).read_bytes()


def request_of(row: dict[str, Any]) -> dict[str, Any] | None:
    return json.loads((SAMPLES / row["request_file"]).read_text()) if row["request_file"] else None


def is_sse(row: dict[str, Any]) -> bool:
    return str(row["content_type"]).startswith("text/event-stream")


def dialect_of(fmt: Format) -> tuple[Dialect, Provider]:
    host, path = ENDPOINTS[fmt]
    provider = provider_for_host(host)
    assert provider is not None
    dialect = select_dialect(provider, "POST", path)
    assert dialect is not None
    return dialect, provider


def meter(fmt: Format, body: bytes, *, stream: bool) -> Metered:
    """Meter ``body`` (a JSON response or an SSE stream) as ``fmt``'s own dialect would."""
    dialect, provider = dialect_of(fmt)
    ctype = "text/event-stream" if stream else "application/json"
    return dialect.meter_body(200, ctype, body, None, provider)


def upstream_events(row: dict[str, Any], body: bytes) -> list[tuple[str | None, str]]:
    """The upstream stream as (event name, data) pairs; a Gemini JSON array becomes one pair per element."""
    if is_sse(row):
        parser = SseParser()
        return [(e.event, e.data.decode()) for e in (*parser.feed(body), *parser.flush())]
    return [(None, json.dumps(element)) for element in json.loads(body)]

"""Shared plumbing for the fake upstreams: per-app state, JSON, magic models, streaming.

Nothing in here is provider specific except the small table of magic model names.
All mutable state lives on the ``web.Application`` (``STATE`` key), never at module level.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import re
import socket
import struct
import time
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

# --------------------------------------------------------------------------------------------
# Per-app state
# --------------------------------------------------------------------------------------------

HISTORY_LIMIT = 1000


@dataclass
class FakeState:
    """Everything mutable a fake app owns. One instance per ``web.Application``."""

    latency_s: float = 0.0
    api_key_prefix: str = ""
    require_anthropic_version: bool = True
    requests: int = 0
    by_path: Counter[str] = field(default_factory=Counter)
    history: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=HISTORY_LIMIT))
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_id(self) -> int:
        return next(self.ids)

    def reset(self) -> None:
        self.requests = 0
        self.by_path.clear()
        self.history.clear()
        self.ids = itertools.count(1)


STATE: web.AppKey[FakeState] = web.AppKey("lava_fake_state", FakeState)


def state_of(request: web.Request) -> FakeState:
    return request.app[STATE]


def key_is_valid(state: FakeState, key: str | None) -> bool:
    """Any non-empty key starting with the configured prefix, except the literal ``bad-key``."""
    return key is not None and key not in ("", "bad-key") and key.startswith(state.api_key_prefix)


def bearer_token(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return None


# --------------------------------------------------------------------------------------------
# JSON helpers
# --------------------------------------------------------------------------------------------


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def json_response(
    obj: Any, *, status: int = 200, headers: Mapping[str, str] | None = None, content_type: str | None = None
) -> web.Response:
    hdrs = {"Content-Type": content_type or "application/json"}
    if headers:
        hdrs.update(headers)
    return web.Response(body=dumps(obj), status=status, headers=hdrs)


async def read_json(request: web.Request) -> dict[str, Any] | None:
    """The request body as a JSON object, or ``None`` when it is not one."""
    raw = await request.read()
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


# --------------------------------------------------------------------------------------------
# Magic model names
# --------------------------------------------------------------------------------------------

STREAM_MAGIC = frozenset({"reset-midstream", "slow-stream", "no-usage-stream", "error-event-stream"})
_ERROR_RE = re.compile(r"^error-(\d{3})(?:-(\w+))?$")


@dataclass(frozen=True)
class Magic:
    """What a request's model name asks the fake to do."""

    name: str | None = None  # one of STREAM_MAGIC, "redirect-302", or None
    error_status: int | None = None  # for ``error-<status>[-<variant>]``
    error_variant: str | None = None  # e.g. "quota" in "error-429-quota", "html" in "error-502-html"


def magic_of(model: object) -> Magic:
    """Parse a model name. ``openai/error-429`` and ``models/error-429`` work too."""
    if not isinstance(model, str):
        return Magic()
    base = model.rsplit("/", 1)[-1]
    m = _ERROR_RE.match(base)
    if m and 400 <= int(m.group(1)) <= 599:
        return Magic(error_status=int(m.group(1)), error_variant=m.group(2))
    if base in STREAM_MAGIC or base == "redirect-302":
        return Magic(name=base)
    return Magic()


def html_error(status: int) -> web.Response:
    """What a misbehaving edge proxy returns: an HTML page, not the provider's JSON."""
    reason = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}.get(status, "Error")
    body = f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n"
    return web.Response(body=body.encode(), status=status, headers={"Content-Type": "text/html"})


def redirect_response() -> web.Response:
    return web.Response(status=302, headers={"Location": "/_fake/redirect-target"})


# --------------------------------------------------------------------------------------------
# Deterministic text and values
# --------------------------------------------------------------------------------------------

_LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua."
).split()


def lorem_words(n: int, offset: int = 0) -> list[str]:
    return [_LOREM[(i + offset) % len(_LOREM)] for i in range(n)]


def token_id(prefix: str, n: int, width: int = 24) -> str:
    """A provider-looking id that depends only on ``prefix`` and the per-app counter ``n``."""
    digest = hashlib.sha256(f"{prefix}{n}".encode()).hexdigest()
    return prefix + digest[:width]


def obfuscation(i: int) -> str:
    """OpenAI pads stream events with a random ``obfuscation`` string; ours is deterministic."""
    return "aB3xQ9zK7mWp2Lr"[: 2 + (i * 7) % 12]


def sample_value(schema: Any) -> Any:
    """A deterministic value conforming (loosely) to a JSON schema / Gemini OpenAPI schema."""
    if not isinstance(schema, Mapping):
        return "fake"
    if schema.get("enum"):
        return schema["enum"][0]
    for combo in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(combo), list) and schema[combo]:
            return sample_value(schema[combo][0])
    typ = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(typ, list):
        typ = next((t for t in typ if t != "null"), "null")
    typ = str(typ).lower()
    if typ == "object":
        props = schema.get("properties") or {}
        return {k: sample_value(v) for k, v in props.items()} if isinstance(props, Mapping) else {}
    if typ == "array":
        return [sample_value(schema.get("items"))]
    return {"integer": 42, "number": 1.5, "boolean": True, "null": None}.get(typ, "fake")


# --------------------------------------------------------------------------------------------
# Streaming with pacing / resets
# --------------------------------------------------------------------------------------------

DEFAULT_SLOW_DELAY_MS = 100.0
DEFAULT_RESET_AFTER = 3


def header_float(request: web.Request, header: str, query: str, default: float) -> float:
    raw = request.headers.get(header) or request.query.get(query)
    try:
        return float(raw) if raw is not None else default
    except ValueError:
        return default


def abort_connection(request: web.Request) -> None:
    """Abort the TCP connection with an RST (SO_LINGER 0), like a crashed upstream."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()


async def send_stream(
    request: web.Request,
    frames: Iterable[bytes],
    *,
    content_type: str,
    headers: Mapping[str, str] | None = None,
    magic: Magic | None = None,
    status: int = 200,
) -> web.StreamResponse:
    """Write ``frames`` one by one as a chunked response, honouring the stream magic models.

    - ``slow-stream``: sleep ``x-fake-chunk-delay-ms`` header / ``delay_ms`` query (default 100) ms
      before each frame after the first. Any other model is paced too when that header/query is
      given explicitly (realistic token pacing for benchmarks).
    - ``reset-midstream``: after ``x-fake-reset-after`` (default 3, at most all but the last)
      frames, RST the connection.
    """
    resp = web.StreamResponse(status=status)
    resp.headers["Content-Type"] = content_type
    resp.headers["Cache-Control"] = "no-cache"
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    name = magic.name if magic else None
    default_delay = DEFAULT_SLOW_DELAY_MS if name == "slow-stream" else 0.0
    delay = header_float(request, "x-fake-chunk-delay-ms", "delay_ms", default_delay) / 1000
    frames = list(frames)
    reset_after = int(header_float(request, "x-fake-reset-after", "reset_after", DEFAULT_RESET_AFTER))
    reset_after = max(0, min(reset_after, len(frames) - 1))  # always withhold at least one frame
    for i, frame in enumerate(frames):
        if name == "reset-midstream" and i >= reset_after:
            await asyncio.sleep(0.01)  # let the frames already written reach the client
            abort_connection(request)
            raise asyncio.CancelledError  # nothing more to do on a dead socket
        if delay > 0 and i > 0:
            await asyncio.sleep(delay)
        await resp.write(frame)
    await resp.write_eof()
    return resp


async def send_truncated_body(request: web.Request, body: bytes, content_type: str) -> web.StreamResponse:
    """Non-stream ``reset-midstream``: promise the whole body, send half, then RST."""
    resp = web.StreamResponse(status=200)
    resp.headers["Content-Type"] = content_type
    resp.content_length = len(body)
    await resp.prepare(request)
    await resp.write(body[: len(body) // 2])
    await asyncio.sleep(0.01)
    abort_connection(request)
    raise asyncio.CancelledError


def sse(data: Any, event: str | None = None, *, eol: str = "\n", pad: int = 0) -> bytes:
    """One SSE frame. ``data`` may be bytes/str (sent verbatim) or a JSON-able object."""
    if isinstance(data, bytes):
        payload = data
    elif isinstance(data, str):
        payload = data.encode()
    else:
        payload = dumps(data)
    if pad:
        payload += b" " * pad
    head = f"event: {event}{eol}".encode() if event else b""
    return head + b"data: " + payload + (eol + eol).encode()


def now() -> int:
    return int(time.time())

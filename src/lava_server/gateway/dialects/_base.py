"""The dialect contract and the small JSON helpers every dialect shares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from ...errors import invalid_request
from ..providers import Provider
from ..sse import SseEvent, SseParser
from ..usage import MAX_COUNT, Metered

__all__ = [
    "MAX_CHOICES",
    "UNCHANGED",
    "Dialect",
    "JsonDialect",
    "JsonObj",
    "NullStreamMeter",
    "OutputBound",
    "PrepareResult",
    "StreamMeter",
    "as_int",
    "as_str",
    "dig",
    "error_metered",
    "first_int",
    "inband_error",
    "is_sse_content",
    "load_json",
    "meter_sse_body",
    "no_usage",
    "read_output_bound",
]

JsonObj = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class PrepareResult:
    body: dict[str, Any] | None
    """The request body to send instead of the client's, or None to send it unchanged."""
    strip_usage_chunk: bool = False
    """The gateway asked for a usage-only chunk the client did not; the stream meter drops it."""


UNCHANGED = PrepareResult(body=None, strip_usage_chunk=False)

MAX_CHOICES = 128
"""The most output choices (``n``, ``best_of``, ``candidateCount``) a request may ask for."""

KeyPath = tuple[str, ...]
# Where clients cap output, per choice (whatever the API calls it) …
OUTPUT_CAP_PATHS: tuple[KeyPath, ...] = (
    ("max_tokens",),
    ("max_completion_tokens",),
    ("max_output_tokens",),
    ("generationConfig", "maxOutputTokens"),
)
# … and how many outputs they ask for: the provider bills every one of them.
OUTPUT_MULTIPLIER_PATHS: tuple[KeyPath, ...] = (
    ("n",),
    ("best_of",),
    ("generationConfig", "candidateCount"),
)


@dataclass(frozen=True, slots=True)
class OutputBound:
    """The most output a request can produce: ``max_tokens`` per choice (None = no cap given)
    times ``choices`` (OpenAI ``n``/``best_of``, Gemini ``candidateCount``)."""

    max_tokens: int | None = None
    choices: int = 1


def read_output_bound(body: JsonObj | None) -> OutputBound:
    """The output cap and multiplier a JSON request asks for, validated.

    Every cap must be a whole number in ``[0, MAX_COUNT]`` (0 and ``null`` mean "not set") and
    every multiplier a whole number in ``[1, MAX_CHOICES]``; anything else (``1e308``, ``-1``,
    ``"8"``, ``true``) raises :class:`~lava_server.errors.ApiError` 400 ``invalid_request``
    before anything is held or sent upstream. The largest cap and multiplier found win.
    """
    if not body:
        return OutputBound()
    caps = [_whole(body, path, 0, MAX_COUNT) for path in OUTPUT_CAP_PATHS]
    choices = [_whole(body, path, 1, MAX_CHOICES) for path in OUTPUT_MULTIPLIER_PATHS]
    cap = max((c for c in caps if c), default=None)
    return OutputBound(cap, max((c for c in choices if c is not None), default=1))


def _whole(body: JsonObj, path: KeyPath, low: int, high: int) -> int | None:
    value = dig(body, path)
    if value is None:
        return None
    number = as_int(value)
    if number is None or not low <= number <= high:
        name = ".".join(path)
        raise invalid_request(f"{name} must be a whole number from {low} to {high}, got {str(value)[:40]}")
    return number


class StreamMeter(Protocol):
    def feed(self, event: SseEvent) -> bool:
        """Consume one event; False means "do not relay it" (only an injected usage chunk)."""
        ...

    def finish(self) -> Metered:
        """Called once at end of stream."""
        ...


class Dialect(Protocol):
    @property
    def name(self) -> str:
        """Stable identifier, e.g. ``"openai.chat_completions"``."""
        ...

    @property
    def billable(self) -> bool:
        """False for token-count endpoints: never metered as consumption."""
        ...

    @property
    def needs_response_body(self) -> bool:
        """False when metering uses the request alone (TTS audio); the proxy may pass ``b""``."""
        ...

    def request_model(self, path: str, body: JsonObj | None) -> str | None:
        """The model asked for: body ``model``, the URL for Gemini, ``model_id`` for ElevenLabs."""
        ...

    def wants_stream(self, path: str, query: str, body: JsonObj | None) -> bool:
        """Whether the client asked for a streamed response.

        The response's content type decides how it is metered: ``text/event-stream`` goes
        through :meth:`stream_meter`, anything else through :meth:`meter_body` (Gemini's
        ``:streamGenerateContent`` without ``alt=sse`` answers with one JSON array).
        """
        ...

    def prepare(self, body: dict[str, Any], stream: bool) -> PrepareResult:
        """The request body to send upstream; never mutates ``body``."""
        ...

    def output_bound(self, body: JsonObj | None) -> OutputBound:
        """The most output the request can make (cap per choice × choices), validated; the
        worst-case hold is sized from it. Raises ``ApiError`` 400 for out-of-range values."""
        ...

    def meter_body(
        self,
        status: int,
        content_type: str,
        body: bytes,
        request_body: JsonObj | None,
        provider: Provider,
    ) -> Metered:
        """Meter a whole response: JSON, a Gemini JSON array, or a buffered SSE body.

        Non-2xx statuses give ``Metered(usage=None, error="HTTP <status>: ...")``.
        """
        ...

    def stream_meter(self, provider: Provider, request_body: JsonObj | None, strip_usage_chunk: bool) -> StreamMeter:
        """A fresh meter for one ``text/event-stream`` response; constant memory."""
        ...


# -- JSON helpers --------------------------------------------------------------------------


def load_json(data: bytes) -> Any:
    """Parse JSON, or None if ``data`` is not valid JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


def as_int(value: Any) -> int | None:
    """An integer count, accepting integral floats (``12.0``); anything else is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def dig(obj: Any, path: tuple[str, ...]) -> Any:
    """``obj[path[0]][path[1]]...``, or None where a step is missing or not an object."""
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def first_int(obj: Any, paths: tuple[tuple[str, ...], ...]) -> int | None:
    for path in paths:
        value = as_int(dig(obj, path))
        if value is not None:
            return value
    return None


def is_sse_content(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "text/event-stream"


# -- errors --------------------------------------------------------------------------------


def inband_error(obj: Any) -> str | None:
    """The message of an error object carried in a 2xx body or stream event, if any.

    Recognises ``{"error": {...}}`` (OpenAI, Groq, OpenRouter, Gemini), ``{"error": "..."}``
    and Anthropic's ``{"type": "error", "error": {...}}``.
    """
    if not isinstance(obj, Mapping):
        return None
    err = obj.get("error")
    if isinstance(err, Mapping) and err:
        message = as_str(err.get("message"))
        kind = as_str(err.get("type")) or as_str(err.get("code")) or as_str(err.get("status"))
        if message and kind:
            return f"{kind}: {message}"
        return message or kind or "error"
    if isinstance(err, str) and err:
        return err
    return None


def _error_text(status: int, body: bytes) -> str:
    obj = load_json(body)
    message = inband_error(obj)
    if message is None and isinstance(obj, Mapping):
        message = as_str(obj.get("message")) or as_str(obj.get("detail"))
    return f"HTTP {status}: {message}" if message else f"HTTP {status}"


def error_metered(status: int, body: bytes) -> Metered:
    """Non-2xx: nothing is billable (docs/usage-notes.md: "Errors ... never carry usage")."""
    return Metered(usage=None, reported=None, model=None, response_id=None, error=_error_text(status, body))


def meter_sse_body(dialect: Dialect, body: bytes, request_body: JsonObj | None, provider: Provider) -> Metered:
    """Meter a fully buffered ``text/event-stream`` body with the dialect's stream meter."""
    meter = dialect.stream_meter(provider, request_body, strip_usage_chunk=False)
    parser = SseParser()
    for event in (*parser.feed(body), *parser.flush()):
        meter.feed(event)
    return meter.finish()


class JsonDialect:
    """Defaults shared by JSON request dialects: ``model`` and ``stream`` from the body."""

    __slots__ = ()
    name: str = ""
    billable: bool = True
    needs_response_body: bool = True

    def request_model(self, path: str, body: JsonObj | None) -> str | None:
        return as_str(body.get("model")) if body is not None else None

    def wants_stream(self, path: str, query: str, body: JsonObj | None) -> bool:
        return body is not None and body.get("stream") is True

    def prepare(self, body: dict[str, Any], stream: bool) -> PrepareResult:
        return UNCHANGED

    def output_bound(self, body: JsonObj | None) -> OutputBound:
        return read_output_bound(body)


class NullStreamMeter:
    """A meter for endpoints that do not stream billable usage: relays everything."""

    __slots__ = ("_metered",)

    def __init__(self, metered: Metered) -> None:
        self._metered = metered

    def feed(self, event: SseEvent) -> bool:
        return True

    def finish(self) -> Metered:
        return self._metered


def no_usage(model: str | None = None, response_id: str | None = None, error: str | None = None) -> Metered:
    return Metered(usage=None, reported=None, model=model, response_id=response_id, error=error)

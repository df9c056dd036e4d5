"""The one interface every format implements, and the error a translation raises.

A :class:`Codec` knows one wire format in both roles: as the *client* format (decode the
request, encode the response, the stream and errors) and as the *provider* format (encode
the request, decode the response, the stream and errors). Stream encoders and decoders are
small state machines fed one event at a time; they keep per-block state only, never the
whole answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from .ir import ChatRequest, ChatResponse, StreamEvent, TokenUsage, UpstreamError

__all__ = [
    "ClientRoute",
    "Codec",
    "Format",
    "ProviderRoute",
    "StreamDecoder",
    "StreamEncoder",
    "Untranslatable",
    "check_keys",
    "list_of",
    "schema_of",
]

Format = Literal["openai", "anthropic", "google", "bedrock"]


class Untranslatable(Exception):
    """The request uses ``feature``, which the target format cannot express.

    The handler answers 400 ``untranslatable_request`` naming the feature, before anything
    is sent upstream.
    """

    def __init__(self, feature: str, detail: str = "") -> None:
        super().__init__(feature)
        self.feature = feature
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.feature}: {self.detail}" if self.detail else self.feature


@dataclass(frozen=True, slots=True)
class ClientRoute:
    """What the client's URL says beyond its body (Gemini and Bedrock put the model and the
    streaming flag in the path)."""

    model: str | None = None
    stream: bool = False
    sse: bool = True
    """For Gemini streams: ``alt=sse`` (SSE) rather than one JSON array."""


@dataclass(frozen=True, slots=True)
class ProviderRoute:
    """Where the translated request goes: the provider's path (with query) and its slug."""

    path: str
    query: str
    provider: str


class StreamDecoder(Protocol):
    """Provider stream → neutral events, one SSE event (its ``data`` text) at a time."""

    def feed(self, event_name: str | None, data: str) -> list[StreamEvent]:
        """Events for one upstream SSE event (or one JSON element of a Gemini array)."""
        ...

    def finish(self) -> list[StreamEvent]:
        """Events owed at the end of the upstream stream (blocks still open are closed)."""
        ...


class StreamEncoder(Protocol):
    """Neutral events → the client's stream bytes."""

    content_type: str

    def feed(self, event: StreamEvent) -> bytes:
        """Bytes for one event (possibly empty)."""
        ...

    def finish(self) -> bytes:
        """The closing bytes: the final usage event and the format's terminator, exactly once."""
        ...


class Codec(Protocol):
    """One wire format (chat family), as client and as provider."""

    @property
    def format(self) -> Format:
        """The format's name in the URL."""
        ...

    # client side
    def decode_request(self, body: Mapping[str, Any], route: ClientRoute) -> ChatRequest:
        """The client's request, or :class:`Untranslatable` for a feature not in :mod:`.ir`."""
        ...

    def encode_response(self, response: ChatResponse, route: ClientRoute) -> dict[str, Any]:
        """The client-format response body (usage in the client's own fields)."""
        ...

    def stream_encoder(self, request: ChatRequest, route: ClientRoute) -> StreamEncoder:
        """A fresh encoder for one client stream."""
        ...

    def encode_error(self, error: UpstreamError) -> tuple[int, dict[str, Any]]:
        """(status, body) in the client format's error shape."""
        ...

    def usage_fields(self, usage: TokenUsage) -> dict[str, Any]:
        """``usage`` in this format's usage object."""
        ...

    # provider side
    def provider_route(self, request: ChatRequest, path: str, query: str, provider: str) -> ProviderRoute:
        """The endpoint to call on ``provider`` (a slug), given the provider URL's path: a base or a full endpoint."""
        ...

    def encode_request(self, request: ChatRequest, route: ProviderRoute) -> dict[str, Any]:
        """The provider-format request body, or :class:`Untranslatable`."""
        ...

    def decode_response(self, body: Mapping[str, Any]) -> ChatResponse:
        """The provider's (2xx) response."""
        ...

    def stream_decoder(self) -> StreamDecoder:
        """A fresh decoder for one provider stream."""
        ...

    def decode_error(self, status: int, body: bytes) -> UpstreamError:
        """A provider's non-2xx answer (any body, even non-JSON)."""
        ...


def check_keys(body: Mapping[str, Any], handled: frozenset[str], ignored: frozenset[str], where: str = "") -> None:
    """Refuse any key that is neither translated nor known to be safe to leave out.

    ``ignored`` keys do not change the answer (``user``, ``metadata``, ...); anything else
    unknown is a feature we would silently drop, so it is :class:`Untranslatable`.
    """
    if not isinstance(body, Mapping):
        raise Untranslatable(where.rstrip(".") or "body", "must be an object")
    for key, value in body.items():
        if key in handled or key in ignored or value is None:
            continue
        raise Untranslatable(f"{where}{key}", "this field has no translation to the target format")


def list_of(value: Any, where: str) -> list[Any]:
    """``value`` as a list (``None`` is empty), or :class:`Untranslatable` naming ``where``."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise Untranslatable(where, "must be a list")
    return value


def schema_of(value: Any, where: str) -> dict[str, Any]:
    """A JSON Schema object (``None`` is the empty schema), or :class:`Untranslatable` naming ``where``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise Untranslatable(where, "must be a JSON Schema object")
    return dict(value)

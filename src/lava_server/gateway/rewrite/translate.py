"""A client format and a provider format put together: one :class:`Translation` per call.

Everything here is pure: bytes and JSON in, bytes and JSON out. The gateway's relay and
metering call it; it never sees a socket or a price.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .base import ClientRoute, Codec, ProviderRoute, StreamDecoder, StreamEncoder, Untranslatable
from .common import dumps
from .ir import ChatRequest, StreamError, StreamEvent, TokenUsage, UsageUpdate

__all__ = ["PreparedRequest", "StreamTranslator", "Translation"]


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """The translated request: what to send where, and the neutral form it came from."""

    request: ChatRequest
    route: ProviderRoute
    body: dict[str, Any]

    @property
    def body_bytes(self) -> bytes:
        return dumps(self.body)


class StreamTranslator:
    """Upstream SSE events in, client stream bytes out; constant memory per open block.

    ``usage`` is the last usage the upstream reported (what the client's final usage event
    carries).
    """

    def __init__(self, decoder: StreamDecoder, encoder: StreamEncoder) -> None:
        self._decoder = decoder
        self._encoder = encoder
        self.content_type = encoder.content_type
        self.usage: TokenUsage | None = None
        self._finished = False
        self._broken = False

    def _encode(self, events: list[StreamEvent]) -> bytes:
        out = bytearray()
        for event in events:
            if isinstance(event, UsageUpdate):
                self.usage = event.usage
            out += self._encoder.feed(event)
        return bytes(out)

    def feed(self, event_name: str | None, data: str) -> bytes:
        """Client bytes for one upstream event (``data`` is the SSE event's data text).

        An event of a shape no decoder foresaw ends the client's stream with its format's error
        event (billing still meters the upstream's own bytes).
        """
        if self._broken:
            return b""
        try:
            return self._encode(self._decoder.feed(event_name, data))
        except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
            self._broken = True
            return self._encoder.feed(StreamError("server", f"the provider's stream could not be translated ({exc})"))

    def finish(self) -> bytes:
        """The closing bytes, once; later calls return nothing."""
        if self._finished:
            return b""
        self._finished = True
        tail = b"" if self._broken else self._encode(self._decoder.finish())
        return tail + self._encoder.finish()


@dataclass(frozen=True, slots=True)
class Translation:
    """Requests from ``client`` to ``provider``; responses, streams and errors back."""

    client: Codec
    provider: Codec

    def request(
        self, body: Mapping[str, Any], route: ClientRoute, path: str, query: str, provider_slug: str
    ) -> PreparedRequest:
        """Decode, check and re-encode; raises :class:`~.base.Untranslatable` before anything is sent."""
        try:
            request = self.client.decode_request(body, route)
            if request.stream and request.n not in (None, 1):
                raise Untranslatable("n", "several choices are translated only without streaming")
            target = self.provider.provider_route(request, path, query, provider_slug)
            prepared = PreparedRequest(request, target, self.provider.encode_request(request, target))
            _ = prepared.body_bytes  # serialisable, or refused here rather than failing later
            return prepared
        except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
            # A value of a shape no check above foresaw: still the client's malformed request.
            raise Untranslatable(
                "body", f"a field has a shape the {self.client.format} format does not allow ({exc})"
            ) from exc

    def response(self, body: Mapping[str, Any], prepared: PreparedRequest, route: ClientRoute) -> dict[str, Any]:
        """The provider's 2xx JSON body in the client's format (``ValueError`` if it cannot be read)."""
        try:
            return self.client.encode_response(self.provider.decode_response(body), route)
        except (TypeError, AttributeError, KeyError, IndexError) as exc:
            raise ValueError(f"the provider's answer could not be translated ({exc})") from exc

    def error(self, status: int, body: bytes) -> tuple[int, dict[str, Any]]:
        """The provider's error in the client's error shape, status kept."""
        return self.client.encode_error(self.provider.decode_error(status, body))

    def stream(self, prepared: PreparedRequest, route: ClientRoute) -> StreamTranslator:
        return StreamTranslator(self.provider.stream_decoder(), self.client.stream_encoder(prepared.request, route))

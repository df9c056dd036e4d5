"""``POST /v1/rewrite/{format}/{providerUrl}``: the forward lifecycle with translation around it.

The only module of :mod:`lava_server.gateway.rewrite` that touches HTTP. It reuses the
forward handler's steps, so auth, holds, metering and settlement are exactly forward's:

1. parse the URL (:mod:`.urls`) and resolve the provider target like ``u=`` (allowlist,
   upstream map, ``key=``/``metadata=``);
2. :meth:`ForwardHandler.authorize` (every token form, spend keys, provider keys);
3. read and translate the body; an untranslatable request is refused with 400
   ``untranslatable_request`` before any record or upstream call;
4. :meth:`ForwardHandler.dispatch` with the *translated* body (the hold is computed from
   it, the provider's dialect meters the provider's own answer) and a
   :class:`RewriteCall` that rewrites the answer into the client's format.

The same format on both sides is a plain forward (no translation), recorded with its
``client_format``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

from ...errors import ApiError
from ..dialects import StreamMeter
from ..proxy import Authorized, ForwardHandler, _with_capabilities
from ..relay import Sink
from ..request_fields import json_object, request_fields
from ..sse import SseEvent, SseParser
from ..targets import Target, resolve_target
from ..usage import Metered
from . import FORMATS, ClientRoute, Format, PreparedRequest, StreamTranslator, Translation, Untranslatable, translation
from .common import dumps, loads_object
from .ir import UpstreamError
from .urls import RewritePath, parse_rewrite_path

__all__ = ["PREFIX", "RewriteCall", "RewriteHandler", "TranslatingSink"]

PREFIX: Final = "/v1/rewrite/"
_ANTHROPIC_VERSION: Final = "2023-06-01"
_RESERVED: Final = ("key=", "metadata=")


def untranslatable(exc: Untranslatable) -> ApiError:
    """400 ``untranslatable_request``; the message names the feature (reason ``unsupported_by_target``)."""
    detail = f": {exc.detail}" if exc.detail else ""
    return ApiError(
        400,
        "untranslatable_request",
        f"unsupported_by_target: {exc.feature}{detail}; nothing was sent upstream",
    )


class TranslatingSink:
    """A relay :class:`~lava_server.gateway.relay.Sink` for a translated SSE answer.

    Every upstream event goes through the provider dialect's meter (billing reads the upstream's
    own usage) and through the translator; the client gets only the translated bytes. The
    translator's closing bytes (the final usage event and the format's terminator) are
    :attr:`held` until the call is concluded, as the forward relay holds OpenAI's ``[DONE]``.
    The last fragment of an oversized event carries only its skeleton (strings over 16 KiB
    elided, usage kept): that skeleton is what gets translated.
    """

    def __init__(self, meter: StreamMeter, translator: StreamTranslator) -> None:
        self._parser = SseParser()
        self._meter = meter
        self._translator = translator
        self.events = 0
        self.body_bytes = 0
        self.held = b""

    def _translate(self, events: list[SseEvent]) -> bytes:
        out = bytearray()
        for ev in events:
            self._meter.feed(ev)
            if ev.data:
                out += self._translator.feed(ev.event, ev.data.decode("utf-8", "replace"))
        self.events += len(events)
        return bytes(out)

    def feed(self, chunk: bytes) -> bytes:
        return self._translate(self._parser.feed(chunk))

    def overflow(self) -> str | None:
        return None

    def flush(self) -> bytes:
        tail = self._translate(self._parser.flush())
        self.held = self._translator.finish()
        return tail

    def finish(self) -> Metered:
        return self._meter.finish()


@dataclass(frozen=True, slots=True)
class RewriteCall:
    """The :class:`~lava_server.gateway.call.ResponseRewrite` of one translated call."""

    translation: Translation
    prepared: PreparedRequest
    route: ClientRoute

    def upstream_headers(self, auth_header: tuple[str, str]) -> Mapping[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if self.prepared.request.stream else "application/json",
            auth_header[0]: auth_header[1],
        }
        if self.translation.provider.format == "anthropic":
            headers["anthropic-version"] = _ANTHROPIC_VERSION
        return headers

    def body(self, status: int, content_type: str, body: bytes) -> tuple[int, bytes, str]:
        if not 200 <= status < 300:
            status, error = self.translation.error(status, body)
            return status, dumps(error), "application/json"
        obj = loads_object(body)
        try:
            if obj is None:
                raise ValueError("the provider's answer was not a JSON object")
            answer = self.translation.response(obj, self.prepared, self.route)
        except ValueError as exc:
            status, error = self.translation.client.encode_error(UpstreamError(502, "server", str(exc)))
            return status, dumps(error), "application/json"
        return status, dumps(answer), "application/json"

    @property
    def stream_content_type(self) -> str:
        return self.translation.client.stream_encoder(self.prepared.request, self.route).content_type

    def sink(self, meter: StreamMeter) -> Sink:
        return TranslatingSink(meter, self.translation.stream(self.prepared, self.route))


def _split_query(raw_query: str) -> tuple[list[str], list[str]]:
    """(our reserved parameters, the others) of the raw query string."""
    parts = [p for p in raw_query.split("&") if p]
    reserved = [p for p in parts if p.startswith(_RESERVED)]
    return reserved, [p for p in parts if not p.startswith(_RESERVED)]


class RewriteHandler:
    """Serves ``/v1/rewrite/{format}/{providerUrl}`` through the forward handler's lifecycle."""

    def __init__(self, forward: ForwardHandler) -> None:
        self.forward = forward

    def _target(self, path: str, raw_query: str) -> Target:
        settings = self.forward.gw.settings
        target = resolve_target(
            raw_query,
            upstream_map=settings.upstream_map,
            extra_hosts=settings.extra_upstream_hosts,
            raw_suffix=path,
        )
        return _with_capabilities(target, settings.no_stream_usage_option_hosts)

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        fmt = request.match_info.get("format", "")
        if fmt not in FORMATS:
            raise ApiError(404, "not_found", f"unknown rewrite format {fmt!r}; one of {', '.join(FORMATS)}")
        client: Format = fmt  # type: ignore[assignment]
        raw_path = request.rel_url.raw_path
        prefix = f"{PREFIX}{fmt}/"
        raw = raw_path[len(prefix) :] if raw_path.startswith(prefix) else ""
        raw_query = request.rel_url.raw_query_string
        try:
            where = parse_rewrite_path(client, raw, raw_query)
        except ValueError as exc:
            raise ApiError(400, "invalid_forward_target", str(exc)) from None
        if where.provider == "bedrock":
            raise ApiError(403, "provider_not_configured", "this gateway holds no AWS credentials for Bedrock")
        reserved, others = _split_query(raw_query)
        same = where.provider == client
        # A cross-format call's own query parameters (Gemini's alt=sse) are the client's.
        query = raw_query if same else "&".join(reserved + [p for p in others if not p.startswith("alt=")])
        target = self._target(where.url, query)
        who = await self.forward.authorize(request, target)
        body = await self.forward.read_body(request)
        content_type = request.headers.get("Content-Type", "")
        if same:
            fields = request_fields(body, content_type, target.query)
            return await self.forward.dispatch(request, target, who, body, fields, client_format=client)
        body_json = json_object(body, content_type)
        if body_json is None:
            raise ApiError(400, "invalid_request", f"a {client} request body must be a JSON object")
        return await self._translated(request, client, where, target, who, body_json, reserved)

    async def _translated(
        self,
        request: web.Request,
        client: Format,
        where: RewritePath,
        target: Target,
        who: Authorized,
        body_json: dict[str, Any],
        reserved: list[str],
    ) -> web.StreamResponse:
        pair = translation(client, where.provider)
        try:
            prepared = pair.request(body_json, where.client, target.path, target.query, target.provider.slug)
        except Untranslatable as exc:
            raise untranslatable(exc) from None
        query = "&".join([*reserved, *([prepared.route.query] if prepared.route.query else [])])
        final = self._target(f"https://{where.host}{prepared.route.path}", query)
        if final.provider.accepts_stream_usage_option is False:  # the operator says this host refuses it
            prepared.body.pop("stream_options", None)
        call = RewriteCall(pair, prepared, where.client)
        return await self.forward.dispatch(
            request,
            final,
            who,
            prepared.body_bytes,
            prepared.body,
            rewrite=call,
            client_format=client,
        )

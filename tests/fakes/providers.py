"""One aiohttp app that fakes OpenAI, Anthropic and Google Gemini on a single port.

Endpoints
---------
OpenAI (auth ``Authorization: Bearer <key>``; point any OpenAI-compatible provider at ``{base}/v1``):
  ``POST /v1/chat/completions``, ``POST /v1/responses``, ``POST /v1/embeddings``,
  ``POST /v1/audio/transcriptions`` (multipart), ``POST /v1/audio/speech``, ``GET /v1/models[/{id}]``.
Anthropic (auth ``x-api-key`` or Bearer; ``anthropic-version`` header required like the real API):
  ``POST /v1/messages``, ``POST /v1/messages/count_tokens``, ``GET /v1/models`` (Anthropic-shaped
  when the request carries ``x-api-key``/``anthropic-version``).
Gemini (auth ``x-goog-api-key`` header or ``?key=``):
  ``POST /v1beta/models/{model}:generateContent``, ``:streamGenerateContent`` (``?alt=sse`` → SSE
  with ``\\r\\n\\r\\n``, otherwise one streamed JSON array), ``:countTokens``, ``GET /v1beta/models``.
  The same actions are served under ``/v1/models/...``: google-genai 3.x calls ``/v1/`` by default.
Controls: see :mod:`tests.fakes.controls` (``/_fake/stats``, ``/_fake/requests``, ``/_fake/reset``,
  ``/_fake/redirect``).

API keys
--------
Accepted: any non-empty key starting with ``api_key_prefix`` (default ``""``), except the literal
``bad-key``. Missing key → 401 (Gemini: 403 PERMISSION_DENIED); invalid → 401 ``invalid_api_key`` /
``authentication_error`` (Gemini: 400 INVALID_ARGUMENT ``API_KEY_INVALID``).

Magic model names (a ``provider/`` or ``models/`` prefix is ignored, so ``groq/error-429`` works)
-------------------------------------------------------------------------------------------------
``error-<status>``      the provider's exact error JSON with that HTTP status, e.g. ``error-400``,
                        ``error-401``, ``error-404``, ``error-429``, ``error-500``, ``error-503``,
                        ``error-529`` (Anthropic ``overloaded_error``).
``error-429-quota``     OpenAI ``insufficient_quota``.
``error-502-html``      an HTML error page (any status), like a misbehaving edge proxy.
``redirect-302``        302 to ``/_fake/redirect-target``.
``reset-midstream``     streams: send ``x-fake-reset-after`` (default 3) frames then TCP RST;
                        non-stream: send half of the promised Content-Length then RST.
``slow-stream``         sleep ``x-fake-chunk-delay-ms`` header / ``?delay_ms=`` (default 100) ms
                        between frames.
``no-usage-stream``     a stream that never reports usage (OpenAI ignores include_usage,
                        Anthropic omits ``usage``, Gemini omits ``usageMetadata``, Responses
                        completes with ``usage: null``).
``error-event-stream``  HTTP 200 stream that stops after two content deltas with an error event:
                        OpenAI chat Groq-style ``event: error`` + ``{"error": {...}}``, no ``[DONE]``;
                        Responses ``event: error``; Anthropic ``event: error`` overloaded_error;
                        Gemini ``data: {"error": {...}}``.

Per-request knobs (headers, so they survive a gateway that forwards client headers):
``x-fake-latency-ms`` (overrides ``latency_s``), ``x-fake-chunk-delay-ms`` (paces any stream, not
only ``slow-stream``), ``x-fake-reset-after``. Query-string equivalents: ``latency_ms``,
``delay_ms``, ``reset_after``.

Generated content and usage are deterministic: see :mod:`tests.fakes.usage` (``fake-words=N`` in
the prompt sets the output length; ``fake-cache=write`` turns Anthropic cache reads into writes).
"""

from __future__ import annotations

from aiohttp import web

from . import controls, fake_anthropic, fake_gemini, fake_openai, fake_openai_responses
from .common import STATE, FakeState


def make_fake_app(
    *,
    latency_s: float = 0.0,
    api_key_prefix: str = "",
    require_anthropic_version: bool = True,
) -> web.Application:
    """A fresh fake upstream app. Each app has its own counters (``app[STATE]``)."""
    app = web.Application(middlewares=[controls.recording_middleware], client_max_size=64 * 1024**2)
    app[STATE] = FakeState(
        latency_s=latency_s,
        api_key_prefix=api_key_prefix,
        require_anthropic_version=require_anthropic_version,
    )
    controls.add_routes(app)
    fake_openai.add_routes(app)
    fake_openai_responses.add_routes(app)
    fake_anthropic.add_routes(app)
    fake_gemini.add_routes(app)
    controls.add_fallback(app)
    return app


__all__ = ["STATE", "FakeState", "make_fake_app"]

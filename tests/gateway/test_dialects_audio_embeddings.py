"""Audio (transcription seconds, TTS characters), OpenAI embeddings, and ElevenLabs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal

from lava_server.gateway.dialects import (
    ELEVENLABS_TTS,
    OPENAI_EMBEDDINGS,
    OPENAI_SPEECH,
    OPENAI_TRANSCRIPTIONS,
    OPENAI_TRANSLATIONS,
    Dialect,
    select_dialect,
)
from lava_server.gateway.providers import Provider, provider_for_host
from lava_server.gateway.sse import SseParser
from lava_server.gateway.usage import Metered, ReportedUsage, Usage


def registered(host: str) -> Provider:
    found = provider_for_host(host)
    assert found is not None, host
    return found


OPENAI = registered("api.openai.com")
MISTRAL = registered("api.mistral.ai")
ELEVENLABS = registered("api.elevenlabs.io")
JSON = "application/json"


def test_routing() -> None:
    assert select_dialect(OPENAI, "POST", "/v1/audio/transcriptions") is OPENAI_TRANSCRIPTIONS
    assert select_dialect(OPENAI, "POST", "/v1/audio/translations") is OPENAI_TRANSLATIONS
    assert select_dialect(OPENAI, "POST", "/v1/audio/speech") is OPENAI_SPEECH
    assert select_dialect(OPENAI, "POST", "/v1/embeddings") is OPENAI_EMBEDDINGS
    assert select_dialect(MISTRAL, "POST", "/v1/audio/transcriptions") is OPENAI_TRANSCRIPTIONS
    for path in ("/v1/text-to-speech/voice1", "/v1/text-to-speech/voice1/stream"):
        assert select_dialect(ELEVENLABS, "POST", path) is ELEVENLABS_TTS
    assert select_dialect(ELEVENLABS, "POST", "/v1/chat/completions") is None
    assert select_dialect(OPENAI, "POST", "/v1/text-to-speech/voice1") is None


def test_whisper_duration_usage() -> None:
    body = b'{"text": "hi", "duration": 36.71, "usage": {"type": "duration", "seconds": 37}}'
    metered = OPENAI_TRANSCRIPTIONS.meter_body(200, JSON, body, {"model": "whisper-1"}, OPENAI)
    assert metered.reported == ReportedUsage()
    assert metered.usage == Usage(input_seconds=Decimal(37))


def test_verbose_json_duration_fallback() -> None:
    body = b'{"text": "hi", "duration": 36.709999084472656}'
    metered = OPENAI_TRANSLATIONS.meter_body(200, JSON, body, None, OPENAI)
    # the one usage value is billed to the millisecond (half-up), the record keeps the same value
    assert metered.usage is not None and metered.usage.input_seconds == Decimal("36.710")


def test_gpt4o_transcribe_token_usage() -> None:
    body = json.dumps(
        {
            "text": "hi",
            "usage": {
                "type": "tokens",
                "input_tokens": 14,
                "input_token_details": {"audio_tokens": 10, "text_tokens": 4},
                "output_tokens": 45,
                "total_tokens": 59,
            },
        }
    ).encode()
    metered = OPENAI_TRANSCRIPTIONS.meter_body(200, JSON, body, None, OPENAI)
    assert metered.reported == ReportedUsage(input_tokens=14, output_tokens=45, total_tokens=59)
    # the audio part is kept: gpt-4o-transcribe prices audio input at its own (higher) rate
    assert metered.usage == Usage(input_tokens=14, output_tokens=45, input_audio_tokens=10)


def test_mistral_chat_style_usage_with_audio_seconds() -> None:
    body = json.dumps(
        {
            "model": "voxtral-mini-latest",
            "text": "hi",
            "usage": {"prompt_audio_seconds": 36, "prompt_tokens": 13, "completion_tokens": 151, "total_tokens": 164},
        }
    ).encode()
    metered = OPENAI_TRANSCRIPTIONS.meter_body(200, JSON, body, None, MISTRAL)
    assert metered.reported == ReportedUsage(input_tokens=13, output_tokens=151, total_tokens=164)
    assert metered.usage == Usage(input_tokens=13, output_tokens=151, input_seconds=Decimal(36))
    assert metered.model == "voxtral-mini-latest"


def test_plain_text_transcription_has_no_usage() -> None:
    metered = OPENAI_TRANSCRIPTIONS.meter_body(200, "text/plain", b"hello there", None, OPENAI)
    assert metered.usage is None and metered.reported is None


def test_transcription_form_fields() -> None:
    form = {"model": "gpt-4o-transcribe", "stream": "true"}
    assert OPENAI_TRANSCRIPTIONS.request_model("/v1/audio/transcriptions", form) == "gpt-4o-transcribe"
    assert OPENAI_TRANSCRIPTIONS.wants_stream("/v1/audio/transcriptions", "", form)
    assert not OPENAI_TRANSCRIPTIONS.wants_stream("/v1/audio/transcriptions", "", {"stream": "false"})
    assert not OPENAI_TRANSCRIPTIONS.wants_stream("/v1/audio/transcriptions", "", None)


def _run(dialect: Dialect, body: bytes, request: Mapping[str, object] | None) -> Metered:
    parser = SseParser()
    meter = dialect.stream_meter(OPENAI, request, False)
    for e in (*parser.feed(body), *parser.flush()):
        assert meter.feed(e)
    return meter.finish()


def test_transcription_stream_takes_final_usage() -> None:
    body = (
        b'data: {"type":"transcript.text.delta","delta":"hi"}\n\n'
        b'data: {"type":"transcript.text.done","text":"hi","usage":{"type":"tokens","input_tokens":7,'
        b'"output_tokens":2,"total_tokens":9}}\n\n'
    )
    metered = _run(OPENAI_TRANSCRIPTIONS, body, {"model": "gpt-4o-transcribe"})
    assert metered.usage == Usage(input_tokens=7, output_tokens=2)


def test_transcription_stream_error() -> None:
    metered = _run(OPENAI_TRANSCRIPTIONS, b'event: error\ndata: {"error": {"message": "bad audio"}}\n\n', None)
    assert metered.usage is None and metered.error == "bad audio"


def test_tts_characters_from_request() -> None:
    assert not OPENAI_SPEECH.needs_response_body
    request = {"model": "tts-1", "input": "Hello, wörld!", "voice": "alloy"}
    metered = OPENAI_SPEECH.meter_body(200, "audio/mpeg", b"", request, OPENAI)
    assert metered.usage == Usage(input_characters=13)
    assert metered.reported is None  # the provider reported nothing
    assert OPENAI_SPEECH.request_model("/v1/audio/speech", request) == "tts-1"
    assert not OPENAI_SPEECH.wants_stream("/v1/audio/speech", "", request)


def test_tts_error_and_missing_input() -> None:
    error = OPENAI_SPEECH.meter_body(400, JSON, b'{"error": {"message": "bad voice"}}', {"input": "x"}, OPENAI)
    assert error.usage is None and error.error == "HTTP 400: bad voice"
    assert OPENAI_SPEECH.meter_body(200, "audio/mpeg", b"", None, OPENAI).usage is None


def test_tts_sse_stream_records_characters_and_tokens() -> None:
    request = {"model": "gpt-4o-mini-tts", "input": "Hello", "stream_format": "sse"}
    assert OPENAI_SPEECH.wants_stream("/v1/audio/speech", "", request)
    body = (
        b'data: {"type":"speech.audio.delta","audio":"AAAA"}\n\n'
        b'data: {"type":"speech.audio.done","usage":{"input_tokens":5,"output_tokens":40,"total_tokens":45}}\n\n'
    )
    metered = _run(OPENAI_SPEECH, body, request)
    assert metered.usage == Usage(input_tokens=5, output_tokens=40, input_characters=5)
    assert _run(OPENAI_SPEECH, b'data: {"type":"speech.audio.delta"}\n\n', request).usage == Usage(input_characters=5)


def test_elevenlabs_text_and_model_id() -> None:
    request = {"text": "Bonjour", "model_id": "eleven_multilingual_v2"}
    assert ELEVENLABS_TTS.request_model("/v1/text-to-speech/v", request) == "eleven_multilingual_v2"
    assert not ELEVENLABS_TTS.wants_stream("/v1/text-to-speech/v/stream", "", request)  # raw audio, not SSE
    metered = ELEVENLABS_TTS.meter_body(200, "audio/mpeg", b"", request, ELEVENLABS)
    assert metered.usage == Usage(input_characters=7)


def test_openai_embeddings() -> None:
    body = b'{"object": "list", "model": "text-embedding-3-small", "usage": {"prompt_tokens": 4, "total_tokens": 4}}'
    metered = OPENAI_EMBEDDINGS.meter_body(200, JSON, body, {"model": "text-embedding-3-small"}, OPENAI)
    assert metered.reported == ReportedUsage(input_tokens=4, total_tokens=4)
    assert metered.usage == Usage(input_tokens=4)
    assert metered.model == "text-embedding-3-small"
    assert not OPENAI_EMBEDDINGS.wants_stream("/v1/embeddings", "", {"stream": True})
    assert OPENAI_EMBEDDINGS.meter_body(200, JSON, b'{"data": []}', None, OPENAI).usage is None
    assert OPENAI_EMBEDDINGS.meter_body(500, JSON, b"", None, OPENAI).error == "HTTP 500"

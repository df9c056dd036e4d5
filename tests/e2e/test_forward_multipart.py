"""Field fault "transcription-multipart-refused": multipart/form-data calls are metered.

The official ``openai`` SDK's ``audio.transcriptions.create`` / ``audio.translations.create``
send the model as a form field; the gateway reads it from the form (and from ``?model=``),
prices the call from the catalogue and forwards the client's bytes untouched.
"""

from __future__ import annotations

import math
from decimal import Decimal

import httpx
import openai
import pytest

from tests.e2e import conftest_gateway
from tests.e2e.conftest_gateway import Account, GatewayStack, make_token
from tests.e2e.test_forward_sdks import STYLES, last_upstream
from tests.fakes.usage_core import AUDIO_BYTES_PER_SECOND, AUDIO_TOKENS_PER_SECOND, DEFAULT_OUTPUT_WORDS

fake_gateway = conftest_gateway.fake_gateway

AUDIO = b"RIFF" + b"\0" * (27 * AUDIO_BYTES_PER_SECOND - 4)  # 27 s for the fake
SECONDS = math.ceil(len(AUDIO) / AUDIO_BYTES_PER_SECOND)


def units(wire: str) -> Decimal:
    return Decimal(wire)


@pytest.fixture
def acct(fake_gateway: GatewayStack) -> Account:
    return fake_gateway.account()


def priced_token(acct: Account) -> str:
    """A product that refuses unpriced models, like the demo's: a model the gateway cannot read
    would be refused with unknown_model_price before the upstream call."""
    product = acct.server.cli(
        "products", "create", "--secret-key", acct.secret_key, "--rate-type", "percentage", "--tier", "0:20"
    )
    return make_token(acct.secret_key, acct.connection_secret, product["product_secret"], None)


def client(acct: Account, style: str, token: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=STYLES[style](acct, "openai"), api_key=token, max_retries=0)


@pytest.mark.parametrize("style", STYLES)
def test_openai_sdk_whisper_transcription_is_billed_by_seconds(
    style: str, acct: Account, fake_gateway: GatewayStack
) -> None:
    raw = client(acct, style, priced_token(acct)).audio.transcriptions.with_raw_response.create(
        model="whisper-1", file=("a.wav", AUDIO, "audio/wav")
    )
    assert raw.parse().text
    up = last_upstream(fake_gateway)
    assert up["path"] == "/v1/audio/transcriptions"
    rec = acct.request(raw.headers["x-lava-request-id"])
    assert rec["status"] == "completed", rec
    assert rec["model"] == "whisper-1"
    assert rec["endpoint"] == "POST https://api.openai.com/v1/audio/transcriptions"
    # whisper-1: $0.36 per hour of audio, 27 s → $0.0027
    assert units(rec["model_usage"]["total_cost"]) == Decimal("0.36") * SECONDS / 3600 == Decimal("0.0027")
    assert rec["model_usage"]["estimated"] is False


def test_gpt4o_transcribe_audio_tokens_at_the_audio_price(acct: Account) -> None:
    raw = client(acct, "lava_url", priced_token(acct)).audio.transcriptions.with_raw_response.create(
        model="gpt-4o-transcribe", file=("a.wav", AUDIO, "audio/wav"), response_format="json"
    )
    rec = acct.request(raw.headers["x-lava-request-id"])
    audio = SECONDS * AUDIO_TOKENS_PER_SECOND
    # $6/M audio input, $2.50/M text input (none: no prompt), $10/M output
    expected = (Decimal(audio) * 6 + Decimal(DEFAULT_OUTPUT_WORDS) * 10) / 10**6
    assert units(rec["model_usage"]["total_cost"]) == expected
    assert "unpriced_units" not in rec["pricing"]


def test_openai_sdk_translation_verbose_json_is_billed_by_duration(acct: Account) -> None:
    raw = client(acct, "base_url_for", priced_token(acct)).audio.translations.with_raw_response.create(
        model="whisper-1", file=("a.wav", AUDIO, "audio/wav"), response_format="verbose_json"
    )
    rec = acct.request(raw.headers["x-lava-request-id"])
    assert rec["status"] == "completed" and rec["model"] == "whisper-1"
    assert rec["endpoint"] == "POST https://api.openai.com/v1/audio/translations"
    assert units(rec["model_usage"]["total_cost"]) == Decimal("0.0027")


def test_query_string_model_is_read(acct: Account, fake_gateway: GatewayStack) -> None:
    """A form without a model field, with ``?model=`` in the provider URL: priced by that model."""
    url = acct.forward_url("https://api.openai.com/v1/audio/transcriptions") + "&model=whisper-1"
    files = {"file": ("a.wav", AUDIO, "audio/wav")}
    r = httpx.post(url, headers={"Authorization": f"Bearer {priced_token(acct)}"}, files=files, timeout=30)
    # the fake requires the model in the form, as OpenAI does; what matters here is that the
    # gateway priced and forwarded the call instead of refusing it up front
    assert r.status_code == 400 and "model" in r.text, r.text
    rec = acct.request(r.headers["x-lava-request-id"])
    assert rec["model"] == "whisper-1" and rec["status"] == "error"
    assert last_upstream(fake_gateway)["path"] == "/v1/audio/transcriptions"


def test_malformed_form_is_forwarded_not_crashed(acct: Account) -> None:
    r = httpx.post(
        acct.forward_url("https://api.openai.com/v1/audio/transcriptions"),
        headers={"Authorization": f"Bearer {acct.token()}", "Content-Type": "multipart/form-data; boundary=xyz"},
        content=b'--xyz\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1',  # never closed
        timeout=30,
    )
    assert r.status_code < 500, r.text

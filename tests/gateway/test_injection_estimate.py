"""What the gateway adds to a request, how a refusal of it is recognised, and the one estimate."""

from __future__ import annotations

import pytest

from lava_server.billing.fees import UnitCounts
from lava_server.gateway.dialects import select_dialect
from lava_server.gateway.estimate import missing_usage_estimate
from lava_server.gateway.injection import injected_fields, names_injected
from lava_server.gateway.providers import generic_provider, provider_for_host


def test_injected_fields_are_the_added_or_changed_leaves() -> None:
    original = {"stream": True, "messages": []}
    assert injected_fields(original, {**original, "stream_options": {"include_usage": True}}) == (
        "stream_options.include_usage",
    )
    with_options = {**original, "stream_options": {"include_obfuscation": False}}
    prepared = {**original, "stream_options": {"include_obfuscation": False, "include_usage": True}}
    assert injected_fields(with_options, prepared) == ("stream_options.include_usage",)
    assert injected_fields(original, {**original, "stream": False}) == ("stream",)
    assert injected_fields(original, dict(original)) == ()


@pytest.mark.parametrize(
    ("refusal", "named"),
    [
        (b'{"error": {"message": "Unrecognized request argument supplied: stream_options"}}', True),
        (b'{"detail": [{"loc": ["body", "stream_options", "include_usage"], "type": "extra_forbidden"}]}', True),
        (b'{"error": {"message": "model not found"}}', False),
        (b'{"error": {"message": "bad my_stream_options_x"}}', False),
    ],
)
def test_a_refusal_names_an_injected_field(refusal: bytes, named: bool) -> None:
    assert names_injected(refusal, ("stream_options.include_usage",)) is named


def test_every_dialect_injection_is_found_by_comparison() -> None:
    """Whatever a dialect's prepare() adds shows up in injected_fields: nothing to declare."""
    provider = provider_for_host("api.openai.com")
    assert provider is not None
    dialect = select_dialect(provider, "POST", "/v1/chat/completions")
    assert dialect is not None
    body = {"model": "m", "stream": True, "messages": []}
    prep = dialect.prepare(body, True)
    assert prep.body is not None and injected_fields(body, prep.body) == ("stream_options.include_usage",)


def test_the_stream_usage_capability_decides_injection() -> None:
    unknown = generic_provider("myres.openai.azure.com")
    assert unknown.accepts_stream_usage_option is None
    assert provider_for_host("api.openai.com").accepts_stream_usage_option is True  # type: ignore[union-attr]
    body = {"stream": True, "messages": []}
    injects = select_dialect(unknown, "POST", "/openai/deployments/x/chat/completions")
    assert injects is not None and injects.prepare(body, True).body is not None
    from dataclasses import replace

    refused = replace(unknown, accepts_stream_usage_option=False)
    plain = select_dialect(refused, "POST", "/openai/deployments/x/chat/completions")
    assert plain is not None and plain.prepare(body, True).body is None


def test_missing_usage_estimate_is_one_formula() -> None:
    assert missing_usage_estimate(120, events=7) == UnitCounts(input_tokens=120, output_tokens=7)
    assert missing_usage_estimate(120, body_bytes=4001) == UnitCounts(input_tokens=120, output_tokens=1000)
    assert missing_usage_estimate(-1) == UnitCounts()

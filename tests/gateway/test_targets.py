"""``u=`` parsing, path normalisation, the allowlist and the upstream map (gateway/targets.py)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from lava_server.errors import ApiError
from lava_server.gateway.providers import provider_for_host
from lava_server.gateway.targets import normalise_path, resolve_target, split_forward_query

MAP = {"api.openai.com": "http://127.0.0.1:9001", "api.anthropic.com": "http://127.0.0.1:9002/base"}


def resolve(query: str, suffix: str = "", **kw: object) -> object:
    return resolve_target(query, upstream_map=kw.pop("upstream_map", MAP), raw_suffix=suffix, **kw)  # type: ignore[arg-type]


# -- split_forward_query --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", (None, [], None, None)),
        ("u=https://h/p", ("https://h/p", [], None, None)),
        ("u=https://h/p&alt=sse", ("https://h/p", ["alt=sse"], None, None)),
        ("alt=sse&u=https://h/p", ("https://h/p", ["alt=sse"], None, None)),
        ("u=https://h/p?x=1&y=2", ("https://h/p?x=1&y=2", [], None, None)),  # raw u keeps its own params
        ("u=https://h/p?x=1&key=abc&y=2", ("https://h/p?x=1", ["y=2"], "abc", None)),
        ("u=https%3A%2F%2Fh%2Fp&key=a%2Bb", ("https%3A%2F%2Fh%2Fp", [], "a+b", None)),
        ("u=x&metadata=%7B%22a%22%3A%22b%22%7D", ("x", [], None, '{"a":"b"}')),
        ("u=first&u=second", ("first", ["u=second"], None, None)),
        ("alt=sse?u=https://h", ("https://h", ["alt=sse"], None, None)),  # google-genai's double '?'
    ],
)
def test_split_forward_query(raw: str, expected: tuple[object, ...]) -> None:
    assert split_forward_query(raw) == expected


# -- normalise_path -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "path", "expected"),
    [
        ("api.openai.com", "/v1chat/completions", "/v1/chat/completions"),
        ("api.openai.com", "/v1responses", "/v1/responses"),
        ("api.openai.com", "/v1embeddings", "/v1/embeddings"),
        ("api.openai.com", "/v1audio/transcriptions", "/v1/audio/transcriptions"),
        ("api.openai.com", "/v1/chat/completions", "/v1/chat/completions"),
        ("api.openai.com", "/v1/v1/chat/completions", "/v1/chat/completions"),
        ("api.anthropic.com", "/v1/v1/messages", "/v1/messages"),
        ("api.anthropic.com", "/v1/messages", "/v1/messages"),
        ("api.anthropic.com", "/v1/v1/messages/count_tokens", "/v1/messages/count_tokens"),
        ("api.groq.com", "/openai/v1chat/completions", "/openai/v1/chat/completions"),
        ("openrouter.ai", "/api/v1chat/completions", "/api/v1/chat/completions"),
        ("generativelanguage.googleapis.com", "/v1beta/openaichat/completions", "/v1beta/openai/chat/completions"),
        ("generativelanguage.googleapis.com", "/v1beta/models/g:generateContent", "/v1beta/models/g:generateContent"),
        # not a known endpoint name after the base: left alone
        ("api.openai.com", "/v1xyz", "/v1xyz"),
        ("api.openai.com", "/v10/chat/completions", "/v10/chat/completions"),
    ],
)
def test_normalise_path(host: str, path: str, expected: str) -> None:
    provider = provider_for_host(host)
    assert provider is not None
    assert normalise_path(path, provider) == expected


# -- what real provider SDKs send to the forward URL (captured from each SDK; docs/design.md "Compatibility") --

SDK_ROWS = [
    # (client, raw query string as received, suffix after /v1/forward/, expected upstream URL)
    (
        "openai-js 6.49 (Lava openaiUrl)",
        "u=https%3A%2F%2Fapi.openai.com%2Fv1%2Fchat%2Fcompletions",
        "",
        "https://api.openai.com/v1/chat/completions",
    ),
    (
        "openai-python 3.57 (Lava openaiUrl)",
        "u=https://api.openai.com/v1chat/completions",
        "",
        "https://api.openai.com/v1/chat/completions",
    ),
    (
        "openai-python 3.57 (base_url_for: trailing slash)",
        "u=https://api.openai.com/v1/chat/completions",
        "",
        "https://api.openai.com/v1/chat/completions",
    ),
    (
        "anthropic-js 1.14 (Lava anthropicUrl)",
        "u=https%3A%2F%2Fapi.anthropic.com%2Fv1%2Fv1%2Fmessages",
        "",
        "https://api.anthropic.com/v1/messages",
    ),
    (
        "anthropic-python 2.14 (Lava anthropicUrl)",
        "u=https://api.anthropic.com/v1/v1/messages",
        "",
        "https://api.anthropic.com/v1/messages",
    ),
    (
        "anthropic-js (base_url_for)",
        "u=https%3A%2F%2Fapi.anthropic.com%2Fv1%2Fmessages",
        "",
        "https://api.anthropic.com/v1/messages",
    ),
    (
        "anthropic-python (base_url_for)",
        "u=https://api.anthropic.com/v1/messages",
        "",
        "https://api.anthropic.com/v1/messages",
    ),
    (
        "google-genai (Lava URL)",
        "u=https://generativelanguage.googleapis.com",
        "v1beta/models/gemini-2.5-flash:generateContent",
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent",
    ),
    (
        "google-genai stream (Lava URL)",
        "alt=sse?u=https://generativelanguage.googleapis.com",
        "v1beta/models/gemini-2.5-flash:streamGenerateContent",
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
    ),
    (
        "google-genai (base_url_for)",
        "",
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent",
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent",
    ),
    (
        "google-genai stream (base_url_for)",
        "alt=sse",
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
    ),
]


@pytest.mark.parametrize(("client", "query", "suffix", "expected"), SDK_ROWS, ids=[r[0] for r in SDK_ROWS])
def test_sdk_request_lines_resolve(client: str, query: str, suffix: str, expected: str) -> None:
    target = resolve_target(query, upstream_map={}, raw_suffix=suffix)
    assert target.url == expected, client
    assert target.upstream_url == expected


# -- resolve_target -------------------------------------------------------------------------


def test_mapped_host_goes_to_its_base_url_but_records_the_canonical_url() -> None:
    t = resolve("u=https://api.anthropic.com/v1/messages?beta=true")
    assert t.url == "https://api.anthropic.com/v1/messages?beta=true"  # type: ignore[attr-defined]
    assert t.upstream_url == "http://127.0.0.1:9002/base/v1/messages?beta=true"  # type: ignore[attr-defined]
    assert t.provider.slug == "anthropic" and t.path == "/v1/messages" and t.query == "beta=true"  # type: ignore[attr-defined]


def test_key_is_taken_out_of_the_upstream_url() -> None:
    t = resolve("u=https://generativelanguage.googleapis.com/v1beta/models/g:generateContent?key=eyJabc&alt=sse")
    assert t.key_param == "eyJabc" and t.query == "alt=sse"  # type: ignore[attr-defined]
    assert "key=" not in t.upstream_url  # type: ignore[attr-defined]


def test_encoded_u_keeps_encoded_path_bytes() -> None:
    t = resolve("u=" + quote("https://api.openai.com/v1/responses/resp_1?include=a%2Cb", safe=""))
    assert t.path == "/v1/responses/resp_1" and t.query == "include=a%2Cb"  # type: ignore[attr-defined]


def test_unmapped_extra_host_gets_a_generic_provider() -> None:
    t = resolve("u=https://llm.internal.example/v1/chat/completions", extra_hosts=("llm.internal.example",))
    assert t.provider.slug == "llm-internal-example"  # type: ignore[attr-defined]
    assert t.upstream_url == "https://llm.internal.example/v1/chat/completions"  # type: ignore[attr-defined]


def test_mapped_host_outside_the_allowlist_is_reachable() -> None:
    t = resolve(
        "u=https://myorg.snowflakecomputing.com/api/v2/cortex/v1/chat/completions",
        upstream_map={"myorg.snowflakecomputing.com": "http://127.0.0.1:1"},
    )
    assert t.upstream_url.startswith("http://127.0.0.1:1/api/v2/")  # type: ignore[attr-defined]


@pytest.mark.parametrize("host", ["api.openai.com.", "API.OPENAI.COM", "Api.OpenAI.com."])
def test_host_spelling_is_canonical(host: str) -> None:
    t = resolve(f"u=https://{host}/v1/chat/completions")
    assert t.host == "api.openai.com"  # type: ignore[attr-defined]
    assert t.upstream_url == "http://127.0.0.1:9001/v1/chat/completions"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("query", "suffix", "status", "code"),
    [
        ("", "", 400, "invalid_forward_target"),
        ("u=", "", 400, "invalid_forward_target"),
        ("u=https://api.openai.com.evil.example/v1/chat/completions", "", 403, "upstream_not_allowed"),
        ("u=https://evil.example/api.openai.com/v1", "", 403, "upstream_not_allowed"),
        ("u=https://127.0.0.1/v1", "", 403, "upstream_not_allowed"),
        ("u=https://169.254.169.254/latest/meta-data", "", 403, "upstream_not_allowed"),
        ("u=https://[::1]/", "", 403, "upstream_not_allowed"),
        ("u=http://api.openai.com/v1/chat/completions", "", 400, "invalid_forward_target"),
        ("u=https://api.openai.com:8443/v1", "", 400, "invalid_forward_target"),
        ("u=https://api.openai.com:99999/v1", "", 400, "invalid_forward_target"),
        ("u=https://user:pw@api.openai.com/v1", "", 400, "invalid_forward_target"),
        ("u=https://api.openai.com@evil.example/v1", "", 400, "invalid_forward_target"),
        ("u=ftp://api.openai.com/v1", "", 400, "invalid_forward_target"),
        ("u=https://" + "a" * 9000, "", 400, "invalid_forward_target"),
        ("", "http://api.openai.com/v1/chat/completions", 400, "invalid_forward_target"),
        ("", "https://169.254.169.254/latest", 403, "upstream_not_allowed"),
        ("", "v1/chat/completions", 400, "invalid_forward_target"),  # a path suffix needs a u= root
    ],
)
def test_refused_targets(query: str, suffix: str, status: int, code: str) -> None:
    with pytest.raises(ApiError) as info:
        resolve(query, suffix)
    assert (info.value.status, info.value.code) == (status, code)

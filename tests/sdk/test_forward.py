"""Forward tokens (byte-identical to the Node SDK) and provider URLs."""

from __future__ import annotations

import base64
import json

import pytest

import lava
from lava import Lava
from lava.forward import PROVIDER_BASE_URLS, decode_forward_token, generate_forward_token

BASE = "http://127.0.0.1:8080/v1/"

# Expected values computed with Node 20: Buffer.from(JSON.stringify(obj)).toString("base64")
NODE_VECTORS = [
    (
        {"secret_key": "aks_test_x", "connection_secret": "cons_x", "product_secret": "ps_y"},
        "eyJzZWNyZXRfa2V5IjoiYWtzX3Rlc3RfeCIsImNvbm5lY3Rpb25fc2VjcmV0IjoiY29uc194IiwicHJvZHVjdF9zZWNyZXQiOiJwc195In0=",
    ),
    (
        {
            "secret_key": "aks_test_ünï",
            "connection_secret": "cons_😀",
            "product_secret": 'ps_\u2028"\\/\n\t\u0001\u007f',
            "provider_key": "sk-日本",
        },
        "eyJzZWNyZXRfa2V5IjoiYWtzX3Rlc3Rfw7xuw68iLCJjb25uZWN0aW9uX3NlY3JldCI6ImNvbnNf8J+YgCIsInByb2R1Y3Rfc2VjcmV0Ijoi"
        "cHNf4oCoXCJcXC9cblx0XHUwMDAxfyIsInByb3ZpZGVyX2tleSI6InNrLeaXpeacrCJ9",
    ),
    (
        {"secret_key": "aks_test_x", "connection_secret": None, "product_secret": None, "provider_key": "sk-abc"},
        "eyJzZWNyZXRfa2V5IjoiYWtzX3Rlc3RfeCIsImNvbm5lY3Rpb25fc2VjcmV0IjpudWxsLCJwcm9kdWN0X3NlY3JldCI6bnVsbCwicHJvdmlk"
        "ZXJfa2V5Ijoic2stYWJjIn0=",
    ),
    (
        {"secret_key": "aks_test_x", "connection_secret": "cons_x", "product_secret": None},
        "eyJzZWNyZXRfa2V5IjoiYWtzX3Rlc3RfeCIsImNvbm5lY3Rpb25fc2VjcmV0IjoiY29uc194IiwicHJvZHVjdF9zZWNyZXQiOm51bGx9",
    ),
    (
        {"secret_key": "aks_test_x", "connection_secret": "a\ud800b", "product_secret": "ps"},
        "eyJzZWNyZXRfa2V5IjoiYWtzX3Rlc3RfeCIsImNvbm5lY3Rpb25fc2VjcmV0IjoiYVx1ZDgwMGIiLCJwcm9kdWN0X3NlY3JldCI6InBzIn0=",
    ),
    (
        {
            "secret_key": "aks_test_x",
            "connection_secret": "cons_x",
            "product_secret": "ps_y",
            "provider_key": "sk-live-1",
        },
        "eyJzZWNyZXRfa2V5IjoiYWtzX3Rlc3RfeCIsImNvbm5lY3Rpb25fc2VjcmV0IjoiY29uc194IiwicHJvZHVjdF9zZWNyZXQiOiJwc195Iiwi"
        "cHJvdmlkZXJfa2V5Ijoic2stbGl2ZS0xIn0=",
    ),
]


def test_known_vector_from_the_node_sdk() -> None:
    token = Lava("aks_test_x").generate_forward_token(connection_secret="cons_x", product_secret="ps_y")
    assert token == (
        "eyJzZWNyZXRfa2V5IjoiYWtzX3Rlc3RfeCIsImNvbm5lY3Rpb25fc2VjcmV0IjoiY29uc194IiwicHJvZHVjdF9zZWNyZXQiOiJwc195In0="
    )


@pytest.mark.parametrize(("fields", "expected"), NODE_VECTORS)
def test_node_vectors(fields: dict[str, str | None], expected: str) -> None:
    assert generate_forward_token(**fields) == expected  # type: ignore[arg-type]


def test_compact_json_in_node_key_order() -> None:
    token = generate_forward_token(
        secret_key="aks_test_x", connection_secret="cons_x", product_secret="ps_y", provider_key="sk-1"
    )
    raw = base64.b64decode(token)
    assert (
        raw == b'{"secret_key":"aks_test_x","connection_secret":"cons_x","product_secret":"ps_y","provider_key":"sk-1"}'
    )


def test_non_ascii_is_utf8_not_escaped() -> None:
    token = generate_forward_token(secret_key="aks_test_é", connection_secret="cons_€", product_secret="ps_🙂")
    raw = base64.b64decode(token)
    assert "é".encode() in raw and "€".encode() in raw and "🙂".encode() in raw
    assert b"\\u" not in raw


def test_metering_only_keeps_nulls() -> None:
    token = Lava("aks_test_x").generate_forward_token(connection_secret=None, product_secret=None, provider_key="sk-p")
    assert base64.b64decode(token) == (
        b'{"secret_key":"aks_test_x","connection_secret":null,"product_secret":null,"provider_key":"sk-p"}'
    )


def test_provider_key_omitted_when_none() -> None:
    token = generate_forward_token(secret_key="k", connection_secret="c", product_secret="p", provider_key=None)
    assert "provider_key" not in decode_forward_token(token)


def test_connection_without_product_is_allowed() -> None:
    token = generate_forward_token(secret_key="k", connection_secret="c", product_secret=None)
    assert decode_forward_token(token) == {"secret_key": "k", "connection_secret": "c", "product_secret": None}


@pytest.mark.parametrize(
    "fields",
    [
        {"connection_secret": None, "product_secret": None},
        {"connection_secret": None, "product_secret": "ps"},
        {"connection_secret": None, "product_secret": "ps", "provider_key": "sk"},
    ],
)
def test_invalid_token_shapes(fields: dict[str, str | None]) -> None:
    with pytest.raises(ValueError):
        generate_forward_token(secret_key="aks_test_x", **fields)


def test_empty_secret_key_rejected() -> None:
    with pytest.raises(ValueError):
        generate_forward_token(secret_key="", connection_secret="c", product_secret="p")


def test_non_string_secret_rejected() -> None:
    with pytest.raises(TypeError):
        generate_forward_token(secret_key="k", connection_secret=123, product_secret="p")  # type: ignore[arg-type]


def test_decode_round_trip_and_variants() -> None:
    client = Lava("aks_test_x")
    token = client.generate_forward_token(connection_secret="cons_x", product_secret="ps_y", provider_key="sk")
    expected = {
        "secret_key": "aks_test_x",
        "connection_secret": "cons_x",
        "product_secret": "ps_y",
        "provider_key": "sk",
    }
    assert lava.decode_forward_token(token) == expected
    assert client.decode_forward_token("Bearer " + token) == expected
    assert decode_forward_token(token.rstrip("=")) == expected
    urlsafe = base64.urlsafe_b64encode(json.dumps({"secret_key": "~~~>>>???"}).encode()).decode()
    assert decode_forward_token(urlsafe) == {"secret_key": "~~~>>>???"}


@pytest.mark.parametrize(
    "bad", ["not base64!!", base64.b64encode(b"[1,2]").decode(), base64.b64encode(b"\xff").decode()]
)
def test_decode_rejects_garbage(bad: str) -> None:
    with pytest.raises(ValueError):
        decode_forward_token(bad)


@pytest.mark.node
def test_byte_identical_to_node_for_tricky_strings() -> None:
    import shutil
    import subprocess

    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed")
    samples = [
        "",
        "plain",
        "ünïcödé",
        "😀🙂",
        "\u2028\u2029",
        '"\\/',
        "\x00\x01\x1f\x7f",
        "\ud83d",
        "a\udc00b",
        "日本語",
    ]
    cases = [
        {"secret_key": "aks_test_" + s, "connection_secret": s or None, "product_secret": s, "provider_key": s}
        for s in samples
    ]
    script = (
        "const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "for (const c of cases) { if (c.connection_secret === null) { c.product_secret = null; }"
        " console.log(Buffer.from(JSON.stringify(c)).toString('base64')); }"
    )
    # lone surrogates cannot cross as UTF-8, so ship them escaped (ensure_ascii)
    stdin = json.dumps(cases, ensure_ascii=True)
    out = subprocess.run([node, "-e", script], input=stdin, capture_output=True, text=True, check=True).stdout.split()
    for case, expected in zip(cases, out, strict=True):
        if case["connection_secret"] is None:
            case["product_secret"] = None
        assert generate_forward_token(**case) == expected, case  # type: ignore[arg-type]


# --- provider URLs -------------------------------------------------------------------


def test_node_convenience_urls_are_not_encoded() -> None:
    client = Lava("k", base_url=BASE)
    assert client.openai_url == "http://127.0.0.1:8080/v1/forward?u=https://api.openai.com/v1"
    assert client.anthropic_url == "http://127.0.0.1:8080/v1/forward?u=https://api.anthropic.com/v1"
    assert client.mistral_url == "http://127.0.0.1:8080/v1/forward?u=https://api.mistral.ai/v1"
    assert client.deepseek_url == "http://127.0.0.1:8080/v1/forward?u=https://api.deepseek.com/v1"
    assert client.xai_url == "http://127.0.0.1:8080/v1/forward?u=https://api.x.ai/v1"
    assert client.google_url == "http://127.0.0.1:8080/v1/forward?u=https://generativelanguage.googleapis.com/v1beta"
    assert client.google_openai_compatible_url == (
        "http://127.0.0.1:8080/v1/forward?u=https://generativelanguage.googleapis.com/v1beta/openai"
    )


def test_default_urls_use_the_key_prefix_host() -> None:
    assert Lava("aks_live_x").openai_url == "https://api.lavapayments.com/v1/forward?u=https://api.openai.com/v1"
    assert lava.AsyncLava("aks_test_x").openai_url == (
        "https://sandbox-api.lavapayments.com/v1/forward?u=https://api.openai.com/v1"
    )


SPEC_PROVIDERS = {
    "openai": "api.openai.com/v1",
    "anthropic": "api.anthropic.com/v1",
    "mistral": "api.mistral.ai/v1",
    "deepseek": "api.deepseek.com/v1",
    "xai": "api.x.ai/v1",
    "google": "generativelanguage.googleapis.com/v1beta",
    "google_openai_compatible": "generativelanguage.googleapis.com/v1beta/openai",
    "kluster": "api.kluster.ai/v1",
    "inference": "api.inference.net/v1",
    "groq": "api.groq.com/openai/v1",
    "novita": "api.novita.ai/v3/openai",
    "vercel": "api.v0.dev/v1",
    "together": "api.together.xyz/v1",
    "hyperbolic": "api.hyperbolic.xyz/v1",
    "elevenlabs": "api.elevenlabs.io/v1",
    "sambanova": "api.sambanova.ai/v1",
    "deepinfra": "api.deepinfra.com/v1/openai",
    "cohere": "api.cohere.ai/compatibility/v1",
    "parasail": "api.parasail.io/v1",
    "nebius": "api.studio.nebius.com/v1",
    "fireworks": "api.fireworks.ai/inference/v1",
    "cerebras": "api.cerebras.ai/v1",
    "targon": "api.targon.com/v1",
    "gmicloud": "api.gmi-serving.com/v1",
    "chutes": "llm.chutes.ai/v1",
    "embercloud": "api.embercloud.ai/v1",
    "baseten": "inference.baseten.co/v1",
    "moonshot": "api.moonshot.ai/v1",
}


def test_providers_mapping_covers_spec_table() -> None:
    client = Lava("k", base_url=BASE)
    assert dict(client.providers) == {slug: f"{BASE}forward?u=https://{path}" for slug, path in SPEC_PROVIDERS.items()}
    assert set(PROVIDER_BASE_URLS) == set(SPEC_PROVIDERS)
    with pytest.raises(TypeError):
        client.providers["openai"] = "x"  # type: ignore[index]


def test_forward_url_encodes_the_target() -> None:
    client = Lava("k", base_url=BASE)
    assert client.forward_url("https://api.yourprovider.com/v1/endpoint?x=1&y=2") == (
        "http://127.0.0.1:8080/v1/forward?u=https%3A%2F%2Fapi.yourprovider.com%2Fv1%2Fendpoint%3Fx%3D1%26y%3D2"
    )
    assert (
        lava.forward_url(BASE, "https://a.example/") == "http://127.0.0.1:8080/v1/forward?u=https%3A%2F%2Fa.example%2F"
    )

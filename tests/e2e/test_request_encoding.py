"""Compressed request bodies: decoded at the edge with a bound and forwarded without
``Content-Encoding``; garbage is a clean 400, unknown codings 415, even before authentication."""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib
from typing import Any

import brotli
import httpx
import pytest
import zstandard

from tests.billing.billing_fixtures import BillingEnv
from tests.e2e import lifecycle_stack
from tests.e2e.lifecycle_stack import CHAT_URL, forward, seen

env = lifecycle_stack.env
account = lifecycle_stack.account

# -- compressed request bodies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("br", brotli.compress),
        ("zstd", lambda b: zstandard.ZstdCompressor().compress(b)),
    ],
)
def test_a_compressed_body_is_decoded_and_forwarded_plain(
    env: BillingEnv, account: Any, coding: str, encode: Any
) -> None:
    con, product = account
    before = len(seen(env, "/v1/chat/completions"))
    payload = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi " * 100}]}
    r = forward(
        env,
        CHAT_URL,
        env.token(con, product),
        content=encode(json.dumps(payload).encode()),
        headers={"Content-Encoding": coding, "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    (got,) = seen(env, "/v1/chat/completions")[before:]
    assert json.loads(got["body"]) == payload
    assert "Content-Encoding" not in got["headers"] and "content-encoding" not in got["headers"]
    assert env.request(r.headers["x-lava-request-id"])["model"] == "gpt-4o-mini"


@pytest.mark.parametrize("path", ["/v1/quote", "/v1/forward?u=" + CHAT_URL, "/v1/checkout_sessions"])
@pytest.mark.parametrize(
    ("coding", "body", "status", "code"),
    [
        ("gzip", b"not gzip at all", 400, "invalid_content_encoding"),
        ("deflate", b"\x78\x9cgarbage", 400, "invalid_content_encoding"),
        ("br", b"\xff\xff\xff garbage", 400, "invalid_content_encoding"),
        ("zstd", b"garbage", 400, "invalid_content_encoding"),
        ("gzip", gzip.compress(b"{}")[:-6], 400, "invalid_content_encoding"),
        ("compress", b"x", 415, "unsupported_content_encoding"),
        ("gzip", gzip.compress(b" " * (11 * 1024 * 1024)), 413, "payload_too_large"),
    ],
)
def test_bad_compressed_bodies_are_clean_4xx_before_authentication(
    env: BillingEnv, path: str, coding: str, body: bytes, status: int, code: str
) -> None:
    r = httpx.post(env.server.url + path, content=body, headers={"Content-Encoding": coding}, timeout=30)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code


def test_bad_compressed_bodies_log_no_traceback(env: BillingEnv, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("DEBUG"):
        r = httpx.post(env.server.url + "/v1/quote", content=b"junk", headers={"Content-Encoding": "gzip"})
        assert r.status_code == 400
        asyncio.run(asyncio.sleep(0.2))
    assert not [rec for rec in caplog.records if rec.exc_info]


def test_a_compressed_rest_body_is_read_decoded(env: BillingEnv, account: Any) -> None:
    """Every handler sees the decoded body, not only /v1/forward's (here /v1/quote's JSON reader)."""
    con, product = account
    payload = {"url": CHAT_URL, "body": {"model": "gpt-4o-mini", "max_tokens": 10, "messages": []}}
    r = httpx.post(
        env.server.url + "/v1/quote",
        content=gzip.compress(json.dumps(payload).encode()),
        headers={
            "Authorization": f"Bearer {env.token(con, product)}",
            "Content-Encoding": "gzip",
            "Content-Type": "application/json",
        },
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert r.json()["model"] == "gpt-4o-mini" and r.json()["max_output_tokens"] == 10

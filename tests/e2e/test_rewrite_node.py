"""Node SDK 11.2.0's ``gateway(url, {format})`` against ``/v1/rewrite`` (the URL sent raw, ``//`` kept)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import conftest_gateway
from tests.e2e.conftest_gateway import MANAGED_KEYS, Account, GatewayStack
from tests.fakes import expected_usage

fake_gateway = conftest_gateway.fake_gateway

NODE_DIR = Path(__file__).resolve().parents[1] / "compat" / "node"
DRIVER = NODE_DIR / "rewrite1120.mjs"


def run_driver(acct: Account, fmt: str, url: str, body: dict[str, Any], provider: str | None = None) -> dict[str, Any]:
    """Run ``gateway(url, {format, body})`` (with ``provider_key`` when ``provider`` is named: BYOK)."""
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "lava1120").is_dir():
        pytest.fail("node and tests/compat/node/node_modules (npm install) are required", pytrace=False)
    args = {
        "base_url": acct.server.api_base,
        "secret_key": acct.secret_key,
        "url": url,
        "format": fmt,
        "body": body,
        **({"provider_key": MANAGED_KEYS[provider]} if provider else {}),
    }
    done = subprocess.run(
        [node, str(DRIVER), json.dumps(args)], cwd=NODE_DIR, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def acct(fake_gateway: GatewayStack) -> Account:
    return fake_gateway.account()


def test_node_gateway_format_openai_to_anthropic(acct: Account, fake_gateway: GatewayStack) -> None:
    body = {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi fake-words=3"}]}
    out = run_driver(acct, "openai", "https://api.anthropic.com/v1/messages", body, "anthropic")
    assert out["ok"], out
    response = out["response"]
    assert response["object"] == "chat.completion"
    assert len(response["choices"][0]["message"]["content"].split()) == 3
    up = fake_gateway.fake_stats()["last_request"]
    assert up["path"] == "/v1/messages"
    raw_usage = expected_usage("anthropic.messages", up["body"])
    assert response["usage"]["prompt_tokens"] == raw_usage["input_tokens"]
    rec = acct.latest_request()
    assert rec["client_format"] == "openai" and rec["provider"] == "anthropic"
    assert rec["endpoint"] == "POST https://api.anthropic.com/v1/messages"
    assert rec["provider_usage"] == raw_usage and rec["provider_key_type"] == "unmanaged"
    assert up["headers"]["x-api-key"] == MANAGED_KEYS["anthropic"]  # the token's provider_key, not the Lava token


def test_node_gateway_format_anthropic_to_openai(acct: Account, fake_gateway: GatewayStack) -> None:
    body = {"model": "gpt-4o-mini", "max_tokens": 50, "messages": [{"role": "user", "content": "hi fake-words=4"}]}
    out = run_driver(acct, "anthropic", "https://api.openai.com/v1/chat/completions", body, "openai")
    assert out["ok"], out
    assert out["response"]["type"] == "message" and out["response"]["stop_reason"] == "end_turn"
    assert acct.latest_request()["client_format"] == "anthropic"


def test_node_gateway_untranslatable_throws_the_lava_error(acct: Account) -> None:
    body = {"model": "claude-x", "messages": [{"role": "user", "content": "x"}], "logprobs": True}
    out = run_driver(acct, "openai", "https://api.anthropic.com/v1/messages", body, "anthropic")
    assert not out["ok"]
    assert "400" in out["error"] and "untranslatable_request" in out["error"] and "logprobs" in out["error"]


def test_node_gateway_format_with_the_bare_secret_token(acct: Account, fake_gateway: GatewayStack) -> None:
    """Row 1: ``gateway(url, {format, body})`` sends ``{"secret_key"}``; the merchant pays a managed key's cost."""
    body = {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "hi fake-words=5"}]}
    out = run_driver(acct, "openai", "https://api.anthropic.com/v1/messages", body)
    assert out["ok"], out
    assert len(out["response"]["choices"][0]["message"]["content"].split()) == 5
    up = fake_gateway.fake_stats()["last_request"]
    assert up["headers"]["x-api-key"] == MANAGED_KEYS["anthropic"]
    rec = acct.latest_request()
    assert rec["client_format"] == "openai" and rec["provider_key_type"] == "managed"
    assert rec["provider_usage"] == expected_usage("anthropic.messages", up["body"])

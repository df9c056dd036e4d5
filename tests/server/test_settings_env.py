"""Configuration fails fast: every variable is cast by one helper that names it and what it allows."""

from __future__ import annotations

import ast
import dataclasses
import os
import re
import subprocess
import sys
import tokenize
from decimal import Decimal
from pathlib import Path

import pytest

from lava_server.cli import main
from lava_server.envvars import ConfigError
from lava_server.settings import Limits, from_env

SRC = Path(__file__).resolve().parents[2] / "src"


def error_of(env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as info:
        from_env(env, data_dir="/nonexistent-lava-test")
    return str(info.value)


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("LAVA_SERVICE_CHARGE_RATE", "abc", "a decimal number from 0 to 1 (at most 12 decimals)"),
        ("LAVA_SERVICE_CHARGE_RATE", "-0.01", "a decimal number from 0 to 1 (at most 12 decimals)"),
        ("LAVA_SERVICE_CHARGE_RATE", "1.5", "a decimal number from 0 to 1 (at most 12 decimals)"),
        ("LAVA_SERVICE_CHARGE_RATE", "1e-2", "a decimal number from 0 to 1 (at most 12 decimals)"),
        ("LAVA_SERVICE_CHARGE_RATE", "NaN", "a decimal number from 0 to 1 (at most 12 decimals)"),
        ("LAVA_SMTP_STARTTLS", "ture", "one of true, false, 1, 0, yes, no, on, off"),
        ("LAVA_DEMO_CHECKOUT_PAGE", "y", "one of true, false, 1, 0, yes, no, on, off"),
        ("LAVA_CHECKOUT_SESSION_TTL", "30m", "an integer from 60 to 604800"),
        ("LAVA_CHECKOUT_SESSION_TTL", "0", "an integer from 60 to 604800"),
        ("LAVA_OTP_TTL", "-5", "an integer from 60 to 86400"),
        ("LAVA_SMTP_PORT", "70000", "an integer from 1 to 65535"),
        ("LAVA_SQLITE_SYNCHRONOUS", "sometimes", "one of full, normal"),
        ("LAVA_PAYMENT_PROCESSOR", "paypal", "one of test, stripe"),
        ("LAVA_OTP_SENDER", "sms", "one of console, smtp"),
        ("LAVA_PUBLIC_URL", "pay.example.com", "an http:// or https:// URL"),
        ("LAVA_STRIPE_API_BASE", "ftp://x", "an http:// or https:// URL"),
        ("LAVA_DATABASE_URL", "mysql://db/lava", "sqlite:///PATH or postgresql://USER@HOST/DB"),
        ("LAVA_UPSTREAM_MAP", "api.openai.com", "comma-separated HOST=http(s)://BASE_URL entries"),
        (
            "LAVA_EXTRA_UPSTREAM_HOSTS",
            "https://llm.example.com",
            "comma-separated host names (no scheme, path or port)",
        ),
        ("LAVA_EXTRA_UPSTREAM_HOSTS", "llm.example.com:8443", "comma-separated host names (no scheme, path or port)"),
        ("LAVA_WEBHOOK_WORKER", "maybe", "one of true, false, 1, 0, yes, no, on, off"),
        ("LAVA_WEBHOOK_TIMEOUT", "soon", "a number of seconds ≥ 0.1"),
        ("LAVA_WEBHOOK_RETENTION", "inf", "a number of seconds ≥ 3600"),
        ("LAVA_WEBHOOK_RETRY_SCHEDULE", "60,-1", "comma-separated numbers of seconds ≥ 0"),
        ("LAVA_WEBHOOK_CREDITS_LOW", "-1", "a USD amount ≥ 0 with at most 10 decimals"),
    ],
)
def test_a_bad_value_names_the_variable_and_the_allowed_values(name: str, value: str, allowed: str) -> None:
    assert error_of({name: value}) == f"{name}={value!r} is invalid: must be {allowed}"


def test_a_bad_secret_is_named_but_not_echoed() -> None:
    message = error_of({"LAVA_MASTER_KEY": "c2VjcmV0LXRoYXQtaXMtdG9vLXNob3J0"})
    assert message.startswith("LAVA_MASTER_KEY=(value hidden) is invalid: must be base64 of 32 random bytes")
    assert "c2VjcmV0" not in message


def test_good_values_are_typed_and_normalised() -> None:
    key = "A" * 43 + "="
    s = from_env(
        {
            "LAVA_SERVICE_CHARGE_RATE": "0.05",
            "LAVA_SMTP_STARTTLS": "TRUE",
            "LAVA_DEMO_CHECKOUT_PAGE": "off",
            "LAVA_CHECKOUT_SESSION_TTL": " 900 ",
            "LAVA_SQLITE_SYNCHRONOUS": "NORMAL",
            "LAVA_SMTP_PORT": "587",
            "LAVA_PAYMENT_PROCESSOR": "Stripe",
            "LAVA_MASTER_KEY": key,
            "LAVA_UPSTREAM_MAP": "API.openai.com=http://127.0.0.1:9001/",
            "LAVA_EXTRA_UPSTREAM_HOSTS": "LLM.example.com, ,other.example",
            "LAVA_PUBLIC_URL": "https://pay.example.com",
        },
        data_dir="/nonexistent-lava-test",
    )
    assert s.service_charge_rate == Decimal("0.05")
    assert s.checkout.smtp_starttls is True
    assert s.checkout.demo_page is False
    assert s.checkout_session_ttl_s == 900
    assert s.sqlite_synchronous == "normal"
    assert s.checkout.smtp_port == 587
    assert s.checkout.processor == "stripe"
    assert s.master_key == key
    assert dict(s.upstream_map) == {"api.openai.com": "http://127.0.0.1:9001"}
    assert s.extra_upstream_hosts == ("llm.example.com", "other.example")
    assert s.public_url == "https://pay.example.com"


def test_unset_and_blank_mean_the_default() -> None:
    s = from_env({"LAVA_SMTP_STARTTLS": "", "LAVA_SERVICE_CHARGE_RATE": "  "}, data_dir="/nonexistent-lava-test")
    assert s.checkout.smtp_starttls is False
    assert s.service_charge_rate == Decimal("0.019")
    assert s.checkout_session_ttl_s == 1800


def test_cli_prints_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("LAVA_SERVICE_CHARGE_RATE", "-0.1")
    assert main(["ledger", "check", "--data-dir", str(tmp_path)]) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err == (
        "lava: error: LAVA_SERVICE_CHARGE_RATE='-0.1' is invalid: must be a decimal number from 0 to 1 "
        "(at most 12 decimals)\n"
    )
    assert not (tmp_path / "lava.db").exists()  # refused before opening anything


def test_serve_fails_fast_without_a_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAVA_")}
    env.update({"PYTHONPATH": str(SRC), "LAVA_SMTP_STARTTLS": "ture", "LAVA_DATA_DIR": str(tmp_path)})
    proc = subprocess.run(
        [sys.executable, "-m", "lava_server", "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "lava: error: LAVA_SMTP_STARTTLS='ture' is invalid: must be one of true, false, 1, 0, yes, no, on, off"
    ]


def _attributes_read(root: Path, skip: Path) -> set[str]:
    names: set[str] = set()
    for path in root.rglob("*.py"):
        if path == skip:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute):
                names.add(node.attr)
    return names


def test_every_limit_is_read_somewhere() -> None:
    """A field of ``Limits`` that no code reads is a promise the server does not keep."""
    settings_py = SRC / "lava_server" / "settings.py"
    read = _attributes_read(SRC / "lava_server", settings_py)
    unread = [f.name for f in dataclasses.fields(Limits) if f.name not in read]
    assert unread == []


ENV_READ = re.compile(r"\benv\.get\(|\benv\[|os\.environ|os\.getenv|getenv\(")


def _code_lines(path: Path) -> dict[int, str]:
    """Each line's code without strings and comments (so docstrings may mention os.environ)."""
    lines: dict[int, str] = {}
    with path.open("rb") as fh:
        for tok in tokenize.tokenize(fh.readline):
            if tok.type in (tokenize.STRING, tokenize.COMMENT, tokenize.ENCODING, tokenize.NEWLINE, tokenize.NL):
                continue
            lines[tok.start[0]] = lines.get(tok.start[0], "") + tok.string
    return lines


def test_every_variable_goes_through_the_cast_helper() -> None:
    """Only ``envvars.env_value`` reads a variable; ``from_env`` merely picks ``os.environ``."""
    offenders = []
    for path in sorted((SRC / "lava_server").rglob("*.py")):
        if path.name == "envvars.py":
            continue
        for n, code in _code_lines(path).items():
            if ENV_READ.search(code) and code != "env=os.environifenvisNoneelseenv":
                offenders.append(f"{path.relative_to(SRC)}:{n}: {code}")
    assert offenders == []

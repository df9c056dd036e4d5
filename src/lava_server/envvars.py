"""Reading environment variables: one cast helper, typed parsers, one clear error.

Every ``LAVA_*`` variable the server reads goes through :func:`env_value` with a :class:`Cast`
describing its type and allowed values. Unset or blank means the default. A value that does not
parse or is out of range raises :class:`ConfigError` whose message names the variable, repeats
the value and states what is allowed, e.g.::

    LAVA_SMTP_STARTTLS='ture' is invalid: must be one of true, false, 1, 0, yes, no, on, off

(the CLI prints it as one line and exits non-zero). Secrets are never repeated in messages.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")

TRUE_WORDS = ("true", "1", "yes", "on")
FALSE_WORDS = ("false", "0", "no", "off")


class ConfigError(ValueError):
    """A configuration variable is invalid; the message names it and what it allows."""


@dataclass(frozen=True)
class Cast(Generic[T]):
    """How to read one variable: ``convert`` raises ``ValueError`` for a bad value; ``allowed``
    says in words what is accepted; ``secret`` keeps the value out of error messages."""

    convert: Callable[[str], T]
    allowed: str
    secret: bool = False


def env_value(env: Mapping[str, str], name: str, cast: Cast[T], default: T) -> T:
    """``env[name]`` converted by ``cast``; ``default`` when unset or blank.

    Raises :class:`ConfigError` ("NAME='value' is invalid: must be …") on a bad value.
    """
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return cast.convert(raw.strip())
    except (ValueError, ArithmeticError) as exc:
        shown = "(value hidden)" if cast.secret else repr(raw)
        raise ConfigError(f"{name}={shown} is invalid: must be {cast.allowed}") from exc


# -- casts -----------------------------------------------------------------------------------


def integer(low: int, high: int) -> Cast[int]:
    """A base-10 integer in ``[low, high]``."""

    def convert(text: str) -> int:
        value = int(text, 10)
        if not low <= value <= high:
            raise ValueError(text)
        return value

    return Cast(convert, f"an integer from {low} to {high}")


def decimal(low: Decimal, high: Decimal, *, max_places: int = 12) -> Cast[Decimal]:
    """An exact decimal (no exponent, at most ``max_places`` fractional digits) in ``[low, high]``."""

    def convert(text: str) -> Decimal:
        if any(c in text for c in "eE") or text.lower() in ("nan", "inf", "infinity"):
            raise ValueError(text)
        try:
            value = Decimal(text)
        except InvalidOperation as exc:
            raise ValueError(text) from exc
        exponent = value.as_tuple().exponent
        if not value.is_finite() or not isinstance(exponent, int) or -exponent > max_places:
            raise ValueError(text)
        if not low <= value <= high:
            raise ValueError(text)
        return value

    return Cast(convert, f"a decimal number from {low} to {high} (at most {max_places} decimals)")


def _finite_float(text: str) -> float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return value


def seconds(minimum: float = 0.0) -> Cast[float]:
    """A finite number of seconds, at least ``minimum``."""

    def convert(text: str) -> float:
        value = _finite_float(text)
        if value < minimum:
            raise ValueError(text)
        return value

    return Cast(convert, f"a number of seconds ≥ {minimum:g}")


def flag() -> Cast[bool]:
    """A boolean spelled one of ``TRUE_WORDS`` / ``FALSE_WORDS`` (any case); anything else is an error."""

    def convert(text: str) -> bool:
        word = text.lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError(text)

    return Cast(convert, "one of " + ", ".join(w for pair in zip(TRUE_WORDS, FALSE_WORDS, strict=True) for w in pair))


def choice(*values: str) -> Cast[str]:
    """One of ``values`` (compared case-insensitively, returned as listed)."""

    def convert(text: str) -> str:
        for value in values:
            if text.lower() == value.lower():
                return value
        raise ValueError(text)

    return Cast(convert, "one of " + ", ".join(values))


def text(max_length: int = 4096, *, secret: bool = False) -> Cast[str]:
    """Any string of at most ``max_length`` characters (surrounding blanks removed)."""

    def convert(value: str) -> str:
        if len(value) > max_length:
            raise ValueError("too long")
        return value

    return Cast(convert, f"a string of at most {max_length} characters", secret=secret)


def http_url() -> Cast[str]:
    """An absolute ``http://`` or ``https://`` URL with a host."""

    def convert(value: str) -> str:
        scheme, sep, rest = value.partition("://")
        if scheme.lower() not in ("http", "https") or not sep or not rest or rest[0] in "/?#" or " " in value:
            raise ValueError(value)
        return value

    return Cast(convert, "an http:// or https:// URL")


def path() -> Cast[Path]:
    """A filesystem path (not checked for existence)."""
    return Cast(Path, "a file system path")


def listing(item: Callable[[str], T], allowed: str) -> Cast[tuple[T, ...]]:
    """Comma-separated items, each converted by ``item``; blank items are skipped."""

    def convert(value: str) -> tuple[T, ...]:
        return tuple(item(part.strip()) for part in value.split(",") if part.strip())

    return Cast(convert, allowed)


def master_key() -> Cast[str]:
    """Base64 of exactly 32 bytes (kept as the configured text; never echoed)."""

    def convert(value: str) -> str:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("not base64") from exc
        if len(raw) != 32:
            raise ValueError("not 32 bytes")
        return value

    return Cast(convert, "base64 of 32 random bytes (e.g. `openssl rand -base64 32`)", secret=True)

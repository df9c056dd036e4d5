"""Time as integer microseconds since the Unix epoch (UTC), and its wire form."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now_us() -> int:
    return time.time_ns() // 1000


def to_iso(us: int) -> str:
    """``1684160551000000`` → ``"2023-05-15T14:22:31Z"``; milliseconds shown when not whole seconds."""
    dt = _precise(us)
    if dt.microsecond == 0:
        return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _precise(us: int) -> datetime:
    seconds, micros = divmod(us, 1_000_000)
    return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=micros)


def from_datetime(dt: datetime) -> int:
    assert dt.tzinfo is not None, "naive datetimes are ambiguous"
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 timestamp that carries an offset (``Z`` or ``±hh:mm``). Raises ValueError."""
    value = datetime.fromisoformat(text.strip().replace("z", "Z"))
    if value.tzinfo is None:
        raise ValueError(f"timestamp {text!r} must include a UTC offset, e.g. 2025-01-01T00:00:00Z")
    return value

"""The settlement journal: finishes that could not reach the database, kept on local disk until they can.

When PostgreSQL is unreachable at the moment a call finishes (its content already delivered),
``BillingService`` appends what the settlement (or the release) needs to this process's journal
file instead of losing it: the request record as it was opened, the plan, and the outcome the
dialect metered. Each entry is one JSON line, written and ``fsync``-ed before the call returns.

Files live in ``<data dir>/journal/<instance id>.jsonl``, one per running process (boot). The
owner holds an exclusive ``flock`` on its file for its whole life, so any other process can tell
a dead owner's file (it can take the lock) from a live one. Replaying is safe any number of
times: settlement is exactly-once by its hold (``ledger.close_hold``) and by the record's
``pending`` status, so an entry whose commit did land before the connection broke is a no-op.

An entry is ``{"v": 1, "kind": "settle" | "fail", "request_id", "at", "record", "plan",
"outcome" | null, "error" | null}``; a replayed entry is marked by ``{"v": 1, "done":
request_id}``. A file whose entries are all done is truncated (own) or deleted (a dead owner's).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import IO, Any, Literal

from ..store.merchants import MerchantKey
from ..store.requests import RequestRecord
from .plans import ForwardPlan, Outcome, SubCallUsage
from .product_config import ProductConfig
from .usage import Usage

log = logging.getLogger("lava.billing")
JOURNAL_DIR = "journal"
VERSION = 1
EntryKind = Literal["settle", "fail"]


@dataclass(frozen=True)
class JournalEntry:
    """One finish waiting for the database: what ``settle``/``fail`` needs to run again."""

    kind: EntryKind
    record: RequestRecord
    plan: ForwardPlan
    outcome: Outcome | None
    error: str | None
    at: int

    @property
    def request_id(self) -> str:
        return self.record.id

    def to_json(self) -> dict[str, Any]:
        return {
            "v": VERSION,
            "kind": self.kind,
            "request_id": self.record.id,
            "at": self.at,
            "record": asdict(self.record),
            "plan": _plan_json(self.plan),
            "outcome": _outcome_json(self.outcome) if self.outcome is not None else None,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JournalEntry:
        kind = data["kind"]
        if kind not in ("settle", "fail"):
            raise ValueError(f"unknown journal entry kind {kind!r}")
        outcome = data.get("outcome")
        return cls(
            kind=kind,
            record=RequestRecord(**data["record"]),
            plan=_plan_from(data["plan"]),
            outcome=_outcome_from(outcome) if outcome is not None else None,
            error=data.get("error"),
            at=int(data["at"]),
        )


def _plan_json(plan: ForwardPlan) -> dict[str, Any]:
    out: dict[str, Any] = {f.name: getattr(plan, f.name) for f in fields(plan)}
    out["merchant"] = asdict(plan.merchant)
    out["product"] = json.loads(plan.product.to_json()) if plan.product is not None else None
    return out


def _plan_from(data: dict[str, Any]) -> ForwardPlan:
    values = dict(data)
    values["merchant"] = MerchantKey(**data["merchant"])
    product = data.get("product")
    values["product"] = ProductConfig.from_json(json.dumps(product)) if product is not None else None
    return ForwardPlan(**values)


def _outcome_json(outcome: Outcome) -> dict[str, Any]:
    return {
        "usage": outcome.usage.to_json(),
        "provider_usage": outcome.provider_usage,
        "model": outcome.model,
        "response_id": outcome.response_id,
        "estimated": outcome.estimated,
        "pending": outcome.pending,
        "sub_calls": [{"model": s.model, "usage": s.usage.to_json()} for s in outcome.sub_calls],
    }


def _outcome_from(data: dict[str, Any]) -> Outcome:
    return Outcome(
        usage=Usage.from_json(data["usage"]),
        provider_usage=data.get("provider_usage"),
        model=data.get("model"),
        response_id=data.get("response_id"),
        estimated=bool(data.get("estimated")),
        pending=bool(data.get("pending")),
        sub_calls=tuple(SubCallUsage(s["model"], Usage.from_json(s["usage"])) for s in data.get("sub_calls", ())),
    )


def _dumps(value: dict[str, Any]) -> bytes:
    # Provider usage may carry numbers orjson refuses (above 2^64); the standard encoder keeps them.
    return json.dumps(value, separators=(",", ":"), default=str).encode() + b"\n"


def read_entries(path: Path) -> list[JournalEntry]:
    """The entries of one journal file not yet marked done (a torn last line is ignored)."""
    entries: dict[str, JournalEntry] = {}
    done: set[str] = set()
    with path.open("rb") as fh:
        for line in fh:
            try:
                data = json.loads(line)
                if "done" in data:
                    done.add(str(data["done"]))
                    continue
                entry = JournalEntry.from_json(data)
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("journal %s: skipping an unreadable line (%s)", path.name, type(exc).__name__)
                continue
            entries[entry.request_id] = entry
    return [e for rid, e in entries.items() if rid not in done]


class Journal:
    """This process's journal file: append (durably), list what is outstanding, mark done.

    Not thread-safe; every call comes from the event loop. ``open`` takes the file's lock.
    """

    def __init__(self, directory: Path, instance_id: str) -> None:
        self.directory = directory
        self.instance_id = instance_id
        self.path = directory / f"{instance_id}.jsonl"
        self._fh: IO[bytes] | None = None
        self._outstanding = 0

    def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        # Created under another name, locked, then renamed: a peer scanning for dead owners' files
        # never sees this one unlocked.
        staging = self.path.with_suffix(".new")
        fh = staging.open("ab")
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        staging.rename(self.path)
        self._fh = fh

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
            if self._outstanding == 0:
                self.path.unlink(missing_ok=True)

    @property
    def outstanding(self) -> int:
        """How many entries wait for the database (0: nothing to replay)."""
        return self._outstanding

    def append(self, entry: JournalEntry) -> None:
        """Write one entry and fsync it: after this returns, a crash cannot lose it."""
        self._write(_dumps(entry.to_json()), sync=True)
        self._outstanding += 1
        log.warning("database unavailable: %s of %s journalled for replay", entry.kind, entry.request_id)

    def entries(self) -> list[JournalEntry]:
        return read_entries(self.path) if self.path.exists() else []

    def mark_done(self, request_id: str) -> None:
        # Not fsynced: losing a done mark only means one more (idempotent) replay.
        self._write(_dumps({"v": VERSION, "done": request_id}), sync=False)
        self._outstanding = max(self._outstanding - 1, 0)
        if self._outstanding == 0 and self._fh is not None:
            self._fh.truncate(0)

    def _write(self, data: bytes, *, sync: bool) -> None:
        if self._fh is None:
            raise RuntimeError("the journal is not open")
        self._fh.write(data)
        self._fh.flush()
        if sync:
            os.fsync(self._fh.fileno())


def orphan_files(directory: Path, own: Path | None) -> list[Path]:
    """Journal files in ``directory`` whose owner is gone (their lock can be taken), oldest first."""
    if not directory.is_dir():
        return []
    found = []
    for path in sorted(directory.glob("*.jsonl")):
        if own is not None and path == own:
            continue
        try:
            with path.open("rb") as fh:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        except BlockingIOError:
            continue  # a live process owns it
        except FileNotFoundError:
            continue
        found.append(path)
    return found


__all__ = ["JOURNAL_DIR", "Journal", "JournalEntry", "orphan_files", "read_entries"]

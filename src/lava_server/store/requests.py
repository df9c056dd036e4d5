"""Request records (one per metered call) and their daily usage roll-ups."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import MISSING, dataclass, field, fields
from functools import lru_cache
from typing import Any

from ..ids import Mode
from .base import Executor, Row
from .paging import fetch_page

US_PER_DAY = 86_400_000_000

COLUMNS = (
    "id, merchant_id, mode, status, connection_id, product_id, provider, provider_key_type, model, endpoint,"
    " response_id, input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens,"
    " input_characters, output_characters, input_ms, output_ms, usage_estimated, input_cost, output_cost,"
    " base_cost, base_cost_payer, fee_amount, service_charge, service_charge_payer, total_request_cost,"
    " total_wallet_cost, total_merchant_cost, fee_detail, pricing_detail, provider_usage, metadata, error,"
    " payload_hash, timestamp, created_at, completed_at, hold_units, fee_units_milli, units_before_milli,"
    " shortfall, overdraft_floor, token_form, external_id, instance_id, spend_key_id, client_format"
)


@dataclass
class RequestRecord:
    """A row of ``requests``; field names are the column names. A field's default must be its
    column's default in the schema: :func:`insert_request` leaves columns at their default out."""

    id: str
    merchant_id: str
    mode: Mode
    status: str
    provider: str
    provider_key_type: str
    endpoint: str
    created_at: int
    connection_id: str | None = None
    product_id: str | None = None
    model: str | None = None
    response_id: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    input_characters: int = 0
    output_characters: int = 0
    input_ms: int = 0
    output_ms: int = 0
    usage_estimated: int = 0
    input_cost: int = 0
    output_cost: int = 0
    base_cost: int = 0
    base_cost_payer: str = "wallet"
    fee_amount: int = 0
    service_charge: int = 0
    service_charge_payer: str = "wallet"
    total_request_cost: int = 0
    total_wallet_cost: int = 0
    total_merchant_cost: int = 0
    fee_detail: str | None = None
    pricing_detail: str | None = None
    provider_usage: str | None = None
    metadata: str | None = None
    error: str | None = None
    payload_hash: str | None = None
    timestamp: int | None = None
    completed_at: int | None = None
    hold_units: int = 0
    fee_units_milli: int = 0
    units_before_milli: int = 0
    shortfall: int = 0
    overdraft_floor: int = 0
    token_form: str | None = None  # who paid, as the forward token said (gateway.tokens.TokenForm)
    external_id: str | None = None  # the caller's request_id (POST /v1/requests), unique per merchant and mode
    instance_id: str | None = None  # the process (boot) that opened a pending forward call
    spend_key_id: str | None = None  # the spend key the call was made with (migration 0015)
    client_format: str | None = None
    """The format a ``/v1/rewrite`` client spoke (``openai``, ``anthropic``, ...); None for forward calls."""
    metadata_pairs: dict[str, str] = field(default_factory=dict)

    def column_values(self) -> list[Any]:
        return [getattr(self, name) for name in _NAMES]


def _record(row: Row) -> RequestRecord:
    values: dict[str, Any] = {k: (int(v) if k in _INT_COLUMNS and v is not None else v) for k, v in row.items()}
    return RequestRecord(**values)


_INT_COLUMNS = frozenset(
    name
    for name, kind in RequestRecord.__annotations__.items()
    if kind in ("int", "int | None") and name != "metadata_pairs"
)


# The statements of the hot path, built once (immutable): every billed call inserts and updates a record.
_NAMES = tuple(n.strip() for n in COLUMNS.split(","))
_MUTABLE = _NAMES[3:]  # not id, merchant_id, mode
_UPDATE_SQL = (
    "UPDATE requests SET " + ", ".join(f"{n} = ${i}" for i, n in enumerate(_MUTABLE, start=2)) + " WHERE id = $1"
)


# Each column's default (the same in the schema and on the dataclass); a column without one is always written.
_DEFAULTS: dict[str, Any] = {
    f.name: f.default for f in fields(RequestRecord) if f.name in _NAMES and f.default is not MISSING
}


@lru_cache(maxsize=256)
def _insert_sql(names: tuple[str, ...]) -> str:
    return f"INSERT INTO requests ({', '.join(names)}) VALUES ({', '.join(f'${i}' for i in range(1, len(names) + 1))})"


async def insert_request(tx: Executor, rec: RequestRecord) -> None:
    """Insert the record and its metadata pairs (all pairs in one statement). Columns still at
    their default are left to the schema's default: a new record binds ~14 values, not 45."""
    names = tuple(n for n in _NAMES if n not in _DEFAULTS or getattr(rec, n) != _DEFAULTS[n])
    await tx.execute(_insert_sql(names), *[getattr(rec, n) for n in names])
    if rec.metadata_pairs:
        values: list[str] = []
        args: list[Any] = [rec.id, rec.merchant_id, rec.mode]
        for key, value in rec.metadata_pairs.items():
            n = len(args)
            values.append(f"($1, $2, $3, ${n + 1}, ${n + 2})")
            args += [key, value]
        await tx.execute(
            "INSERT INTO request_metadata (request_id, merchant_id, mode, key, value) VALUES " + ", ".join(values),
            *args,
        )


async def update_request(
    tx: Executor, rec: RequestRecord, *, only_if_status: str | None = None, before: RequestRecord | None = None
) -> bool:
    """Write every mutable column of ``rec``; optionally only while the row still has ``only_if_status``.

    ``before``: the record as the row holds it now (as this caller inserted it); then only the
    columns that differ are written — a smaller statement, and indexes on untouched columns are
    left alone (the settlement of a billed call; docs/benchmarks.md)."""
    names = _MUTABLE if before is None else tuple(n for n in _MUTABLE if getattr(rec, n) != getattr(before, n))
    if not names:
        names = ("status",)  # still a guarded write: the result says whether the row matched
    args: list[Any] = [rec.id, *[getattr(rec, n) for n in names]]
    sql = _UPDATE_SQL if names is _MUTABLE else _update_sql(names)
    if only_if_status is not None:
        args.append(only_if_status)
        sql += f" AND status = ${len(args)}"
    return await tx.execute(sql, *args) == 1


@lru_cache(maxsize=256)
def _update_sql(names: tuple[str, ...]) -> str:
    return "UPDATE requests SET " + ", ".join(f"{n} = ${i}" for i, n in enumerate(names, start=2)) + " WHERE id = $1"


async def get_request(ex: Executor, merchant_id: str, mode: Mode, request_id: str) -> RequestRecord | None:
    row = await ex.fetchone(
        f"SELECT {COLUMNS} FROM requests WHERE id = $1 AND merchant_id = $2 AND mode = $3",
        request_id,
        merchant_id,
        mode,
    )
    if row is None:  # a manually metered request is found by the caller's own id
        row = await ex.fetchone(
            f"SELECT {COLUMNS} FROM requests WHERE external_id = $1 AND merchant_id = $2 AND mode = $3",
            request_id,
            merchant_id,
            mode,
        )
    return None if row is None else _record(row)


def _filters(
    merchant_id: str,
    mode: Mode,
    connection_id: str | None,
    product_id: str | None,
    metadata: Sequence[tuple[str, str]],
) -> tuple[list[str], list[Any]]:
    where = ["merchant_id = $1", "mode = $2"]
    args: list[Any] = [merchant_id, mode]
    if connection_id is not None:
        args.append(connection_id)
        where.append(f"connection_id = ${len(args)}")
    if product_id is not None:
        args.append(product_id)
        where.append(f"product_id = ${len(args)}")
    for key, value in metadata:
        args.extend([key, value])
        where.append(
            "EXISTS (SELECT 1 FROM request_metadata m WHERE m.request_id = requests.id"
            f" AND m.key = ${len(args) - 1} AND m.value = ${len(args)})"
        )
    return where, args


async def list_requests(
    ex: Executor,
    merchant_id: str,
    mode: Mode,
    *,
    connection_id: str | None,
    product_id: str | None,
    metadata: Sequence[tuple[str, str]],
    cursor: str | None,
    limit: int,
) -> tuple[list[RequestRecord], bool]:
    where, args = _filters(merchant_id, mode, connection_id, product_id, metadata)
    rows, more = await fetch_page(
        ex,
        select=f"SELECT {COLUMNS} FROM requests",
        where=where,
        args=args,
        cursor=cursor,
        limit=limit,
    )
    return [_record(r) for r in rows], more


@dataclass(frozen=True)
class DailyUsage:
    day: int  # days since the epoch, in the caller's UTC offset
    total_requests: int
    total_usage_tokens: int
    total_usage_cost: int
    total_fee_amount: int
    total_service_charge_amount: int
    total_request_cost: int
    total_wallet_cost: int
    total_merchant_cost: int


async def daily_usage(
    ex: Executor,
    merchant_id: str,
    mode: Mode,
    *,
    start_us: int,
    end_us: int,
    offset_us: int,
    connection_id: str | None,
    product_id: str | None,
    metadata: Sequence[tuple[str, str]],
) -> list[DailyUsage]:
    """Completed requests in [start, end], bucketed by calendar day in the given UTC offset."""
    where, args = _filters(merchant_id, mode, connection_id, product_id, metadata)
    args.extend([start_us, end_us, offset_us, US_PER_DAY])
    n = len(args)
    where += ["status = 'completed'", f"created_at >= ${n - 3}", f"created_at <= ${n - 2}"]
    sql = (
        f"SELECT (created_at + ${n - 1}) / ${n} AS day, COUNT(*) AS total_requests,"
        " SUM(input_tokens + output_tokens) AS total_usage_tokens, SUM(base_cost) AS total_usage_cost,"
        " SUM(fee_amount) AS total_fee_amount, SUM(service_charge) AS total_service_charge_amount,"
        " SUM(total_request_cost) AS total_request_cost, SUM(total_wallet_cost) AS total_wallet_cost,"
        " SUM(total_merchant_cost) AS total_merchant_cost"
        f" FROM requests WHERE {' AND '.join(where)} GROUP BY 1 ORDER BY 1"
    )
    rows = await ex.fetchall(sql, *args)
    return [DailyUsage(**{k: int(v or 0) for k, v in row.items()}) for row in rows]


async def merchant_has_response(ex: Executor, merchant_id: str, mode: Mode, response_id: str) -> bool:
    """Whether one of this merchant's calls produced ``response_id`` (see gateway ownership checks)."""
    row = await ex.fetchone(
        "SELECT id FROM requests WHERE merchant_id = $1 AND mode = $2 AND response_id = $3 LIMIT 1",
        merchant_id,
        mode,
        response_id,
    )
    return row is not None

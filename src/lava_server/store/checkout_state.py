"""Hosted-checkout state: progress per session, email codes, payments, saved cards, amount settings."""

from __future__ import annotations

from dataclasses import dataclass

from ..ids import Mode
from .base import Executor, Row
from .connections import WalletRecord

# ---------------------------------------------------------------- progress


@dataclass(frozen=True)
class Progress:
    session_id: str
    name: str | None
    email: str | None
    email_verified_at: int | None
    wallet_id: str | None


async def get_progress(ex: Executor, session_id: str) -> Progress:
    row = await ex.fetchone(
        "SELECT session_id, name, email, email_verified_at, wallet_id FROM checkout_progress WHERE session_id = $1",
        session_id,
    )
    if row is None:
        return Progress(session_id, None, None, None, None)
    verified = row["email_verified_at"]
    return Progress(
        session_id, row["name"], row["email"], None if verified is None else int(verified), row["wallet_id"]
    )


async def save_progress(tx: Executor, p: Progress, at: int) -> None:
    await tx.execute(
        "INSERT INTO checkout_progress (session_id, name, email, email_verified_at, wallet_id, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (session_id) DO UPDATE SET name = excluded.name,"
        " email = excluded.email, email_verified_at = excluded.email_verified_at,"
        " wallet_id = excluded.wallet_id, updated_at = excluded.updated_at",
        p.session_id,
        p.name,
        p.email,
        p.email_verified_at,
        p.wallet_id,
        at,
    )


# ---------------------------------------------------------------- one-time codes


@dataclass(frozen=True)
class OtpRecord:
    id: str
    session_id: str
    email: str
    code_hash: str
    attempts: int
    created_at: int
    expires_at: int
    consumed_at: int | None


def _otp(row: Row) -> OtpRecord:
    consumed = row["consumed_at"]
    return OtpRecord(
        row["id"],
        row["session_id"],
        row["email"],
        row["code_hash"],
        int(row["attempts"]),
        int(row["created_at"]),
        int(row["expires_at"]),
        None if consumed is None else int(consumed),
    )


async def insert_otp(tx: Executor, rec: OtpRecord) -> None:
    await tx.execute(
        "INSERT INTO checkout_otps (id, session_id, email, code_hash, attempts, created_at, expires_at, consumed_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        rec.id,
        rec.session_id,
        rec.email,
        rec.code_hash,
        rec.attempts,
        rec.created_at,
        rec.expires_at,
        rec.consumed_at,
    )


async def latest_otp(ex: Executor, session_id: str) -> OtpRecord | None:
    row = await ex.fetchone(
        "SELECT id, session_id, email, code_hash, attempts, created_at, expires_at, consumed_at FROM checkout_otps"
        " WHERE session_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1",
        session_id,
    )
    return None if row is None else _otp(row)


async def count_otps_for_session(ex: Executor, session_id: str) -> int:
    return int(await ex.fetchval("SELECT COUNT(*) FROM checkout_otps WHERE session_id = $1", session_id))


async def count_otps_for_email(ex: Executor, email: str, since: int) -> int:
    return int(
        await ex.fetchval("SELECT COUNT(*) FROM checkout_otps WHERE email = $1 AND created_at >= $2", email, since)
    )


async def record_otp_attempt(tx: Executor, otp_id: str) -> None:
    await tx.execute("UPDATE checkout_otps SET attempts = attempts + 1 WHERE id = $1", otp_id)


async def consume_otp(tx: Executor, otp_id: str, at: int) -> bool:
    """Single use: True only for the one caller that consumed it."""
    changed = await tx.execute(
        "UPDATE checkout_otps SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL", at, otp_id
    )
    return changed == 1


# ---------------------------------------------------------------- payments


@dataclass(frozen=True)
class PaymentRecord:
    id: str
    session_id: str
    merchant_id: str
    mode: Mode
    wallet_id: str
    processor: str
    processor_payment_id: str | None
    amount: int
    amount_minor: int
    currency: str
    status: str
    failure_code: str | None
    failure_message: str | None
    created_at: int
    credited_at: int | None


_PAYMENT = (
    "SELECT id, session_id, merchant_id, mode, wallet_id, processor, processor_payment_id, amount, amount_minor,"
    " currency, status, failure_code, failure_message, created_at, credited_at FROM checkout_payments"
)


def _payment(row: Row) -> PaymentRecord:
    credited = row["credited_at"]
    return PaymentRecord(
        id=row["id"],
        session_id=row["session_id"],
        merchant_id=row["merchant_id"],
        mode=row["mode"],
        wallet_id=row["wallet_id"],
        processor=row["processor"],
        processor_payment_id=row["processor_payment_id"],
        amount=int(row["amount"]),
        amount_minor=int(row["amount_minor"]),
        currency=row["currency"],
        status=row["status"],
        failure_code=row["failure_code"],
        failure_message=row["failure_message"],
        created_at=int(row["created_at"]),
        credited_at=None if credited is None else int(credited),
    )


async def insert_payment(tx: Executor, p: PaymentRecord) -> None:
    await tx.execute(
        "INSERT INTO checkout_payments (id, session_id, merchant_id, mode, wallet_id, processor,"
        " processor_payment_id, amount, amount_minor, currency, status, failure_code, failure_message,"
        " created_at, updated_at, credited_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,"
        " $14, $14, $15)",
        p.id,
        p.session_id,
        p.merchant_id,
        p.mode,
        p.wallet_id,
        p.processor,
        p.processor_payment_id,
        p.amount,
        p.amount_minor,
        p.currency,
        p.status,
        p.failure_code,
        p.failure_message,
        p.created_at,
        p.credited_at,
    )


async def get_payment(ex: Executor, payment_id: str) -> PaymentRecord | None:
    row = await ex.fetchone(_PAYMENT + " WHERE id = $1", payment_id)
    return None if row is None else _payment(row)


async def find_payment_by_processor_id(ex: Executor, processor: str, processor_payment_id: str) -> PaymentRecord | None:
    row = await ex.fetchone(
        _PAYMENT + " WHERE processor = $1 AND processor_payment_id = $2", processor, processor_payment_id
    )
    return None if row is None else _payment(row)


async def set_processor_payment_id(tx: Executor, payment_id: str, processor_payment_id: str, at: int) -> None:
    await tx.execute(
        "UPDATE checkout_payments SET processor_payment_id = $1, updated_at = $2"
        " WHERE id = $3 AND processor_payment_id IS NULL",
        processor_payment_id,
        at,
        payment_id,
    )


async def mark_payment_failed(tx: Executor, payment_id: str, code: str, message: str, at: int) -> bool:
    changed = await tx.execute(
        "UPDATE checkout_payments SET status = 'failed', failure_code = $1, failure_message = $2, updated_at = $3"
        " WHERE id = $4 AND status = 'pending'",
        code,
        message[:500],
        at,
        payment_id,
    )
    return changed == 1


async def mark_payment_succeeded(tx: Executor, payment_id: str, at: int) -> bool:
    """Exactly one caller wins (a failed payment can still succeed: processors are the authority)."""
    changed = await tx.execute(
        "UPDATE checkout_payments SET status = 'succeeded', credited_at = $1, updated_at = $1,"
        " failure_code = NULL, failure_message = NULL WHERE id = $2 AND status <> 'succeeded'",
        at,
        payment_id,
    )
    return changed == 1


async def sum_succeeded(ex: Executor, mode: Mode) -> int:
    value = await ex.fetchval(
        "SELECT COALESCE(SUM(amount), 0) FROM checkout_payments WHERE mode = $1 AND status = 'succeeded'", mode
    )
    return int(value)


# ---------------------------------------------------------------- customers and saved cards


@dataclass(frozen=True)
class SavedCard:
    wallet_id: str
    processor: str
    method_id: str
    brand: str
    last4: str


async def get_customer_id(ex: Executor, wallet_id: str, processor: str) -> str | None:
    value = await ex.fetchval(
        "SELECT customer_id FROM payment_customers WHERE wallet_id = $1 AND processor = $2", wallet_id, processor
    )
    return None if value is None else str(value)


async def save_customer_id(tx: Executor, wallet_id: str, processor: str, customer_id: str, at: int) -> None:
    await tx.execute(
        "INSERT INTO payment_customers (wallet_id, processor, customer_id, created_at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (wallet_id, processor) DO NOTHING",
        wallet_id,
        processor,
        customer_id,
        at,
    )


async def get_saved_card(ex: Executor, wallet_id: str, processor: str) -> SavedCard | None:
    row = await ex.fetchone(
        "SELECT wallet_id, processor, method_id, brand, last4 FROM saved_cards WHERE wallet_id = $1 AND processor = $2",
        wallet_id,
        processor,
    )
    if row is None:
        return None
    return SavedCard(row["wallet_id"], row["processor"], row["method_id"], row["brand"], row["last4"])


async def save_card(tx: Executor, card: SavedCard, at: int) -> None:
    await tx.execute(
        "INSERT INTO saved_cards (wallet_id, processor, method_id, brand, last4, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (wallet_id, processor) DO UPDATE SET"
        " method_id = excluded.method_id, brand = excluded.brand, last4 = excluded.last4,"
        " created_at = excluded.created_at",
        card.wallet_id,
        card.processor,
        card.method_id,
        card.brand,
        card.last4,
        at,
    )


# ---------------------------------------------------------------- merchant amount settings


@dataclass(frozen=True)
class AmountSettings:
    presets: tuple[int, ...]  # units
    min_amount: int
    max_amount: int


async def get_amount_settings(ex: Executor, merchant_id: str, mode: Mode) -> AmountSettings | None:
    row = await ex.fetchone(
        "SELECT presets, min_amount, max_amount FROM merchant_checkout_settings WHERE merchant_id = $1 AND mode = $2",
        merchant_id,
        mode,
    )
    if row is None:
        return None
    presets = tuple(int(p) for p in str(row["presets"]).split(",") if p.strip())
    return AmountSettings(presets, int(row["min_amount"]), int(row["max_amount"]))


async def set_amount_settings(tx: Executor, merchant_id: str, mode: Mode, s: AmountSettings, at: int) -> None:
    await tx.execute(
        "INSERT INTO merchant_checkout_settings (merchant_id, mode, presets, min_amount, max_amount, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (merchant_id, mode) DO UPDATE SET presets = excluded.presets,"
        " min_amount = excluded.min_amount, max_amount = excluded.max_amount, updated_at = excluded.updated_at",
        merchant_id,
        mode,
        ",".join(str(p) for p in s.presets),
        s.min_amount,
        s.max_amount,
        at,
    )


# ---------------------------------------------------------------- wallets (read and contact details)


async def get_wallet(ex: Executor, wallet_id: str) -> WalletRecord | None:
    row = await ex.fetchone(
        "SELECT id, mode, email, phone, first_name, last_name, autopay_enabled FROM wallets WHERE id = $1", wallet_id
    )
    return None if row is None else _wallet(row)


async def find_wallet_by_email(ex: Executor, mode: Mode, email: str) -> WalletRecord | None:
    row = await ex.fetchone(
        "SELECT id, mode, email, phone, first_name, last_name, autopay_enabled FROM wallets"
        " WHERE mode = $1 AND email = $2 ORDER BY created_at, id LIMIT 1",
        mode,
        email,
    )
    return None if row is None else _wallet(row)


async def set_wallet_contact(tx: Executor, wallet_id: str, email: str, first_name: str | None) -> None:
    await tx.execute(
        "UPDATE wallets SET email = $1, first_name = COALESCE(first_name, $2) WHERE id = $3",
        email,
        first_name,
        wallet_id,
    )


def _wallet(row: Row) -> WalletRecord:
    return WalletRecord(
        row["id"],
        row["mode"],
        row["email"],
        row["phone"],
        row["first_name"],
        row["last_name"],
        bool(row["autopay_enabled"]),
    )


async def merchant_name(ex: Executor, merchant_id: str) -> str:
    value = await ex.fetchval("SELECT name FROM merchants WHERE id = $1", merchant_id)
    return "" if value is None else str(value)

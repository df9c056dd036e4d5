"""One-time email codes: pluggable senders, hashed storage, expiry, single use, rate limits.

Test mode also accepts ``000000`` (the page says so); live mode never does.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import smtplib
from email.message import EmailMessage
from typing import Protocol

from ..auth.keyring import Keyring
from ..clock import now_us
from ..ids import IdFactory
from ..store import Database
from ..store import checkout_state as state
from ..store.checkout_sessions import CheckoutSessionRecord
from .config import CheckoutSettings

log = logging.getLogger("lava.checkout.otp")

TEST_MODE_CODE = "000000"
CODE_DIGITS = 6


class OtpError(Exception):
    """Shown to the end user as is."""


class OtpSender(Protocol):
    async def send(self, email: str, code: str, merchant_name: str) -> None: ...


class ConsoleSender:
    """Logs the code (development and test mode)."""

    async def send(self, email: str, code: str, merchant_name: str) -> None:
        log.warning("checkout email code for %s (%s): %s", email, merchant_name, code)


class SmtpSender:
    def __init__(self, settings: CheckoutSettings) -> None:
        self._s = settings

    def _send_sync(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self._s.smtp_host, self._s.smtp_port, timeout=15) as smtp:
            if self._s.smtp_starttls:
                smtp.starttls()
            if self._s.smtp_username:
                smtp.login(self._s.smtp_username, self._s.smtp_password or "")
            smtp.send_message(message)

    async def send(self, email: str, code: str, merchant_name: str) -> None:
        message = EmailMessage()
        message["From"] = self._s.smtp_from
        message["To"] = email
        message["Subject"] = f"{code} is your {merchant_name} checkout code"
        message.set_content(
            f"Your checkout code is {code}.\n\nIt expires in {self._s.otp_ttl_s // 60} minutes and works once.\n"
            "If you did not ask for it, ignore this email.\n"
        )
        await asyncio.to_thread(self._send_sync, message)


def make_sender(settings: CheckoutSettings) -> OtpSender:
    if settings.otp_sender == "console":
        return ConsoleSender()
    if settings.otp_sender == "smtp":
        return SmtpSender(settings)
    raise ValueError(f"unknown LAVA_OTP_SENDER {settings.otp_sender!r} (console | smtp)")


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


class OtpService:
    def __init__(
        self, db: Database, keyring: Keyring, ids: IdFactory, settings: CheckoutSettings, sender: OtpSender
    ) -> None:
        self._db = db
        self._keyring = keyring
        self._ids = ids
        self._s = settings
        self.sender = sender

    def _hash(self, session_id: str, code: str) -> str:
        return self._keyring.hash_secret(f"otp:{session_id}:{code}")

    async def issue(self, session: CheckoutSessionRecord, email: str, merchant_name: str) -> None:
        at = now_us()
        latest = await state.latest_otp(self._db, session.id)
        if latest is not None and at < latest.created_at + self._s.otp_resend_interval_s * 1_000_000:
            wait = (latest.created_at + self._s.otp_resend_interval_s * 1_000_000 - at) // 1_000_000 + 1
            raise OtpError(f"A code was sent moments ago. Wait {wait} seconds before asking for another.")
        if await state.count_otps_for_session(self._db, session.id) >= self._s.otp_max_per_session:
            raise OtpError("Too many codes were requested for this checkout. Ask the merchant for a new link.")
        if await state.count_otps_for_email(self._db, email, at - 3600 * 1_000_000) >= self._s.otp_max_per_email_hour:
            raise OtpError("Too many codes were sent to this address. Try again in an hour.")
        code = new_code()
        record = state.OtpRecord(
            id=self._ids.new("otp"),
            session_id=session.id,
            email=email,
            code_hash=self._hash(session.id, code),
            attempts=0,
            created_at=at,
            expires_at=at + self._s.otp_ttl_s * 1_000_000,
            consumed_at=None,
        )
        async with self._db.transaction() as tx:
            await state.insert_otp(tx, record)
        await self.sender.send(email, code, merchant_name)

    async def verify(self, session: CheckoutSessionRecord, code: str) -> str:
        """The email the code was sent to; raises OtpError otherwise. A code works once."""
        code = code.strip().replace(" ", "")
        at = now_us()
        async with self._db.transaction() as tx:
            latest = await state.latest_otp(tx, session.id)
            if latest is None:
                raise OtpError("Ask for a code first.")
            if latest.consumed_at is not None:
                raise OtpError("This code was already used. Ask for a new one.")
            if at >= latest.expires_at:
                raise OtpError("This code has expired. Ask for a new one.")
            if latest.attempts >= self._s.otp_max_attempts:
                raise OtpError("Too many wrong attempts. Ask for a new code.")
            test_code = session.mode == "test" and code == TEST_MODE_CODE
            if test_code or hmac.compare_digest(self._hash(session.id, code), latest.code_hash):
                if await state.consume_otp(tx, latest.id, at):
                    return latest.email
                raise OtpError("This code was already used. Ask for a new one.")
            # A wrong guess is counted (and committed) before the error is raised.
            await state.record_otp_attempt(tx, latest.id)
        left = self._s.otp_max_attempts - latest.attempts - 1
        raise OtpError("That code is not right. " + (f"{left} attempts left." if left else "Ask for a new code."))

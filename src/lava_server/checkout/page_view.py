"""The embedded checkout page's plumbing and rendering: its runtime (``RUNTIME``), HTML responses
with their security headers (CSP), the error guard, loading a session from its secret link, and
the ``View`` that renders one session's pages.

The request handlers that drive the state machine are in ``flow.py``.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from ..api.deps import public_base
from ..clock import now_us
from ..context import Services
from ..store import checkout_state as state
from ..store.checkout_sessions import CheckoutSessionRecord, find_checkout_session_by_secret
from ..store.connections import get_connection
from . import pages, purchase
from .csrf import csrf_token
from .otp import OtpService
from .payments import amount_settings, dollars
from .processors import ProcessorRegistry
from .processors.base import ProcessorUnavailable
from .sessions import normalise_origin

log = logging.getLogger("lava.checkout")

EMBED = "/embed/checkout/"
_SECRET = re.compile(r"^css_(?:test|live)_[A-Za-z0-9_-]{16,128}$")


@dataclass
class CheckoutRuntime:
    svc: Services
    processors: ProcessorRegistry
    otp: OtpService


RUNTIME: web.AppKey[CheckoutRuntime] = web.AppKey("lava_checkout", CheckoutRuntime)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def own_origin(request: web.Request) -> str:
    return normalise_origin(public_base(request))


def csp(frame_ancestors: str, extra: tuple[str, ...] = (), frame_src: str | None = None) -> str:
    more = "".join(" " + o for o in extra)
    frames = frame_src or more.strip() or "'none'"
    return (
        f"default-src 'none'; script-src 'self'{more}; style-src 'self'; img-src 'self' data:;"
        f" connect-src 'self'{more}; frame-src {frames};"
        f" form-action 'self'; base-uri 'none'; frame-ancestors {frame_ancestors}"
    )


def html(
    body: str,
    *,
    status: int = 200,
    ancestors: str = "'none'",
    extra: tuple[str, ...] = (),
    frame_src: str | None = None,
) -> web.Response:
    return web.Response(
        text=body,
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers={
            "Content-Security-Policy": csp(ancestors, extra, frame_src),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )


def guarded(handler: Handler) -> Handler:
    """Never a stack trace for the user, never the secret-bearing URL in a log line."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception:
            log.exception("checkout page failed (%s %s)", request.method, handler.__name__)
            frame = pages.Frame("Checkout", False, "", "", "Something went wrong", cancellable=False)
            return html(pages.page(frame, pages.closed_body("Please try again in a moment.")), status=500)

    return wrapper


def invalid_link() -> web.Response:
    frame = pages.Frame("Checkout", False, "", "", "Checkout link not valid", cancellable=False)
    body = pages.closed_body("This checkout link is not valid. Return to the site and start again.")
    return html(pages.page(frame, body), status=404)


async def load(request: web.Request) -> tuple[CheckoutSessionRecord, str] | web.Response:
    secret = request.match_info["secret"]
    if not _SECRET.match(secret):
        return invalid_link()
    rt = request.app[RUNTIME]
    session = await find_checkout_session_by_secret(rt.svc.db, rt.svc.keyring.hash_secret(secret))
    if session is None:
        return invalid_link()
    return session, secret


class View:
    """Renders one session's pages."""

    def __init__(self, request: web.Request, session: CheckoutSessionRecord, secret: str, merchant: str) -> None:
        self.request = request
        self.rt = request.app[RUNTIME]
        self.session = session
        self.base = EMBED + secret
        self.origin = normalise_origin(session.origin_url)
        self.merchant = merchant or "Checkout"
        self.csrf = csrf_token(self.rt.svc.keyring, session.id)

    def frame(self, title: str, **kw: object) -> pages.Frame:
        return pages.Frame(self.merchant, self.session.mode == "test", self.origin, self.session.id, title, **kw)  # type: ignore[arg-type]

    def respond(
        self,
        title: str,
        body: str,
        *,
        error: str | None = None,
        status: int = 200,
        extra: tuple[str, ...] = (),
        **kw: object,
    ) -> web.Response:
        return html(pages.page(self.frame(title, **kw), body, error), status=status, ancestors=self.origin, extra=extra)

    def closed(self) -> web.Response | None:
        if self.session.completed_at is not None:
            return self.respond(
                "Checkout complete",
                pages.closed_body("This checkout is already complete. You can close this window."),
                status=410,
                cancellable=True,
            )
        if now_us() >= self.session.expires_at:
            return self.respond(
                "Checkout expired",
                pages.closed_body(f"This checkout link has expired. Return to {self.merchant} and start again."),
                status=410,
            )
        return None

    async def email_on_file(self) -> str | None:
        if self.session.connection_id is None:  # topup and the purchase modes name their customer
            return None
        con = await get_connection(
            self.rt.svc.db, self.session.merchant_id, self.session.mode, self.session.connection_id
        )
        return None if con is None else con.wallet.email

    async def render_step(
        self, *, error: str | None = None, status: int = 200, amount: str | None = None
    ) -> web.Response:
        progress = await state.get_progress(self.rt.svc.db, self.session.id)
        if progress.email_verified_at is None:
            if progress.email:
                body = pages.verify_form(
                    self.base + "/verify", self.base + "/resend", self.csrf, progress.email, self.session.mode == "test"
                )
                return self.respond("Check your email", body, error=error, status=status)
            on_file = await self.email_on_file()
            if on_file:
                body = pages.topup_identify_form(self.base + "/email", self.csrf, mask_email(on_file))
                return self.respond("Add funds", body, error=error, status=status)
            onboarding = self.session.checkout_mode == "onboarding"
            body = pages.identify_form(self.base + "/email", self.csrf, ask_name=onboarding)
            return self.respond("Create your wallet" if onboarding else "Add funds", body, error=error, status=status)
        return await self.render_pay(progress, error=error, status=status, amount=amount)

    async def render_pay(
        self, progress: state.Progress, *, error: str | None, status: int, amount: str | None
    ) -> web.Response:
        processor = self.rt.processors.for_mode(self.session.mode)
        if processor is None:
            body = pages.closed_body("Card payments are not available on this server yet. Contact the merchant.")
            return self.respond("Payments unavailable", body, status=503)
        assert progress.wallet_id is not None
        amounts = await amount_settings(self.rt.svc, self.session.merchant_id, self.session.mode)
        sold = await purchase.load(self.rt.svc.db, self.session)
        if sold is not None:  # subscription / credit_bundle: one fixed price, or nothing to pay
            due = await purchase.amount_due(self.rt.svc.db, self.session, sold, self.session.connection_id)
            if due == 0:
                customer_id = await purchase.complete_without_payment(self.rt.svc, self.session, progress.wallet_id)
                return self.respond(
                    "Done", pages.done_body(self.session.checkout_mode), result="success", connection_id=customer_id
                )
            amounts = state.AmountSettings((due,), due, due)
        saved = await state.get_saved_card(self.rt.svc.db, progress.wallet_id, processor.name)
        try:
            customer = await state.get_customer_id(self.rt.svc.db, progress.wallet_id, processor.name)
            if customer is None:
                customer = await processor.ensure_customer(progress.wallet_id, progress.email, progress.name)
                async with self.rt.svc.db.transaction() as tx:
                    await state.save_customer_id(tx, progress.wallet_id, processor.name, customer, now_us())
            card_form = await processor.card_form(customer)
        except ProcessorUnavailable:
            log.exception("payment processor unavailable (checkout session %s)", self.session.id)
            body = pages.closed_body("The payment service is unavailable. Try again in a moment.")
            return self.respond("Payments unavailable", body, status=503)
        default = dollars(amounts.presets[0] if amounts.presets else amounts.min_amount)
        body = pages.pay_form(
            self.base + "/pay",
            self.csrf,
            amounts=amounts,
            amount_value=amount if amount is not None else default,
            card_form=card_form,
            saved=saved,
            test_mode=self.session.mode == "test",
            test_processor=processor.name == "test",
        )
        title = "Fund your wallet" if self.session.checkout_mode == "onboarding" else "Add funds"
        scripts = (card_form.script_url,) if card_form.script_url else ()
        return self.respond(title, body, error=error, status=status, extra=card_form.extra_origins, scripts=scripts)


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return (local[:1] + "•••" if local else "•••") + "@" + domain

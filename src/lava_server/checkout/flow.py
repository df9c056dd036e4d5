"""The embedded checkout page: GET /embed/checkout/{secret} and its form posts.

State machine per session (stored in ``checkout_progress``):
identify (name + email, or the email on file for top-ups) → verify (one-time code)
→ pay (amount + card) → done (posts ``lava_checkout_success`` to the parent origin).
Handlers never log the URL: it carries the session secret.
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
from ..ids import WALLET
from ..store import checkout_state as state
from ..store.checkout_sessions import CheckoutSessionRecord, find_checkout_session_by_secret
from ..store.connections import WalletRecord, get_connection, insert_wallet
from . import pages, purchase
from .csrf import csrf_ok, csrf_token
from .offsession import saved_method
from .otp import OtpError, OtpService
from .payments import AmountError, amount_settings, dollars, parse_user_amount, pay
from .processors import ProcessorRegistry
from .processors.base import ProcessorUnavailable
from .sessions import normalise_origin

log = logging.getLogger("lava.checkout")

EMBED = "/embed/checkout/"
MAX_FORM_BYTES = 16 * 1024
_SECRET = re.compile(r"^css_(?:test|live)_[A-Za-z0-9_-]{16,128}$")
_EMAIL = re.compile(r"^[^@\s<>\"]{1,64}@[A-Za-z0-9.-]{1,189}\.[A-Za-z]{2,24}$")


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


async def _view(request: web.Request) -> View | web.Response:
    loaded = await load(request)
    if isinstance(loaded, web.Response):
        return loaded
    session, secret = loaded
    rt = request.app[RUNTIME]
    return View(request, session, secret, await state.merchant_name(rt.svc.db, session.merchant_id))


async def _form(request: web.Request, view: View) -> dict[str, str] | web.Response:
    if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
        return view.respond("Request too large", pages.closed_body("The form was too large."), status=413)
    raw = await request.post()
    form = {k: v for k, v in raw.items() if isinstance(v, str)}
    if not csrf_ok(view.rt.svc.keyring, view.session.id, form, request.headers, own_origin(request)):
        return view.respond(
            "Page expired", pages.closed_body("This form has expired. Reload the page and try again."), status=403
        )
    return form


async def _post_prelude(request: web.Request) -> tuple[View, dict[str, str]] | web.Response:
    view = await _view(request)
    if isinstance(view, web.Response):
        return view
    closed = view.closed()
    if closed is not None:
        return closed
    form = await _form(request, view)
    if isinstance(form, web.Response):
        return form
    return view, form


def _back(view: View) -> web.Response:
    headers = {"Location": view.base, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return web.Response(status=303, headers=headers)


@guarded
async def get_page(request: web.Request) -> web.StreamResponse:
    view = await _view(request)
    if isinstance(view, web.Response):
        return view
    return view.closed() or await view.render_step()


@guarded
async def post_email(request: web.Request) -> web.StreamResponse:
    pre = await _post_prelude(request)
    if isinstance(pre, web.Response):
        return pre
    view, form = pre
    svc, session = view.rt.svc, view.session
    progress = await state.get_progress(svc.db, session.id)
    if progress.email_verified_at is not None:
        return _back(view)
    on_file = await view.email_on_file()
    name: str | None = progress.name
    if on_file:
        email = on_file
    else:
        email = form.get("email", "").strip().lower()
        if session.checkout_mode == "onboarding":
            name = " ".join(form.get("name", "").split())[:200] or None
            if not name:
                return await view.render_step(error="Enter your name.", status=400)
        if not _EMAIL.match(email):
            return await view.render_step(error="Enter a valid email address.", status=400)
    try:
        await view.rt.otp.issue(session, email, view.merchant)
    except OtpError as exc:
        return await view.render_step(error=str(exc), status=429)
    async with svc.db.transaction() as tx:
        await state.save_progress(tx, state.Progress(session.id, name, email, None, None), now_us())
    return _back(view)


@guarded
async def post_resend(request: web.Request) -> web.StreamResponse:
    pre = await _post_prelude(request)
    if isinstance(pre, web.Response):
        return pre
    view, _form_data = pre
    progress = await state.get_progress(view.rt.svc.db, view.session.id)
    if progress.email is None or progress.email_verified_at is not None:
        return _back(view)
    try:
        await view.rt.otp.issue(view.session, progress.email, view.merchant)
    except OtpError as exc:
        return await view.render_step(error=str(exc), status=429)
    return _back(view)


@guarded
async def post_verify(request: web.Request) -> web.StreamResponse:
    pre = await _post_prelude(request)
    if isinstance(pre, web.Response):
        return pre
    view, form = pre
    svc, session = view.rt.svc, view.session
    progress = await state.get_progress(svc.db, session.id)
    if progress.email_verified_at is not None:
        return _back(view)
    try:
        email = await view.rt.otp.verify(session, form.get("code", ""))
    except OtpError as exc:
        return await view.render_step(error=str(exc), status=400)
    at = now_us()
    async with svc.db.transaction() as tx:
        if session.connection_id:
            con = await get_connection(tx, session.merchant_id, session.mode, session.connection_id)
            if con is None or con.deleted_at is not None:
                return view.respond(
                    "Checkout closed", pages.closed_body("This wallet connection no longer exists."), status=410
                )
            wallet_id = con.wallet_id
            if con.wallet.email is None:
                await state.set_wallet_contact(tx, wallet_id, email, None)
        else:
            existing = await state.find_wallet_by_email(tx, session.mode, email)
            if existing is not None:
                wallet_id = existing.id
            else:
                first, _, last = (progress.name or "").partition(" ")
                wallet = WalletRecord(
                    svc.ids.new(WALLET, session.mode), session.mode, email, None, first or None, last or None
                )
                await insert_wallet(tx, wallet, at)
                await svc.ledger.open_wallet_account(tx, wallet.id, session.mode)
                wallet_id = wallet.id
        await state.save_progress(tx, state.Progress(session.id, progress.name, email, at, wallet_id), at)
    return _back(view)


@guarded
async def post_pay(request: web.Request) -> web.StreamResponse:
    pre = await _post_prelude(request)
    if isinstance(pre, web.Response):
        return pre
    view, form = pre
    svc, session = view.rt.svc, view.session
    progress = await state.get_progress(svc.db, session.id)
    if progress.email_verified_at is None or progress.wallet_id is None:
        return _back(view)
    amount_text = form.get("amount", "")
    sold = await purchase.load(svc.db, session)
    try:
        if sold is not None:  # the price is the plan's or the bundle's, whatever the form says
            amount = await purchase.amount_due(svc.db, session, sold, session.connection_id)
            if amount == 0:
                return await view.render_pay(progress, error=None, status=200, amount=None)
        else:
            amount = parse_user_amount(amount_text, await amount_settings(svc, session.merchant_id, session.mode))
    except AmountError as exc:
        return await view.render_pay(progress, error=str(exc), status=400, amount=amount_text[:32])
    result = await pay(svc, view.rt.processors, session, progress, amount, form)
    if result.status == "succeeded" and sold is not None:
        processor = view.rt.processors.for_mode(session.mode)
        saved = None if processor is None else await state.get_saved_card(svc.db, progress.wallet_id, processor.name)
        method = None if saved is None else saved_method(saved.processor, saved.method_id)
        await purchase.remember_card(svc, result.connection_id, method)
    if result.status == "succeeded":
        body = pages.done_body(session.checkout_mode)
        return view.respond(
            "Payment complete", body, result="success", connection_id=result.connection_id, cancellable=False
        )
    if result.status == "pending":
        return view.respond("Payment processing", pages.pending_body(), status=202)
    return await view.render_pay(progress, error=result.message, status=402, amount=amount_text[:32])


def add_routes(app: web.Application) -> None:
    app.router.add_get(EMBED + "{secret}", get_page)
    app.router.add_post(EMBED + "{secret}/email", post_email)
    app.router.add_post(EMBED + "{secret}/resend", post_resend)
    app.router.add_post(EMBED + "{secret}/verify", post_verify)
    app.router.add_post(EMBED + "{secret}/pay", post_pay)

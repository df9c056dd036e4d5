"""The embedded checkout page: GET /embed/checkout/{secret} and its form posts.

State machine per session (stored in ``checkout_progress``):
identify (name + email, or the email on file for top-ups) → verify (one-time code)
→ pay (amount + card) → done (posts ``lava_checkout_success`` to the parent origin).
Handlers never log the URL: it carries the session secret.
"""

from __future__ import annotations

import logging
import re

from aiohttp import web

from ..clock import now_us
from ..ids import WALLET
from ..store import checkout_state as state
from ..store.connections import WalletRecord, get_connection, insert_wallet
from . import pages, purchase
from .csrf import csrf_ok
from .offsession import saved_method
from .otp import OtpError
from .page_view import (
    EMBED,
    RUNTIME,
    View,
    guarded,
    load,
    own_origin,
)
from .payments import AmountError, amount_settings, parse_user_amount, pay

log = logging.getLogger("lava.checkout")

MAX_FORM_BYTES = 16 * 1024
_EMAIL = re.compile(r"^[^@\s<>\"]{1,64}@[A-Za-z0-9.-]{1,189}\.[A-Za-z]{2,24}$")


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

"""Server-rendered HTML for the hosted checkout. Every dynamic value goes through :func:`e`.

Plain HTML forms (they work without JavaScript, except Stripe's card field and the
messages to the parent page), one column, usable at phone width.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from ..money import UNITS_PER_USD
from ..store.checkout_state import AmountSettings, SavedCard
from .processors.base import CardForm
from .processors.test_processor import TEST_CARDS

STATIC = "/static/"


def e(value: object) -> str:
    return escape(str(value), quote=True)


def _dollars(units: int) -> str:
    cents = units // (UNITS_PER_USD // 100)
    return f"{cents // 100}.{cents % 100:02d}"


def _short_dollars(units: int) -> str:
    text = _dollars(units)
    return text[:-3] if text.endswith(".00") else text


@dataclass(frozen=True)
class Frame:
    """What every page shows around its body."""

    merchant: str
    test_mode: bool
    origin: str  # the parent's exact origin: postMessage target
    session_id: str
    title: str
    result: str | None = None  # "success" → the page script posts lava_checkout_success
    connection_id: str | None = None
    scripts: tuple[str, ...] = field(default_factory=tuple)
    cancellable: bool = True


def page(frame: Frame, body: str, error: str | None = None) -> str:
    data = f' data-origin="{e(frame.origin)}" data-session="{e(frame.session_id)}"'
    if frame.result:
        data += f' data-result="{e(frame.result)}" data-connection="{e(frame.connection_id or "")}"'
    badge = '<span class="badge">Test mode</span>' if frame.test_mode else ""
    cancel = '<button type="button" id="lava-cancel" class="link">Cancel</button>' if frame.cancellable else ""
    alert = f'<p class="error" role="alert" id="lava-error">{e(error)}</p>' if error else ""
    scripts = "".join(f'<script src="{e(src)}"></script>' for src in frame.scripts)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{e(frame.title)} · {e(frame.merchant)}</title>"
        f'<link rel="stylesheet" href="{STATIC}checkout.css"></head>'
        f'<body{data}><main class="panel">'
        f'<header><span class="merchant">{e(frame.merchant)}</span>{badge}{cancel}</header>'
        f"<h1>{e(frame.title)}</h1>{alert}{body}</main>"
        f'{scripts}<script src="{STATIC}checkout.js"></script></body></html>\n'
    )


def _csrf(token: str) -> str:
    return f'<input type="hidden" name="csrf_token" value="{e(token)}">'


def identify_form(action: str, csrf: str, *, name: str = "", email: str = "", ask_name: bool = True) -> str:
    name_field = (
        '<label for="name">Full name</label>'
        f'<input id="name" name="name" type="text" autocomplete="name" required maxlength="200" value="{e(name)}">'
        if ask_name
        else ""
    )
    return (
        f'<form method="post" action="{e(action)}" id="identify-form">{_csrf(csrf)}'
        f"<p>We will email you a one-time code to confirm your address.</p>{name_field}"
        '<label for="email">Email</label>'
        f'<input id="email" name="email" type="email" autocomplete="email" required maxlength="254" value="{e(email)}">'
        '<button type="submit" id="send-code">Send code</button></form>'
    )


def topup_identify_form(action: str, csrf: str, masked_email: str) -> str:
    return (
        f'<form method="post" action="{e(action)}" id="identify-form">{_csrf(csrf)}'
        f"<p>To add funds, confirm it is you: we will email a one-time code to "
        f"<strong>{e(masked_email)}</strong>, the address on file.</p>"
        '<button type="submit" id="send-code">Send code</button></form>'
    )


def verify_form(action: str, resend_action: str, csrf: str, email: str, test_mode: bool) -> str:
    hint = (
        '<p class="test-note">Test mode: no email is needed, the code <strong>000000</strong> works too.</p>'
        if test_mode
        else ""
    )
    return (
        f'<form method="post" action="{e(action)}" id="verify-form">{_csrf(csrf)}'
        f"<p>Enter the 6-digit code we sent to <strong>{e(email)}</strong>. It expires in a few minutes.</p>{hint}"
        '<label for="code">One-time code</label>'
        '<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code"'
        ' pattern="[0-9]{6}" maxlength="6" required>'
        '<button type="submit" id="verify">Confirm</button></form>'
        f'<form method="post" action="{e(resend_action)}" class="secondary">{_csrf(csrf)}'
        '<button type="submit" class="link" id="resend">Send a new code</button></form>'
    )


def _test_cards() -> str:
    rows = {
        "4242424242424242": "succeeds",
        "4000000000000002": "is declined",
        "4000000000009995": "fails: insufficient funds",
    }
    items = "".join(
        f"<li><code>{e(' '.join(n[i : i + 4] for i in range(0, 16, 4)))}</code> {e(rows[n])}</li>" for n in TEST_CARDS
    )
    return (
        '<div class="test-note"><p><strong>Test mode:</strong> no real card is charged. '
        "Use any future expiry date and any 3-digit CVC with:</p>"
        f"<ul>{items}</ul></div>"
    )


def pay_form(
    action: str,
    csrf: str,
    *,
    amounts: AmountSettings,
    amount_value: str,
    card_form: CardForm,
    saved: SavedCard | None,
    test_mode: bool,
    test_processor: bool,
) -> str:
    presets = "".join(f'<option value="{e(_dollars(p))}"></option>' for p in amounts.presets)
    chips = "".join(
        f'<button type="button" class="chip" data-amount="{e(_dollars(p))}">${e(_short_dollars(p))}</button>'
        for p in amounts.presets
    )
    amount = (
        '<label for="amount">Amount (USD)</label>'
        f'<div class="chips">{chips}</div>'
        '<input id="amount" name="amount" type="text" inputmode="decimal" autocomplete="transaction-amount"'
        f' list="amount-presets" required value="{e(amount_value)}">'
        f'<datalist id="amount-presets">{presets}</datalist>'
        f'<p class="hint">Between ${e(_dollars(amounts.min_amount))} and ${e(_dollars(amounts.max_amount))}.</p>'
    )
    saved_choice = ""
    if saved is not None:
        saved_choice = (
            '<fieldset class="choice"><legend>Card</legend>'
            '<label class="inline"><input type="radio" name="card_choice" value="saved" checked id="use-saved"> '
            f"Saved card: {e(saved.brand)} ending {e(saved.last4)}</label>"
            '<label class="inline"><input type="radio" name="card_choice" value="new" id="use-new"> '
            "A new card</label></fieldset>"
        )
    if card_form.browser_collects_card:
        card = (
            '<div id="new-card"><label for="card-element">Card</label><div id="card-element" class="field"></div>'
            '<input type="hidden" name="setup_intent" id="setup-intent">'
            '<input type="hidden" name="client_error" id="client-error"></div>'
        )
        attrs = (
            f' data-stripe-key="{e(card_form.publishable_key or "")}"'
            f' data-client-secret="{e(card_form.client_secret or "")}"'
        )
    else:
        card = (
            '<div id="new-card">'
            '<label for="card_number">Card number</label>'
            '<input id="card_number" name="card_number" type="text" inputmode="numeric" autocomplete="cc-number"'
            ' maxlength="23" placeholder="4242 4242 4242 4242">'
            '<div class="row"><div><label for="card_exp">Expiry (MM/YY)</label>'
            '<input id="card_exp" name="card_exp" type="text" inputmode="numeric" autocomplete="cc-exp"'
            ' maxlength="7" placeholder="MM/YY"></div>'
            '<div><label for="card_cvc">Security code (CVC)</label>'
            '<input id="card_cvc" name="card_cvc" type="text" inputmode="numeric" autocomplete="cc-csc"'
            ' maxlength="4" placeholder="123"></div></div></div>'
        )
        attrs = ""
    notes = _test_cards() if test_mode and test_processor else ""
    return (
        f'<form method="post" action="{e(action)}" id="pay-form"{attrs}>{_csrf(csrf)}'
        f"{notes}{amount}{saved_choice}{card}"
        '<button type="submit" id="pay">Pay</button></form>'
    )


def done_body(checkout_mode: str) -> str:
    what = {
        "onboarding": "Your wallet is funded.",
        "subscription": "Your plan is active.",
        "credit_bundle": "Credits were added to your plan.",
    }.get(checkout_mode, "Funds were added to your wallet.")
    return f'<p id="lava-done">{e(what)} You can close this window.</p>'


def pending_body() -> str:
    return '<p id="lava-pending">The payment is processing. Reload this page in a moment.</p>'


def closed_body(message: str) -> str:
    return f'<p id="lava-closed">{e(message)}</p>'

"""The ``stripe`` processor, on the official ``stripe`` library.

Flow: the page confirms a SetupIntent with Stripe.js (the card never reaches us), we
save the resulting payment method for the wallet's Stripe customer, then charge it
off-session with a PaymentIntent (``confirm=True``). Crediting needs a confirmed
``succeeded`` status: from that PaymentIntent, or from the signed
``payment_intent.succeeded`` webhook, whichever comes first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..config import CheckoutSettings
from .base import Card, CardForm, CardRejected, ChargeOutcome, PaymentEvent, PaymentProcessor, ProcessorUnavailable

WEBHOOK_TOLERANCE_S = 300
CARD_MESSAGES = {
    "card_declined": "Your card was declined. Try another card.",
    "insufficient_funds": "Your card has insufficient funds. Try another card or a smaller amount.",
    "expired_card": "This card has expired. Try another card.",
    "incorrect_cvc": "The security code (CVC) is not right.",
    "incorrect_number": "The card number is not right.",
    "processing_error": "The card could not be processed. Try again.",
}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _id_of(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return str(value["id"]) if "id" in value else None


class StripeProcessor(PaymentProcessor):
    name = "stripe"

    def __init__(self, settings: CheckoutSettings) -> None:
        import stripe  # imported lazily: only servers using Stripe need the library

        if not settings.stripe_secret_key or not settings.stripe_publishable_key:
            raise ProcessorUnavailable("LAVA_STRIPE_SECRET_KEY and LAVA_STRIPE_PUBLISHABLE_KEY must be set")
        self._stripe = stripe
        self._settings = settings
        base = {"api": settings.stripe_api_base.rstrip("/")} if settings.stripe_api_base else None
        self._client = stripe.StripeClient(
            settings.stripe_secret_key,
            base_addresses=base,  # type: ignore[arg-type]
            http_client=stripe.HTTPXClient(),
            max_network_retries=2,
        )

    async def ensure_customer(self, wallet_id: str, email: str | None, name: str | None) -> str:
        params: dict[str, Any] = {"metadata": {"lava_wallet_id": wallet_id}}
        if email:
            params["email"] = email
        if name:
            params["name"] = name
        try:
            customer = await self._client.v1.customers.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": f"lava-customer-{wallet_id}"},
            )
        except self._stripe.StripeError as exc:
            raise ProcessorUnavailable(f"stripe customer: {exc.user_message or exc}") from exc
        return str(customer.id)

    async def card_form(self, customer_id: str) -> CardForm:
        try:
            params: dict[str, Any] = {"customer": customer_id, "payment_method_types": ["card"], "usage": "off_session"}
            intent = await self._client.v1.setup_intents.create_async(params)  # type: ignore[arg-type]
        except self._stripe.StripeError as exc:
            raise ProcessorUnavailable(f"stripe setup intent: {exc.user_message or exc}") from exc
        js = self._settings.stripe_js_url
        api = self._settings.stripe_api_base or "https://api.stripe.com"
        origins = tuple(dict.fromkeys([_origin(js), _origin(api), "https://hooks.stripe.com"]))
        return CardForm(
            browser_collects_card=True,
            client_secret=intent.client_secret,
            publishable_key=self._settings.stripe_publishable_key,
            script_url=js,
            extra_origins=origins,
        )

    async def card_from_form(self, customer_id: str, form: Mapping[str, str]) -> Card:
        setup_intent_id = form.get("setup_intent", "")
        client_error = form.get("client_error", "")
        if client_error and not setup_intent_id:
            # Stripe.js could not save the card (e.g. declined): show it and let the user retry.
            code, _, message = client_error.partition(":")
            code = re.sub(r"[^a-z_]", "", code)[:40] or "card_declined"
            raise CardRejected(code, CARD_MESSAGES.get(code) or message[:200] or CARD_MESSAGES["card_declined"])
        if not setup_intent_id.startswith("seti_") or len(setup_intent_id) > 255:
            raise CardRejected("missing_card", "Enter your card details.")
        try:
            intent = await self._client.v1.setup_intents.retrieve_async(setup_intent_id)
            if _id_of(intent.customer) != customer_id or intent.status != "succeeded":
                raise CardRejected("card_not_saved", "The card could not be saved. Try again.")
            method_id = _id_of(intent.payment_method)
            if method_id is None:
                raise CardRejected("card_not_saved", "The card could not be saved. Try again.")
            method = await self._client.v1.payment_methods.retrieve_async(method_id)
            if _id_of(method.customer) is None:
                await self._client.v1.payment_methods.attach_async(method_id, {"customer": customer_id})
        except self._stripe.CardError as exc:
            raise CardRejected(exc.code or "card_declined", exc.user_message or "Your card was declined.") from exc
        except self._stripe.StripeError as exc:
            raise ProcessorUnavailable(f"stripe card: {exc.user_message or exc}") from exc
        card = method.card
        brand = str(card.brand).title() if card is not None and card.brand else "Card"
        last4 = str(card.last4) if card is not None and card.last4 else "????"
        return Card(method_id=method_id, brand=brand, last4=last4)

    async def charge(
        self,
        *,
        customer_id: str,
        card: Card,
        amount_minor: int,
        currency: str,
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> ChargeOutcome:
        params: dict[str, Any] = {
            "amount": amount_minor,
            "currency": currency,
            "customer": customer_id,
            "payment_method": card.method_id,
            "payment_method_types": ["card"],
            "off_session": True,
            "confirm": True,
            "metadata": dict(metadata),
        }
        try:
            intent = await self._client.v1.payment_intents.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            )
        except self._stripe.CardError as exc:
            pi = getattr(exc.error, "payment_intent", None) if exc.error is not None else None
            return ChargeOutcome(
                "failed",
                _id_of(pi),
                amount_minor,
                currency,
                exc.code or "card_declined",
                exc.user_message or "Your card was declined. Try another card.",
            )
        except self._stripe.StripeError as exc:
            raise ProcessorUnavailable(f"stripe charge: {exc.user_message or exc}") from exc
        return self._outcome(intent)

    async def retrieve(self, processor_payment_id: str) -> ChargeOutcome:
        try:
            intent = await self._client.v1.payment_intents.retrieve_async(processor_payment_id)
        except self._stripe.StripeError as exc:
            raise ProcessorUnavailable(f"stripe retrieve: {exc.user_message or exc}") from exc
        return self._outcome(intent)

    def _outcome(self, intent: Any) -> ChargeOutcome:
        amount, currency = int(intent.amount), str(intent.currency)
        if intent.status == "succeeded":
            return ChargeOutcome("succeeded", intent.id, amount, currency)
        if intent.status in ("processing", "requires_capture"):
            return ChargeOutcome("pending", intent.id, amount, currency)
        if intent.status == "requires_action":
            return ChargeOutcome(
                "failed",
                intent.id,
                amount,
                currency,
                "authentication_required",
                "Your bank asked for extra authentication, which is not possible here. Try another card.",
            )
        error = getattr(intent, "last_payment_error", None)
        message = getattr(error, "message", None) if error is not None else None
        return ChargeOutcome(
            "failed", intent.id, amount, currency, "payment_failed", message or "The payment failed. Try again."
        )

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        secret = self._settings.stripe_webhook_secret
        if not secret:
            raise ValueError("LAVA_STRIPE_WEBHOOK_SECRET is not set")
        try:
            self._stripe.WebhookSignature.verify_header(
                body.decode("utf-8"), headers.get("Stripe-Signature", ""), secret, WEBHOOK_TOLERANCE_S
            )
            event = json.loads(body)
        except (self._stripe.SignatureVerificationError, ValueError) as exc:
            raise ValueError("webhook signature verification failed") from exc
        event_type = str(event.get("type", "")) if isinstance(event, dict) else ""
        data = event.get("data") if isinstance(event, dict) else None
        obj = data.get("object") if isinstance(data, dict) else None
        if not event_type.startswith("payment_intent.") or not isinstance(obj, dict):
            return PaymentEvent("other", None, None, 0, "")
        if obj.get("object") != "payment_intent":
            return PaymentEvent("other", None, None, 0, "")
        metadata = obj.get("metadata") or {}
        kinds = {"payment_intent.succeeded": "succeeded", "payment_intent.payment_failed": "failed"}
        error = obj.get("last_payment_error") or {}
        return PaymentEvent(
            kinds.get(event_type, "other"),  # type: ignore[arg-type]
            str(obj.get("id")),
            str(metadata["lava_payment_id"]) if metadata.get("lava_payment_id") else None,
            int(obj.get("amount") or 0),
            str(obj.get("currency") or ""),
            str(error.get("message")) if isinstance(error, dict) and error.get("message") else None,
        )

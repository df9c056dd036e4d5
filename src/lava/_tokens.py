"""Forward tokens in every form, byte-identical to Node SDK 11.2.0.

A forward token is ``base64(JSON.stringify(fields))``. Current forms put
``{secret_key, customer_id?, meter_slug?, provider_key?, disable_billing?}`` in that order;
the 2025 form is ``{secret_key, connection_secret, product_secret, provider_key?}``. ``None``
is written as JSON ``null``; an argument not given is left out, as JavaScript's
``undefined`` is. Tokens are not signed: they carry the merchant's secret key, so build
them on the server and never send one to a browser.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, Final

from ._params import NOT_GIVEN, NotGiven

__all__ = ["decode_forward_token", "gateway_token_fields", "generate_forward_token", "json_stringify"]

_LONE_SURROGATE: Final = re.compile("[\ud800-\udfff]")

Opt = str | None | NotGiven


def json_stringify(value: Any) -> str:
    """``JSON.stringify``: compact, non-ASCII kept literal, lone surrogates escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    # Python str code points in the surrogate range are always unpaired; ES2019
    # JSON.stringify writes those as lowercase \\udxxx escapes.
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _check_types(**values: object) -> None:
    for name, value in values.items():
        if value is not None and value is not NOT_GIVEN and not isinstance(value, str):
            raise TypeError(f"{name} must be a string or None, not {type(value).__name__}")


def _legacy_fields(connection_secret: Opt, product_secret: Opt, provider_key: str | None) -> dict[str, Any]:
    connection = None if connection_secret is NOT_GIVEN else connection_secret
    product = None if product_secret is NOT_GIVEN else product_secret
    if connection is None and product is not None:
        raise ValueError("product_secret without connection_secret: pass both, or neither with a provider_key")
    if connection is None and provider_key is None:
        raise ValueError("Pass connection_secret (and product_secret), or provider_key for metering only")
    return {"connection_secret": connection, "product_secret": product}


def _current_fields(customer_id: Opt, meter_slug: Opt, disable_billing: bool | None) -> dict[str, Any]:
    if isinstance(customer_id, str) and not isinstance(meter_slug, str):
        raise ValueError("customer_id requires meter_slug: pass both to bill a customer, or neither")
    if disable_billing is not None:
        if not isinstance(disable_billing, bool):
            raise TypeError(f"disable_billing must be a bool, not {type(disable_billing).__name__}")
        if not isinstance(customer_id, str):
            raise ValueError("disable_billing needs customer_id and meter_slug")
    fields: dict[str, Any] = {}
    if customer_id is not NOT_GIVEN:
        fields["customer_id"] = customer_id
    if meter_slug is not NOT_GIVEN:
        fields["meter_slug"] = meter_slug
    return fields


def generate_forward_token(
    *,
    secret_key: str,
    customer_id: Opt = NOT_GIVEN,
    meter_slug: Opt = NOT_GIVEN,
    provider_key: str | None = None,
    disable_billing: bool | None = None,
    connection_secret: Opt = NOT_GIVEN,
    product_secret: Opt = NOT_GIVEN,
) -> str:
    """Build the ``Authorization: Bearer`` token for ``/forward`` and ``/rewrite``.

    Forms (who pays):

    * nothing else: the merchant pays the provider, nobody is charged;
    * ``meter_slug``: meter-only, tracked on the meter, nobody is charged;
    * ``customer_id`` + ``meter_slug``: the customer is charged by the meter;
      ``disable_billing=True`` tracks the customer without charging;
    * ``customer_id=None, meter_slug=None``: explicit nulls (Node's metering-only form);
    * the 2025 form: ``connection_secret`` (+ ``product_secret``), or both ``None`` with a
      ``provider_key`` for metering only.

    Any form takes a ``provider_key`` (bring your own key). ``ValueError`` for a
    ``customer_id`` without ``meter_slug``, ``disable_billing`` without both, or the 2025
    secrets mixed with the current fields; ``TypeError`` for non-string values.
    """
    if not isinstance(secret_key, str) or not secret_key:
        raise ValueError("secret_key must be a non-empty string")
    _check_types(
        customer_id=customer_id,
        meter_slug=meter_slug,
        provider_key=provider_key,
        connection_secret=connection_secret,
        product_secret=product_secret,
    )
    legacy = connection_secret is not NOT_GIVEN or product_secret is not NOT_GIVEN
    current = customer_id is not NOT_GIVEN or meter_slug is not NOT_GIVEN or disable_billing is not None
    if legacy and current:
        raise ValueError("connection_secret/product_secret (2025) cannot be mixed with customer_id/meter_slug")
    payload: dict[str, Any] = {"secret_key": secret_key}
    if legacy:
        payload |= _legacy_fields(connection_secret, product_secret, provider_key)
    else:
        payload |= _current_fields(customer_id, meter_slug, disable_billing)
    if provider_key is not None:
        payload["provider_key"] = provider_key
    if disable_billing is not None:
        payload["disable_billing"] = disable_billing
    return base64.b64encode(json_stringify(payload).encode("utf-8")).decode("ascii")


def gateway_token_fields(
    customer_id: str | None, meter_slug: str | None, provider_key: str | None, disable_billing: bool | None
) -> dict[str, Any]:
    """The token arguments Node 11.2.0's ``gateway()`` picks from its options.

    Both ids: customer billing; a slug alone: meter-only with ``customer_id: null``; neither:
    the secret alone. A ``customer_id`` without a slug raises before any HTTP call.
    """
    if customer_id is not None and meter_slug is not None:
        return {
            "customer_id": customer_id,
            "meter_slug": meter_slug,
            "provider_key": provider_key,
            "disable_billing": disable_billing,
        }
    if customer_id is not None:
        raise ValueError(
            "gateway(): customer_id requires meter_slug. Provide both for customer billing, "
            "or omit both for merchant billing."
        )
    if disable_billing is not None:
        raise ValueError("gateway(): disable_billing needs customer_id and meter_slug")
    if meter_slug is not None:
        return {"customer_id": None, "meter_slug": meter_slug, "provider_key": provider_key}
    return {"provider_key": provider_key}


def decode_forward_token(token: str) -> dict[str, Any]:
    """Decode a forward token back to its JSON object (standard or URL-safe base64)."""
    text = token.strip()
    if text.lower().startswith("bearer "):
        text = text[7:].strip()
    try:
        altchars = b"-_" if "-" in text or "_" in text else None
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=altchars, validate=True)
        value = json.loads(raw.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"Not a forward token: {exc}") from exc
    if not isinstance(value, dict):
        raise ValueError("Not a forward token: the JSON is not an object")
    return value

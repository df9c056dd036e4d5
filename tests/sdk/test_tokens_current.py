"""Forward tokens in every form (secret only, meter-only, customer, disable_billing, BYOK), byte-identical to Node 11.2.0's
``generateForwardToken`` (run in node from tests/compat/node/node_modules/lava1120)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from lava import NOT_GIVEN, Lava, generate_forward_token

from . import _node1120

KEY = "aks_test_tokens"
BASE = "http://lava.test/v1/"
TRICKY = 'ünï 😀 \u2028 "\\/ \x01\x7f 日本'

# Node's argument object; absent keys are JavaScript `undefined`, None is `null`.
FORMS: list[dict[str, Any]] = [
    {},  # 1: the secret alone, the merchant pays
    {"provider_key": "sk-byok"},  # 1 + BYOK
    {"meter_slug": "chat"},  # 2: meter-only
    {"customer_id": None, "meter_slug": "chat"},  # 2 as gateway() writes it
    {"meter_slug": "chat", "provider_key": "sk-byok"},
    {"customer_id": "con_01K7", "meter_slug": "chat"},  # 3: the customer is charged
    {"customer_id": "user_123", "meter_slug": "prd_01K7"},  # a reference_id and a meter id
    {"customer_id": "con_01K7", "meter_slug": "chat", "disable_billing": True},  # 4: tracked only
    {"customer_id": "con_01K7", "meter_slug": "chat", "disable_billing": False},
    {"customer_id": "con_01K7", "meter_slug": "chat", "provider_key": "sk-byok", "disable_billing": True},
    {"customer_id": None, "meter_slug": None, "provider_key": "sk-byok"},  # metering only, explicit nulls
    {"customer_id": None, "meter_slug": None},
    {"customer_id": TRICKY, "meter_slug": TRICKY, "provider_key": TRICKY},
    {"customer_id": "a\ud800b", "meter_slug": "\udc00"},  # lone surrogates, as JSON.stringify escapes them
]


@pytest.mark.node
def test_every_form_is_byte_identical_to_node_1120() -> None:
    records = _node1120.run([{"kind": "token", "args": [form]} for form in FORMS], key=KEY, base=BASE)
    client = Lava(KEY, base_url=BASE)
    for form, record in zip(FORMS, records, strict=True):
        assert record["error"] is None, (form, record)
        assert generate_forward_token(secret_key=KEY, **form) == record["token"], form
        assert client.generate_forward_token(**form) == record["token"], form


def _json(token: str) -> bytes:
    return base64.b64decode(token)


def test_key_order_and_nulls_follow_node() -> None:
    client = Lava(KEY, base_url=BASE)
    assert _json(client.generate_forward_token()) == b'{"secret_key":"aks_test_tokens"}'
    assert _json(client.generate_forward_token(disable_billing=True, meter_slug="m", customer_id="c")) == (
        b'{"secret_key":"aks_test_tokens","customer_id":"c","meter_slug":"m","disable_billing":true}'
    )
    assert _json(client.generate_forward_token(customer_id=None, meter_slug=None, provider_key="k")) == (
        b'{"secret_key":"aks_test_tokens","customer_id":null,"meter_slug":null,"provider_key":"k"}'
    )
    # NOT_GIVEN is "leave the key out", like JavaScript's undefined
    assert client.generate_forward_token(customer_id=NOT_GIVEN, meter_slug="m") == client.generate_forward_token(
        meter_slug="m"
    )


def test_legacy_form_is_unchanged() -> None:
    client = Lava(KEY, base_url=BASE, api_version="2025-04-28.v1")
    assert _json(client.generate_forward_token(connection_secret="cons_x", product_secret="ps_y")) == (
        b'{"secret_key":"aks_test_tokens","connection_secret":"cons_x","product_secret":"ps_y"}'
    )
    assert _json(client.generate_forward_token(connection_secret="cons_x")) == (
        b'{"secret_key":"aks_test_tokens","connection_secret":"cons_x","product_secret":null}'
    )


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"customer_id": "con_1"}, ValueError),  # the SDK refuses it locally, as Node's gateway() does
        ({"customer_id": "con_1", "meter_slug": None}, ValueError),
        ({"disable_billing": True}, ValueError),
        ({"meter_slug": "m", "disable_billing": True}, ValueError),
        ({"customer_id": "c", "meter_slug": "m", "disable_billing": "yes"}, TypeError),
        ({"customer_id": "c", "meter_slug": "m", "connection_secret": "cons_x"}, ValueError),  # mixed generations
        ({"meter_slug": "m", "product_secret": "ps_y"}, ValueError),
        ({"meter_slug": 5}, TypeError),
        ({"customer_id": 1, "meter_slug": "m"}, TypeError),
    ],
)
def test_invalid_combinations_are_refused_locally(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        generate_forward_token(secret_key=KEY, **kwargs)

"""Current-generation forward tokens (docs/current-api.md "Token forms"): every form, and every refusal."""

from __future__ import annotations

import base64
import json

import pytest
from multidict import CIMultiDict

from lava_server.errors import ApiError
from lava_server.gateway.tokens import decode_token, extract_token


def enc(data: object, *, urlsafe: bool = False) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return (base64.urlsafe_b64encode(raw) if urlsafe else base64.b64encode(raw)).decode()


K = "aks_test_k"


@pytest.mark.parametrize(
    ("data", "form", "customer", "meter", "disable"),
    [
        ({"secret_key": K}, "merchant", None, None, False),
        ({"secret_key": K, "customer_id": None, "meter_slug": "m"}, "meter", None, "m", False),
        ({"secret_key": K, "customer_id": "u1", "meter_slug": "m"}, "customer", "u1", "m", False),
        ({"secret_key": K, "connection_id": "con_x", "meter_slug": "m"}, "customer", "con_x", "m", False),
        ({"secret_key": K, "customer_id": "c", "connection_id": "c", "meter_slug": "m"}, "customer", "c", "m", False),
        (
            {"secret_key": K, "customer_id": "u1", "meter_slug": "m", "disable_billing": True},
            "customer_untracked",
            "u1",
            "m",
            True,
        ),
        ({"secret_key": K, "meter_slug": "m", "disable_billing": True}, "meter", None, "m", False),  # ignored
        (
            {"secret_key": K, "customer_id": "u1", "meter_slug": "m", "disable_billing": None},
            "customer",
            "u1",
            "m",
            False,
        ),
        (
            {"secret_key": K, "customer_id": None, "meter_slug": None, "provider_key": "sk-b"},
            "merchant",
            None,
            None,
            False,
        ),
        ({"secret_key": K, "unknown_field": 1}, "merchant", None, None, False),  # unknown keys are ignored
    ],
)
def test_current_forms(
    data: dict[str, object], form: str, customer: str | None, meter: str | None, disable: bool
) -> None:
    for token in (enc(data), enc(data, urlsafe=True).rstrip("=")):
        parsed = decode_token(token)
        assert (parsed.form, parsed.customer, parsed.meter_slug, parsed.disable_billing) == (
            form,
            customer,
            meter,
            disable,
        )
        assert parsed.legacy is False


def test_a_bare_secret_key_is_the_merchant_form() -> None:
    parsed = decode_token("aks_live_abc")
    assert (parsed.secret_key, parsed.form, parsed.legacy) == ("aks_live_abc", "merchant", False)
    assert extract_token(CIMultiDict({"x-api-key": "aks_test_abc"}), None) == ("aks_test_abc", "x-api-key")


def test_legacy_forms_keep_their_meaning() -> None:
    assert decode_token(enc({"secret_key": K, "connection_secret": "cons_test_c"})).form == "legacy"
    metering = {"secret_key": K, "connection_secret": None, "product_secret": None, "provider_key": "sk"}
    assert decode_token(enc(metering)).form == "legacy_metering"


@pytest.mark.parametrize(
    "data",
    [
        {"secret_key": K, "customer_id": "u1"},  # customer without meter
        {"secret_key": K, "customer_id": "u1", "meter_slug": None},
        {"secret_key": K, "connection_id": "con_x"},
        {"secret_key": K, "customer_id": "a", "connection_id": "b", "meter_slug": "m"},  # two customers
        {"secret_key": K, "customer_id": "u1", "meter_slug": "m", "disable_billing": "yes"},
        {"secret_key": K, "customer_id": "u1", "meter_slug": "m", "disable_billing": 1},
        {"secret_key": K, "connection_secret": "cons_test_c", "meter_slug": "m"},  # mixed generations
        {"secret_key": K, "connection_secret": "cons_test_c", "customer_id": "u1", "meter_slug": "m"},
        {"secret_key": K, "product_secret": None, "connection_secret": None, "meter_slug": "m", "provider_key": "s"},
        {"secret_key": K, "connection_secret": "cons_test_c", "disable_billing": True},
        {"secret_key": K, "meter_slug": 5},
        {"secret_key": K, "customer_id": "", "meter_slug": "m"},
    ],
)
def test_refused_current_tokens_are_401_invalid_forward_token(data: dict[str, object]) -> None:
    with pytest.raises(ApiError) as info:
        decode_token(enc(data))
    assert (info.value.status, info.value.code) == (401, "invalid_forward_token")

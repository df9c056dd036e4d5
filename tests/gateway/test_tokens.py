"""Forward token decoding and carriers (gateway/tokens.py)."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict

from lava_server.errors import ApiError
from lava_server.gateway.tokens import MAX_TOKEN_LENGTH, ForwardToken, decode_token, extract_token

FULL = {"secret_key": "aks_test_k", "connection_secret": "cons_test_c", "product_secret": "ps_test_p"}


def enc(obj: object, *, urlsafe: bool = False, pad: bool = True) -> str:
    raw = json.dumps(obj, separators=(",", ":")).encode()
    out = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(raw).decode()
    return out if pad else out.rstrip("=")


# -- decode_token ----------------------------------------------------------------------------


def test_node_sdk_token_decodes() -> None:
    # the exact token @lavapayments/nodejs 2.5.0 generated (tests/compat/test_node_sdk.py checks the package still does)
    token = (
        "eyJzZWNyZXRfa2V5IjoiYWtzX3Rlc3RfeCIsImNvbm5lY3Rpb25fc2VjcmV0IjoiY29uc194IiwicHJvZHVjdF9zZWNyZXQiOiJwc195In0="
    )
    assert decode_token(token) == ForwardToken("aks_test_x", "cons_x", "ps_y", None)


@pytest.mark.parametrize("urlsafe", [False, True])
@pytest.mark.parametrize("pad", [True, False])
def test_base64_variants(urlsafe: bool, pad: bool) -> None:
    data = {**FULL, "provider_key": "sk-??>>~~"}  # bytes that differ between the alphabets
    assert decode_token(enc(data, urlsafe=urlsafe, pad=pad)) == ForwardToken(
        "aks_test_k", "cons_test_c", "ps_test_p", "sk-??>>~~"
    )


def test_metering_only_token() -> None:
    token = decode_token(
        enc({"secret_key": "aks_test_k", "connection_secret": None, "product_secret": None, "provider_key": "sk"})
    )
    assert token.connection_secret is None and token.product_secret is None and token.provider_key == "sk"


def test_connection_without_product_is_allowed() -> None:
    assert decode_token(enc({"secret_key": "aks_test_k", "connection_secret": "cons_test_c"})).product_secret is None


@pytest.mark.parametrize(
    "token",
    [
        "eyJ!!!",
        "eyJ" + "A" * 10,
        enc([FULL]),
        enc("just a string"),
        enc(42),
        enc({}),
        enc({"connection_secret": "cons_test_c"}),
        enc({**FULL, "secret_key": 5}),
        enc({**FULL, "secret_key": ""}),
        enc({**FULL, "secret_key": None}),
        enc({**FULL, "connection_secret": ["x"]}),
        enc({**FULL, "provider_key": {"k": "v"}}),
        enc({**FULL, "product_secret": "x" * 1025}),
        enc({"secret_key": "aks_test_k", "connection_secret": None, "product_secret": "ps_test_p"}),
        enc({"secret_key": "aks_test_k", "connection_secret": None, "product_secret": None}),
        base64.b64encode(b"\xff\xfe{not utf8").decode(),
        "e" * (MAX_TOKEN_LENGTH + 1),
    ],
)
def test_malformed_tokens_are_401_invalid_forward_token(token: str) -> None:
    with pytest.raises(ApiError) as info:
        decode_token(token)
    assert (info.value.status, info.value.code) == (401, "invalid_forward_token")


@given(st.text(max_size=200))
def test_decode_never_raises_anything_but_a_401(text: str) -> None:
    try:
        decode_token(text)
    except ApiError as err:
        assert err.status == 401
    except Exception as exc:  # pragma: no cover - the property under test
        raise AssertionError(f"{type(exc).__name__} for {text!r}") from exc


@given(st.binary(max_size=300))
def test_decode_of_arbitrary_base64_never_500s(raw: bytes) -> None:
    try:
        decode_token(base64.b64encode(raw).decode())
    except ApiError as err:
        assert err.status == 401


# -- extract_token ---------------------------------------------------------------------------

T = enc(FULL)
OTHER = enc({**FULL, "secret_key": "aks_test_other"})


def headers(**items: str) -> CIMultiDict[str]:
    return CIMultiDict({k.replace("_", "-"): v for k, v in items.items()})


@pytest.mark.parametrize(
    ("hdrs", "key_param", "expected"),
    [
        (headers(Authorization=f"Bearer {T}"), None, (T, "authorization")),
        (headers(authorization=f"bearer   {T}  "), None, (T, "authorization")),
        (headers(x_api_key=T), None, (T, "x-api-key")),
        (headers(x_goog_api_key=T), None, (T, "x-goog-api-key")),
        (headers(), T, (T, "?key")),
        (headers(xi_api_key=T), None, (T, "xi-api-key")),
        # precedence: Bearer > x-api-key > x-goog-api-key > ?key= > xi-api-key
        (headers(Authorization=f"Bearer {T}", x_api_key=OTHER), OTHER, (T, "authorization")),
        (headers(x_api_key=T, x_goog_api_key=OTHER, xi_api_key=OTHER), OTHER, (T, "x-api-key")),
        (headers(x_goog_api_key=T, xi_api_key=OTHER), OTHER, (T, "x-goog-api-key")),
        (headers(xi_api_key=OTHER), T, (T, "?key")),
        # a non-Lava value in an earlier carrier (e.g. a provider key) does not shadow the token
        (headers(Authorization="Bearer sk-proj-123", x_api_key=T), None, (T, "x-api-key")),
        (headers(Authorization=f"Basic {OTHER}", x_goog_api_key=T), None, (T, "x-goog-api-key")),
        (headers(x_api_key="sk-ant-1"), T, (T, "?key")),
    ],
)
def test_extract_token_carriers_and_precedence(
    hdrs: CIMultiDict[str], key_param: str | None, expected: tuple[str, str]
) -> None:
    assert extract_token(hdrs, key_param) == expected


@pytest.mark.parametrize(
    ("hdrs", "key_param"),
    [
        (headers(), None),
        (headers(Authorization="Bearer"), None),
        (headers(Authorization=f"Token {T}"), None),
        (headers(x_api_key=""), ""),
        (headers(cookie=f"token={T}"), None),
    ],
)
def test_no_token_is_401_missing_forward_token(hdrs: CIMultiDict[str], key_param: str | None) -> None:
    with pytest.raises(ApiError) as info:
        extract_token(hdrs, key_param)
    assert (info.value.status, info.value.code) == (401, "missing_forward_token")


def test_a_non_token_bearer_is_passed_on_to_decoding() -> None:
    """A Bearer value that is not a Lava token (a raw provider key, base64 of a list) is still the
    credential the client meant: decoding then fails with invalid_forward_token, not "missing"."""
    assert extract_token(headers(Authorization="Bearer sk-proj-123"), None) == ("sk-proj-123", "authorization")
    with pytest.raises(ApiError) as info:
        decode_token("sk-proj-123")
    assert (info.value.status, info.value.code) == (401, "invalid_forward_token")

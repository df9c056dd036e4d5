"""CLI login: ``Lava.exchange_auth_code`` sends what Node 11.2.0's ``Lava.exchangeAuthCode`` sends."""

from __future__ import annotations

import httpx
import pytest

import lava
from lava import AsyncLava, Lava

from . import _node1120
from .conftest import BASE, Recorder, error, ok

CREDENTIALS = {
    "wallet_id": "wal_01K7",
    "secret_key_id": "key_01K7",
    "secret_key": "aks_test_fresh",
    "merchant_id": "mer_01K7",
    "account_id": "acct_01K7",
}


@pytest.mark.node
def test_request_matches_node_and_carries_no_secret_key() -> None:
    (record,) = _node1120.run(
        [{"kind": "exchangeAuthCode", "args": [{"code": "c0de", "baseUrl": BASE.rstrip("/")}]}], key="k", base=BASE
    )
    (node,) = record["requests"]
    recorder = Recorder(ok(CREDENTIALS))
    with httpx.Client(transport=httpx.MockTransport(recorder)) as http:
        creds = Lava.exchange_auth_code("c0de", base_url=BASE.rstrip("/"), http_client=http)
    ours = recorder.last
    assert (ours.method, str(ours.url), ours.content.decode()) == (node["method"], node["url"], node["body"])
    assert "authorization" not in ours.headers and ours.headers["content-type"] == "application/json"
    assert creds.secret_key == "aks_test_fresh" and creds.account_id == "acct_01K7"


def test_invalid_code_raises() -> None:
    recorder = Recorder(error(400, "invalid_auth_code"))
    with httpx.Client(transport=httpx.MockTransport(recorder)) as http, pytest.raises(lava.BadRequestError) as raised:
        lava.auth.exchange_auth_code("used", base_url=BASE, http_client=http)
    assert raised.value.code == "invalid_auth_code"


async def test_async_exchange() -> None:
    recorder = Recorder(ok(CREDENTIALS))
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as http:
        creds = await AsyncLava.exchange_auth_code("c0de", base_url=BASE, http_client=http)
    assert creds.wallet_id == "wal_01K7" and str(recorder.last.url) == f"{BASE}auth/callback"

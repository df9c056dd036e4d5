"""Helpers for the SDK's transport-level tests: a recording ``httpx.MockTransport``, and the
``current_api`` fixture of the current-API flow tests.

End-to-end tests use the real server (the ``lava_server`` fixture in tests/conftest.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import pytest

import lava

from ._e2e import new_merchant
from ._fake_current import FakeLava

BASE = "http://lava.test/v1/"
KEY = "aks_test_unit"

Item = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler: records every request and replays ``items`` in order.

    Each item is a response, an exception to raise (e.g. ``httpx.ConnectError``) or a
    function of the request. After the queue is empty, ``default`` answers.
    """

    def __init__(self, *items: Item, default: Item | None = None) -> None:
        self.items = list(items)
        self.default = default
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        item = self.items.pop(0) if self.items else self.default
        if item is None:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        if isinstance(item, Exception):
            raise item
        if callable(item):
            return item(request)
        return item

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def json(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


class Sleeps(list[float]):
    """Stands in for time.sleep / asyncio.sleep and records the delays."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.append(seconds)


def ok(body: Any = None, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={} if body is None else body, headers=headers)


def error(status: int, code: str = "some_code", message: str = "went wrong", **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"message": message, "code": code, "status": status}}, headers=headers)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_client(sleeps: Sleeps) -> Callable[..., lava.Lava]:
    def make(recorder: Recorder, **kwargs: Any) -> lava.Lava:
        kwargs.setdefault("base_url", BASE)
        kwargs.setdefault("sleep", sleeps)
        return lava.Lava(KEY, http_client=httpx.Client(transport=httpx.MockTransport(recorder)), **kwargs)

    return make


@pytest.fixture
def make_async_client(sleeps: Sleeps) -> Callable[..., lava.AsyncLava]:
    def make(recorder: Recorder, **kwargs: Any) -> lava.AsyncLava:
        kwargs.setdefault("base_url", BASE)
        kwargs.setdefault("sleep", sleeps.async_sleep)
        return lava.AsyncLava(KEY, http_client=httpx.AsyncClient(transport=httpx.MockTransport(recorder)), **kwargs)

    return make


# Wire shapes of the reference API (the schemas in the server's /openapi.json).

CHECKOUT_SESSION = {
    "checkout_session_id": "cs_01K7",
    "checkout_session_token": "eyJzZWNyZXQiOiJjc3NfbGl2ZV94IiwiYmFzZSI6Imh0dHBzOi8vd3d3LmxhdmFwYXltZW50cy5jb20vIn0=",
    "checkout_mode": "onboarding",
    "origin_url": "https://your-app.example.com/",
    "reference_id": "customer_123456",
    "created_at": "2023-05-15T08:30:00Z",
}

CONNECTION = {
    "connection_id": "con_01K7QJT2YR00E6FF5B9WAXP0GB",
    "connection_secret": "cons_live_abc",
    "reference_id": "customer_123456",
    "wallet": {
        "balance": "125.5000000000",
        "phone": "+14155552671",
        "email": "jane@example.com",
        "first_name": "Jane",
        "last_name": "Smith",
        "autopay_enabled": True,
    },
    "next_usage_reset": "2023-05-15T08:35:42Z",
    "previous_usage_reset": "2023-05-15T08:35:42Z",
    "created_at": "2023-05-15T08:35:42Z",
}

REQUEST = {
    "request_id": "req_01K7QJT2YQKB9E6SB3J4VRDJEV",
    "status": "completed",
    "connection_id": "con_01K7",
    "product_id": "prd_01K7",
    "provider": "openai",
    "provider_key_type": "managed",
    "model": "gpt-4",
    "endpoint": "POST https://api.openai.com/v1/chat/completions",
    "response_id": "chatcmpl-1",
    "model_usage": {
        "input_tokens": 845,
        "output_tokens": 412,
        "total_tokens": 1257,
        "input_characters": 0,
        "output_characters": 0,
        "total_characters": 0,
        "input_seconds": 0,
        "output_seconds": 1.5,
        "total_seconds": 1.5,
        "input_cost": "0.0169000000",
        "output_cost": "0.0412000000",
        "total_cost": "0.0581000000",
        "payer": "wallet",
    },
    "fee": {
        "amount": "0.0058100000",
        "rate_type": "fixed",
        "token_basis": "input+output",
        "breakdown": [
            {
                "tier": {"start": 0, "rate": "0.0000000000", "type": "tokens_1m"},
                "tokens": 1000000,
                "characters": 0,
                "seconds": 0,
                "cost": "0.0000000000",
            }
        ],
    },
    "service_charge": {"amount": "0.0058100000", "payer": "wallet"},
    "total_request_cost": "0.0639100000",
    "total_wallet_cost": "0.0639100000",
    "total_merchant_cost": "0.0000000000",
    "metadata": {"user_id": "123456"},
    "timestamp": "2023-05-15T14:22:31Z",
    "created_at": "2023-05-15T14:22:31Z",
}

_SUMS = {
    "total_requests": 100,
    "total_usage_tokens": 45823,
    "total_usage_cost": "2.5741000000",
    "total_fee_amount": "0.2574100000",
    "total_service_charge_amount": "0.2574100000",
    "total_request_cost": "2.8315100000",
    "total_wallet_cost": "2.8315100000",
    "total_merchant_cost": "0.0000000000",
}

USAGE = {
    "items": [{"date": "2023-05-15", "start": "2023-05-15T00:00:00Z", "end": "2023-05-15T23:59:59Z", **_SUMS}],
    "totals": _SUMS,
}


def page(items: list[dict[str, Any]], next_cursor: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"data": items, "has_more": next_cursor is not None}
    if next_cursor is not None:
        body["next_cursor"] = next_cursor
    return httpx.Response(200, json=body)


# --- the current API, end to end ----------------------------------------------------------
# Flow tests (test_current_flows.py) take ``current_api`` through ``backends(feature)``: every
# flow runs on the in-memory fake of _fake_current.py, and also on a real server (whose
# providers are the fakes of tests/fakes, via tests/e2e/conftest_gateway.py's stack) once its
# feature is listed in LIVE_FEATURES, i.e. once the server side of that feature has landed.

Feature = Literal["customers", "meters", "secret_keys", "gateway", "plans", "webhooks", "spend_keys"]
LIVE_FEATURES: frozenset[Feature] = frozenset(
    {"customers", "meters", "secret_keys", "gateway", "webhooks", "spend_keys", "plans"}
)


def backends(*features: Feature, fake: bool = True) -> pytest.MarkDecorator:
    """Parametrize ``current_api``: "fake" (unless the fake lacks the feature), and "live" when
    every feature is served. A flow with neither backend is an error, never a silent skip."""
    names = (["fake"] if fake else []) + (["live"] if set(features) <= LIVE_FEATURES else [])
    assert names, f"no backend serves {features}"
    return pytest.mark.parametrize("current_api", names, indirect=True)


@dataclass
class CurrentApi:
    client: lava.Lava
    async_client: lava.AsyncLava
    chat_url: str
    """A provider endpoint the gateway reaches (a fake upstream on the live backend)."""
    fund: Callable[[str], None]
    """Give a customer credits to spend (live: a prepaid credit through the admin CLI)."""


@pytest.fixture(scope="session")
def current_live_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.e2e.conftest_gateway import start_fake_stack

    stack, stop = start_fake_stack(tmp_path_factory.mktemp("sdk-current"))
    yield stack
    stop()


def _fund_prepaid(server: Any, secret_key: str) -> Callable[[str], None]:
    """Credit the customer's prepaid balance (the last bucket a charge draws from)."""

    def fund(customer_id: str) -> None:
        server.cli("wallets", "credit", "--secret-key", secret_key, "--connection-id", customer_id, "--amount", "10")

    return fund


def _no_funding_needed(customer_id: str) -> None:
    """The fake never refuses a call for lack of credits."""


@pytest.fixture
def current_api(request: pytest.FixtureRequest) -> Iterator[CurrentApi]:
    chat_url = "https://api.openai.com/v1/chat/completions"
    if request.param == "fake":
        fake = FakeLava()
        transport = httpx.MockTransport(fake)
        client = lava.Lava(fake.secret_key, base_url=BASE, http_client=httpx.Client(transport=transport))
        aclient = lava.AsyncLava(fake.secret_key, base_url=BASE, http_client=httpx.AsyncClient(transport=transport))
        fund = _no_funding_needed
    else:
        server = request.getfixturevalue("current_live_stack").server
        key = new_merchant(server)
        client = lava.Lava(key, base_url=server.api_base, max_retries=0)
        aclient = lava.AsyncLava(key, base_url=server.api_base, max_retries=0)
        fund = _fund_prepaid(server, key)
    with client:
        yield CurrentApi(client, aclient, chat_url, fund)

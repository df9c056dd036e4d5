"""End to end: ``lava.Lava`` against a real Lava server (tests/conftest.py ``lava_server``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

import lava
from lava import Lava

from ._e2e import ORIGIN, decode_checkout_token, new_connections, new_merchant


@pytest.fixture
def secret_key(lava_server: Any) -> str:
    return new_merchant(lava_server)


@pytest.fixture
def client(lava_server: Any, secret_key: str) -> Any:
    with Lava(secret_key, base_url=lava_server.api_base) as c:
        yield c


def test_list_connections_paginates_newest_first(lava_server: Any, secret_key: str, client: Lava) -> None:
    made = new_connections(lava_server, secret_key, 5)
    newest_first = [m["connection_id"] for m in reversed(made)]

    first = client.connections.list(limit=2)
    assert [c.connection_id for c in first.data] == newest_first[:2]
    assert first.has_more is True and first.next_cursor
    second = first.get_next_page()
    assert [c.connection_id for c in second.data] == newest_first[2:4]

    assert [c.connection_id for c in client.connections.list(limit=2)] == newest_first
    assert [c.connection_id for c in client.connections.list(limit=2).auto_paging_iter()] == newest_first
    last = client.connections.list(limit=2, cursor=second.next_cursor)
    assert [c.connection_id for c in last.data] == newest_first[4:]
    assert not last.has_next_page()


def test_retrieve_connection(lava_server: Any, secret_key: str, client: Lava) -> None:
    (made,) = new_connections(lava_server, secret_key, 1)
    connection = client.connections.retrieve(made["connection_id"])
    assert isinstance(connection, lava.Connection)
    assert connection.connection_id == made["connection_id"]
    assert connection.connection_secret == made["connection_secret"]
    assert connection.reference_id == made["reference_id"]
    assert connection.wallet.balance == Decimal("10.5")
    assert isinstance(connection.wallet.balance, Decimal)
    assert connection.created_at.tzinfo is not None


def test_list_connections_by_reference_id(lava_server: Any, secret_key: str, client: Lava) -> None:
    made = new_connections(lava_server, secret_key, 3)
    page = client.connections.list(reference_id=made[1]["reference_id"])
    assert [c.connection_id for c in page.data] == [made[1]["connection_id"]]
    assert page.has_more is False


def test_delete_connection(lava_server: Any, secret_key: str, client: Lava) -> None:
    (made,) = new_connections(lava_server, secret_key, 1)
    result = client.connections.delete(made["connection_id"])
    assert isinstance(result, lava.DeleteResult)
    assert result.success is True


def test_checkout_onboarding_session(client: Lava) -> None:
    session = client.checkout_sessions.create(checkout_mode="onboarding", origin_url=ORIGIN, reference_id="user_42")
    assert session.checkout_session_id.startswith("cs_")
    assert session.checkout_mode == "onboarding"
    assert session.reference_id == "user_42"
    assert session.completed_at is None and session.connection_id is None
    token = decode_checkout_token(session.checkout_session_token)
    assert set(token) == {"secret", "base"}
    assert token["secret"].startswith("css_test_")
    assert token["base"].endswith("/")

    again = client.checkout.retrieve(session.checkout_session_id)
    assert again.checkout_session_id == session.checkout_session_id
    assert again.checkout_session_token == session.checkout_session_token
    listed = client.checkout_sessions.list(reference_id="user_42")
    assert [s.checkout_session_id for s in listed] == [session.checkout_session_id]


def test_checkout_topup(lava_server: Any, secret_key: str, client: Lava) -> None:
    (made,) = new_connections(lava_server, secret_key, 1)
    session = client.checkout.create(checkout_mode="topup", origin_url=ORIGIN, connection_id=made["connection_id"])
    assert session.checkout_mode == "topup"
    assert session.connection_id == made["connection_id"]


def test_checkout_topup_without_connection_is_bad_request(client: Lava) -> None:
    with pytest.raises(lava.BadRequestError) as info:
        client.checkout_sessions.create(checkout_mode="topup", origin_url=ORIGIN)
    assert info.value.status == 400
    assert info.value.code == "invalid_request"
    assert info.value.message


def test_other_merchants_connection_is_not_found(lava_server: Any, client: Lava) -> None:
    other_key = new_merchant(lava_server)
    (theirs,) = new_connections(lava_server, other_key, 1)
    with pytest.raises(lava.NotFoundError) as info:
        client.connections.retrieve(theirs["connection_id"])
    assert info.value.status == 404
    assert info.value.code


def test_bad_key_is_authentication_error(lava_server: Any) -> None:
    with Lava("aks_test_not_a_real_key", base_url=lava_server.api_base) as bad:
        with pytest.raises(lava.AuthenticationError) as info:
            bad.connections.list()
    assert info.value.status == 401


def test_requests(client: Lava) -> None:
    page = client.requests.list(limit=5, metadata_filters={"user_id": "123"})
    assert page.data == [] and page.has_more is False
    assert list(client.requests.list()) == []
    with pytest.raises(lava.NotFoundError):
        client.requests.retrieve("req_test_01JZ0000000000000000000000")


def test_usage_zero_filled(lava_server: Any, secret_key: str, client: Lava) -> None:
    (made,) = new_connections(lava_server, secret_key, 1)
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    usage = client.usage.retrieve(start=today - dt.timedelta(days=2), connection_id=made["connection_id"])
    assert isinstance(usage, lava.Usage)
    assert [item.date for item in usage.items] == [(today - dt.timedelta(days=n)).date() for n in (2, 1, 0)]
    assert all(item.total_requests == 0 and item.total_request_cost == 0 for item in usage.items)
    assert usage.totals.total_requests == 0
    assert usage.totals.total_request_cost == Decimal(0)

    as_string = client.usage.retrieve(start="2025-01-01T00:00:00Z", end="2025-01-03T23:59:59Z")
    assert [item.date.isoformat() for item in as_string.items] == ["2025-01-01", "2025-01-02", "2025-01-03"]


@pytest.mark.parametrize("version", lava.API_VERSIONS)
def test_every_api_version_is_accepted(lava_server: Any, secret_key: str, version: str) -> None:
    with Lava(secret_key, base_url=lava_server.api_base, api_version=version) as c:
        assert c.connections.list().data == []

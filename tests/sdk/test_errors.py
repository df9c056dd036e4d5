"""Error responses map to the exception hierarchy, whatever the body looks like."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

import lava
from lava import AsyncLava, Lava

from .conftest import Recorder, error

MakeClient = Callable[..., Lava]


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, lava.BadRequestError),
        (401, lava.AuthenticationError),
        (402, lava.InsufficientBalanceError),
        (403, lava.PermissionDeniedError),
        (404, lava.NotFoundError),
        (409, lava.ConflictError),
        (422, lava.UnprocessableEntityError),
        (429, lava.RateLimitError),
        (500, lava.InternalServerError),
        (503, lava.InternalServerError),
        (418, lava.APIStatusError),
    ],
)
def test_status_maps_to_exception(make_client: MakeClient, status: int, cls: type[lava.APIStatusError]) -> None:
    recorder = Recorder(
        default=lambda request: error(status, "the_code", "The message", **{"x-lava-request-id": "req_9"})
    )
    with pytest.raises(cls) as info:
        make_client(recorder, max_retries=0).connections.retrieve("con_1")
    exc = info.value
    assert type(exc) is cls
    assert isinstance(exc, lava.APIError) and isinstance(exc, lava.LavaError)
    assert exc.status == exc.status_code == status
    assert exc.code == "the_code"
    assert exc.message == "The message"
    assert exc.body == {"error": {"message": "The message", "code": "the_code", "status": status}}
    assert exc.response.status_code == status
    assert exc.request_id == "req_9"
    assert "The message" in str(exc) and str(status) in str(exc)


def test_error_as_plain_string(make_client: MakeClient) -> None:
    recorder = Recorder(httpx.Response(401, json={"error": "Invalid API key"}))
    with pytest.raises(lava.AuthenticationError) as info:
        make_client(recorder).connections.retrieve("con_1")
    assert info.value.message == "Invalid API key"
    assert info.value.code is None
    assert info.value.body == {"error": "Invalid API key"}


def test_non_json_error_body(make_client: MakeClient) -> None:
    recorder = Recorder(httpx.Response(404, text="<html>Not Found</html>", headers={"content-type": "text/html"}))
    with pytest.raises(lava.NotFoundError) as info:
        make_client(recorder).connections.retrieve("con_1")
    assert info.value.body == "<html>Not Found</html>"
    assert info.value.message == "<html>Not Found</html>"
    assert info.value.code is None


def test_empty_error_body_uses_reason_phrase(make_client: MakeClient) -> None:
    recorder = Recorder(httpx.Response(403))
    with pytest.raises(lava.PermissionDeniedError) as info:
        make_client(recorder).connections.retrieve("con_1")
    assert info.value.message == "Forbidden"


def test_json_error_without_error_key(make_client: MakeClient) -> None:
    recorder = Recorder(httpx.Response(400, json={"message": "bad limit"}))
    with pytest.raises(lava.BadRequestError) as info:
        make_client(recorder).connections.list(limit=0)
    assert info.value.message == "bad limit"


def test_error_object_without_message(make_client: MakeClient) -> None:
    recorder = Recorder(httpx.Response(400, json={"error": {"code": "invalid_request"}}))
    with pytest.raises(lava.BadRequestError) as info:
        make_client(recorder).connections.list()
    assert info.value.code == "invalid_request"
    assert info.value.message == "Bad Request"


def test_x_request_id_fallback(make_client: MakeClient) -> None:
    recorder = Recorder(error(404, **{"x-request-id": "abc"}))
    with pytest.raises(lava.NotFoundError) as info:
        make_client(recorder).connections.retrieve("con_1")
    assert info.value.request_id == "abc"


def test_non_json_success_body_is_an_api_error(make_client: MakeClient) -> None:
    recorder = Recorder(httpx.Response(200, text="oops"))
    with pytest.raises(lava.APIError) as info:
        make_client(recorder).connections.retrieve("con_1")
    assert not isinstance(info.value, lava.APIStatusError)


async def test_async_error_mapping(make_async_client: Callable[..., AsyncLava]) -> None:
    recorder = Recorder(error(402, "insufficient_balance", "Wallet balance too low"))
    with pytest.raises(lava.InsufficientBalanceError) as info:
        await make_async_client(recorder).requests.retrieve("req_1")
    assert info.value.code == "insufficient_balance"

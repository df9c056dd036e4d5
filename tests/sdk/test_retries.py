"""Retries, backoff, Retry-After and idempotency keys (behaviour a real server can't easily stage)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

import lava
from lava import APIConnectionError, APITimeoutError, AsyncLava, InternalServerError, Lava, RateLimitError
from lava._base import retry_delay

from .conftest import CHECKOUT_SESSION, CONNECTION, Recorder, Sleeps, error, ok

MakeClient = Callable[..., Lava]
MakeAsyncClient = Callable[..., AsyncLava]


def test_retries_connection_reset_then_succeeds(make_client: MakeClient, sleeps: Sleeps) -> None:
    recorder = Recorder(httpx.ReadError("connection reset by peer"), ok(CONNECTION))
    connection = make_client(recorder).connections.retrieve("con_1")
    assert connection.connection_id == CONNECTION["connection_id"]
    assert len(recorder.requests) == 2
    assert len(sleeps) == 1


def test_retries_connect_error_and_timeout(make_client: MakeClient, sleeps: Sleeps) -> None:
    recorder = Recorder(httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), ok(CONNECTION))
    make_client(recorder).connections.retrieve("con_1")
    assert len(recorder.requests) == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_retries_retryable_statuses(make_client: MakeClient, status: int) -> None:
    recorder = Recorder(error(status), ok(CONNECTION))
    make_client(recorder).connections.retrieve("con_1")
    assert len(recorder.requests) == 2


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 409, 422])
def test_does_not_retry_client_errors(make_client: MakeClient, sleeps: Sleeps, status: int) -> None:
    recorder = Recorder(error(status), ok(CONNECTION))
    with pytest.raises(lava.APIStatusError):
        make_client(recorder).connections.retrieve("con_1")
    assert len(recorder.requests) == 1
    assert sleeps == []


def test_max_retries_is_respected(make_client: MakeClient, sleeps: Sleeps) -> None:
    recorder = Recorder(default=lambda request: error(503))
    with pytest.raises(InternalServerError) as info:
        make_client(recorder, max_retries=3).connections.retrieve("con_1")
    assert info.value.status == 503
    assert len(recorder.requests) == 4  # 1 + 3 retries
    assert len(sleeps) == 3


def test_default_is_two_retries(make_client: MakeClient) -> None:
    recorder = Recorder(default=lambda request: error(500))
    with pytest.raises(InternalServerError):
        make_client(recorder).connections.retrieve("con_1")
    assert len(recorder.requests) == 3


def test_max_retries_zero_means_one_attempt(make_client: MakeClient, sleeps: Sleeps) -> None:
    recorder = Recorder(default=httpx.ConnectError("refused"))
    with pytest.raises(APIConnectionError):
        make_client(recorder, max_retries=0).connections.retrieve("con_1")
    assert len(recorder.requests) == 1 and sleeps == []


def test_exhausted_timeouts_raise_api_timeout_error(make_client: MakeClient) -> None:
    recorder = Recorder(default=httpx.ReadTimeout("slow"))
    with pytest.raises(APITimeoutError) as info:
        make_client(recorder).connections.retrieve("con_1")
    assert isinstance(info.value, APIConnectionError)
    assert info.value.request is not None
    assert len(recorder.requests) == 3


def test_exhausted_connection_errors_raise_api_connection_error(make_client: MakeClient) -> None:
    recorder = Recorder(default=httpx.ConnectError("refused"))
    with pytest.raises(APIConnectionError) as info:
        make_client(recorder).connections.retrieve("con_1")
    assert not isinstance(info.value, APITimeoutError)


def test_retry_after_seconds_is_honoured(make_client: MakeClient, sleeps: Sleeps) -> None:
    recorder = Recorder(error(429, "rate_limited", **{"Retry-After": "7"}), ok(CONNECTION))
    make_client(recorder).connections.retrieve("con_1")
    assert sleeps == [7.0]


def test_retry_after_above_sixty_seconds_is_ignored(make_client: MakeClient, sleeps: Sleeps) -> None:
    recorder = Recorder(error(429, **{"Retry-After": "3600"}), ok(CONNECTION))
    make_client(recorder).connections.retrieve("con_1")
    assert len(sleeps) == 1 and sleeps[0] <= 0.5 * 1.25


def test_rate_limit_error_after_retries(make_client: MakeClient, sleeps: Sleeps) -> None:
    recorder = Recorder(default=lambda request: error(429, "rate_limited", **{"Retry-After": "1"}))
    with pytest.raises(RateLimitError) as info:
        make_client(recorder).connections.retrieve("con_1")
    assert info.value.code == "rate_limited"
    assert sleeps == [1.0, 1.0]


def test_backoff_is_exponential_with_jitter_and_capped(make_client: MakeClient, sleeps: Sleeps) -> None:
    recorder = Recorder(default=lambda request: error(503))
    with pytest.raises(InternalServerError):
        make_client(recorder, max_retries=6).connections.retrieve("con_1")
    for n, delay in enumerate(sleeps):
        nominal = min(0.5 * 2**n, 8.0)
        assert nominal * 0.75 <= delay <= min(nominal * 1.25, 8.0)


def test_retry_delay_bounds() -> None:
    assert retry_delay(0, rand=lambda: 0.5) == 0.5
    assert retry_delay(0, rand=lambda: 0.0) == 0.375
    assert retry_delay(0, rand=lambda: 1.0) == 0.625
    assert retry_delay(10, rand=lambda: 1.0) == 8.0
    assert retry_delay(10, rand=lambda: 0.0) == 6.0


def test_retry_after_http_date() -> None:
    response = httpx.Response(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:10 GMT"})
    now = 1445412480.0  # 2015-10-21T07:28:00Z
    assert retry_delay(0, response, now=lambda: now) == 10.0


def test_idempotency_key_is_reused_across_retries(make_client: MakeClient) -> None:
    recorder = Recorder(httpx.ReadError("reset"), error(503), ok(CHECKOUT_SESSION))
    make_client(recorder).checkout_sessions.create(checkout_mode="onboarding", origin_url="https://a.example")
    keys = {request.headers["idempotency-key"] for request in recorder.requests}
    assert len(recorder.requests) == 3
    assert len(keys) == 1
    assert next(iter(keys)).startswith("lava-py-retry-")
    bodies = {request.content for request in recorder.requests}
    assert len(bodies) == 1


def test_each_logical_call_gets_a_fresh_idempotency_key(make_client: MakeClient) -> None:
    recorder = Recorder(ok(CHECKOUT_SESSION), ok(CHECKOUT_SESSION))
    client = make_client(recorder)
    client.checkout_sessions.create(checkout_mode="onboarding", origin_url="https://a.example")
    client.checkout_sessions.create(checkout_mode="onboarding", origin_url="https://a.example")
    first, second = (request.headers["idempotency-key"] for request in recorder.requests)
    assert first != second


async def test_async_retries_and_idempotency(make_async_client: MakeAsyncClient, sleeps: Sleeps) -> None:
    recorder = Recorder(httpx.ConnectError("refused"), error(429, **{"Retry-After": "2"}), ok(CHECKOUT_SESSION))
    client = make_async_client(recorder)
    await client.checkout_sessions.create(checkout_mode="onboarding", origin_url="https://a.example")
    assert len(recorder.requests) == 3
    assert len({request.headers["idempotency-key"] for request in recorder.requests}) == 1
    assert len(sleeps) == 2 and sleeps[1] == 2.0


async def test_async_max_retries(make_async_client: MakeAsyncClient) -> None:
    recorder = Recorder(default=httpx.ReadTimeout("slow"))
    with pytest.raises(APITimeoutError):
        await make_async_client(recorder, max_retries=1).connections.retrieve("con_1")
    assert len(recorder.requests) == 2

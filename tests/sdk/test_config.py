"""Client construction: secret key and base URL fallbacks, API version, closing."""

from __future__ import annotations

import httpx
import pytest

import lava
from lava import AsyncLava, Lava, LavaError

from .conftest import Recorder, ok


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAVA_SECRET_KEY", raising=False)
    monkeypatch.delenv("LAVA_BASE_URL", raising=False)


@pytest.mark.parametrize("cls", [Lava, AsyncLava])
def test_test_key_defaults_to_sandbox(cls: type[Lava] | type[AsyncLava]) -> None:
    assert cls("aks_test_abc").base_url == "https://sandbox-api.lavapayments.com/v1/"


@pytest.mark.parametrize("key", ["aks_live_abc", "something_else"])
def test_other_keys_default_to_live(key: str) -> None:
    assert Lava(key).base_url == "https://api.lavapayments.com/v1/"


def test_secret_key_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAVA_SECRET_KEY", "aks_test_from_env")
    client = Lava()
    assert client.secret_key == "aks_test_from_env"
    assert client.base_url == "https://sandbox-api.lavapayments.com/v1/"


def test_explicit_key_beats_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAVA_SECRET_KEY", "aks_test_from_env")
    assert Lava("aks_live_explicit").secret_key == "aks_live_explicit"


@pytest.mark.parametrize("cls", [Lava, AsyncLava])
def test_missing_key_is_a_clear_lava_error(cls: type[Lava] | type[AsyncLava]) -> None:
    with pytest.raises(LavaError, match="LAVA_SECRET_KEY"):
        cls()


def test_empty_env_key_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAVA_SECRET_KEY", "")
    with pytest.raises(LavaError):
        Lava()


def test_base_url_from_env_beats_key_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAVA_BASE_URL", "http://127.0.0.1:8080/v1")
    assert Lava("aks_test_abc").base_url == "http://127.0.0.1:8080/v1/"


def test_explicit_base_url_beats_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAVA_BASE_URL", "http://env.example/v1/")
    assert Lava("aks_test_abc", base_url="http://arg.example/v1/").base_url == "http://arg.example/v1/"


@pytest.mark.parametrize(
    "given",
    [
        "http://127.0.0.1:8080/v1",
        "http://127.0.0.1:8080/v1/",
        "http://127.0.0.1:8080/v1//",
        " http://127.0.0.1:8080/v1 ",
    ],
)
def test_base_url_is_normalised_to_one_trailing_slash(given: str) -> None:
    assert Lava("aks_test_abc", base_url=given).base_url == "http://127.0.0.1:8080/v1/"


def test_requests_resolve_under_the_v1_root() -> None:
    recorder = Recorder(ok({"success": True}))
    client = Lava("k", base_url="http://h:1/v1", http_client=httpx.Client(transport=httpx.MockTransport(recorder)))
    client.connections.delete("con_1")
    assert str(recorder.last.url) == "http://h:1/v1/connections/con_1"


@pytest.mark.parametrize("version", lava.API_VERSIONS)
def test_supported_api_versions(version: str) -> None:
    assert Lava("k", api_version=version).api_version == version


def test_no_api_version_by_default_like_node_8_1_and_later() -> None:
    # docs/decisions.md: no version header = the current API (the server's default profile)
    assert Lava("k").api_version is None and Lava("k").generation == "current"
    assert lava.AsyncLava("k").api_version is None
    assert Lava("k", api_version=lava.DEFAULT_API_VERSION).generation == "2025"
    assert lava.DEFAULT_API_VERSION == "2025-04-28.v1" == lava.API_VERSIONS[-1]


def test_unknown_api_version_rejected() -> None:
    with pytest.raises(LavaError, match="api_version"):
        Lava("k", api_version="2026-01-01.v1")


def test_negative_max_retries_rejected() -> None:
    with pytest.raises(ValueError):
        Lava("k", max_retries=-1)


def test_repr_never_shows_the_secret() -> None:
    assert "aks_live_secret" not in repr(Lava("aks_live_secret"))


def test_context_manager_closes_the_http_client() -> None:
    http = httpx.Client(transport=httpx.MockTransport(Recorder()))
    with Lava("k", http_client=http) as client:
        assert not client.is_closed
    assert http.is_closed and client.is_closed


def test_close() -> None:
    client = Lava("k")
    client.close()
    assert client.is_closed


async def test_async_context_manager_closes_the_http_client() -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(Recorder()))
    async with AsyncLava("k", http_client=http) as client:
        assert not client.is_closed
    assert http.is_closed and client.is_closed


async def test_aclose() -> None:
    client = AsyncLava("k")
    await client.aclose()
    assert client.is_closed


def test_timeout_and_retries_are_configurable() -> None:
    client = Lava("k", timeout=5.0, max_retries=0)
    assert client.timeout == httpx.Timeout(5.0)
    assert client.max_retries == 0


def test_checkout_is_an_alias_of_checkout_sessions() -> None:
    client = Lava("k")
    assert client.checkout is client.checkout_sessions
    assert AsyncLava("k").checkout is not None

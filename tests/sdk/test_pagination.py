"""Cursor pages: data/has_more/next_cursor, next pages with the same filters, auto-paging."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

import lava
from lava import AsyncLava, AsyncPage, Lava, LavaError, SyncPage

from .conftest import CONNECTION, REQUEST, Recorder, page


def connections(*ids: str) -> list[dict[str, Any]]:
    return [dict(CONNECTION, connection_id=i) for i in ids]


def three_pages() -> Recorder:
    return Recorder(
        page(connections("c5", "c4"), "cur_1"), page(connections("c3", "c2"), "cur_2"), page(connections("c1"))
    )


def test_single_page_fields(make_client: Callable[..., Lava]) -> None:
    recorder = three_pages()
    first = make_client(recorder).connections.list(limit=2, reference_id="u1")
    assert isinstance(first, SyncPage)
    assert [c.connection_id for c in first.data] == ["c5", "c4"]
    assert first.has_more is True and first.next_cursor == "cur_1"
    assert first.has_next_page()
    assert len(recorder.requests) == 1


def test_iterating_walks_every_page_with_the_same_filters(make_client: Callable[..., Lava]) -> None:
    recorder = three_pages()
    ids = [c.connection_id for c in make_client(recorder).connections.list(limit=2, reference_id="u1")]
    assert ids == ["c5", "c4", "c3", "c2", "c1"]
    assert [r.url.raw_path for r in recorder.requests] == [
        b"/v1/connections?limit=2&reference_id=u1",
        b"/v1/connections?cursor=cur_1&limit=2&reference_id=u1",
        b"/v1/connections?cursor=cur_2&limit=2&reference_id=u1",
    ]


def test_auto_paging_iter_and_get_next_page(make_client: Callable[..., Lava]) -> None:
    client = make_client(three_pages())
    first = client.connections.list(limit=2)
    second = first.get_next_page()
    third = second.get_next_page()
    assert not third.has_next_page() and third.next_cursor is None
    with pytest.raises(LavaError):
        third.get_next_page()
    assert [c.connection_id for c in make_client(three_pages()).connections.list().auto_paging_iter()] == [
        "c5",
        "c4",
        "c3",
        "c2",
        "c1",
    ]


def test_requests_pages_keep_metadata_filters(make_client: Callable[..., Lava]) -> None:
    recorder = Recorder(page([REQUEST], "r2"), page([dict(REQUEST, request_id="req_2")]))
    pages = list(make_client(recorder).requests.list(connection_id="con_1", metadata_filters={"a": "b"}))
    assert [r.request_id for r in pages] == [REQUEST["request_id"], "req_2"]
    assert recorder.requests[1].url.params["metadata_filters"] == '[["a","b"]]'
    assert recorder.requests[1].url.params["cursor"] == "r2"
    assert recorder.requests[1].url.params["connection_id"] == "con_1"


def test_has_more_without_cursor_stops(make_client: Callable[..., Lava]) -> None:
    recorder = Recorder(httpx.Response(200, json={"data": connections("c1"), "has_more": True, "next_cursor": None}))
    result = make_client(recorder).connections.list()
    assert not result.has_next_page()
    assert [c.connection_id for c in result] == ["c1"]


def test_malformed_list_body(make_client: Callable[..., Lava]) -> None:
    recorder = Recorder(httpx.Response(200, json=[1, 2]))
    with pytest.raises(LavaError):
        make_client(recorder).connections.list()


async def test_async_pages(make_async_client: Callable[..., AsyncLava]) -> None:
    recorder = three_pages()
    client = make_async_client(recorder)
    first = await client.connections.list(limit=2)
    assert isinstance(first, AsyncPage)
    assert [c.connection_id for c in first.data] == ["c5", "c4"]
    second = await first.get_next_page()
    assert [c.connection_id for c in second.data] == ["c3", "c2"]
    assert recorder.requests[1].url.params["cursor"] == "cur_1"
    assert recorder.requests[1].url.params["limit"] == "2"
    assert [c.connection_id async for c in await make_async_client(three_pages()).connections.list()] == [
        "c5",
        "c4",
        "c3",
        "c2",
        "c1",
    ]


async def test_async_auto_paging_iter(make_async_client: Callable[..., AsyncLava]) -> None:
    client = make_async_client(three_pages())
    page_ = await client.connections.list()
    ids = [c.connection_id async for c in page_.auto_paging_iter()]
    assert ids == ["c5", "c4", "c3", "c2", "c1"]
    assert isinstance(lava.pagination.AsyncPage, type)

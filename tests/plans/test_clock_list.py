"""``GET /v1/test_clocks`` pages like every other list: ``limit`` (1..100, default 10), newest
first, ``has_more`` and ``next_cursor`` to pass back as ``cursor``."""

from __future__ import annotations

import uuid

import httpx

from tests.support.live import LiveServer


def test_test_clocks_list_is_paged(lava_server: LiveServer) -> None:
    key = lava_server.merchant(f"clocks-{uuid.uuid4().hex[:6]}")["secret_key"]
    api = httpx.Client(base_url=lava_server.api_base, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    made = []
    for i in range(12):
        r = api.post("/test_clocks", json={"frozen_time": "2026-01-01T00:00:00Z", "name": f"c{i}"})
        assert r.status_code == 201, r.text
        made.append(r.json()["test_clock_id"])
    newest_first = list(reversed(made))

    first = api.get("/test_clocks").json()
    assert [c["test_clock_id"] for c in first["data"]] == newest_first[:10]  # default limit 10
    assert first["has_more"] is True and first["next_cursor"] == newest_first[9]
    rest = api.get("/test_clocks", params={"cursor": first["next_cursor"]}).json()
    assert [c["test_clock_id"] for c in rest["data"]] == newest_first[10:]
    assert rest["has_more"] is False and "next_cursor" not in rest

    pages, cursor = [], None
    while True:
        params = {"limit": "5"} | ({"cursor": cursor} if cursor else {})
        page = api.get("/test_clocks", params=params).json()
        pages.append([c["test_clock_id"] for c in page["data"]])
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert [len(p) for p in pages] == [5, 5, 2] and sum(pages, []) == newest_first

    bad = api.get("/test_clocks", params={"limit": "101"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request"
    bad = api.get("/test_clocks", params={"cursor": "nope"})
    assert bad.status_code == 400

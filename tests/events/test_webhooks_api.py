"""``/v1/webhooks`` CRUD: the secret shown once, the per-merchant maximum, isolation between
merchants and modes, and the SSRF rules at registration."""

from __future__ import annotations

import pytest

from lava_server.events.config import WebhookSettings
from tests.events.conftest import api, new_merchant, start_hook_server
from tests.support.live import LiveServer

PUBLIC = "https://93.184.216.34/hooks"  # a public address literal: no DNS needed


def test_crud_secret_once_and_limit(hook_server: LiveServer) -> None:
    m = new_merchant(hook_server)
    with api(hook_server, m["secret_key"]) as c:
        r = c.post("webhooks", json={"name": "orders", "url": PUBLIC})
        assert r.status_code == 201, r.text
        created = r.json()
        assert set(created) == {"webhook_id", "name", "url", "created_at", "webhook_secret"}
        assert created["webhook_id"].startswith("wh_test_")
        assert created["webhook_secret"].startswith("whsec_")
        wid = created["webhook_id"]

        got = c.get(f"webhooks/{wid}").json()
        assert got == {k: created[k] for k in ("webhook_id", "name", "url", "created_at")}
        listed = c.get("webhooks").json()
        assert listed["has_more"] is False and [w["webhook_id"] for w in listed["data"]] == [wid]
        assert "webhook_secret" not in listed["data"][0]

        r = c.patch(f"webhooks/{wid}", json={"name": "renamed"})
        assert r.status_code == 200 and r.json()["name"] == "renamed" and r.json()["url"] == PUBLIC
        r = c.patch(f"webhooks/{wid}", json={"url": "https://93.184.216.35/other"})
        assert r.json()["url"] == "https://93.184.216.35/other"
        # the secret is unchanged by edits: the stored ciphertext still opens to the one shown
        rec = hook_server.call(hook_server.services.webhooks.get(_key(hook_server, m), wid))
        assert hook_server.services.keyring.decrypt(rec.secret_enc) == created["webhook_secret"]

        for i in range(2):
            assert c.post("webhooks", json={"name": f"n{i}", "url": PUBLIC}).status_code == 201
        r = c.post("webhooks", json={"name": "fourth", "url": PUBLIC})
        assert r.status_code == 400 and r.json()["error"]["code"] == "webhook_limit_reached"

        r = c.delete(f"webhooks/{wid}")
        assert r.status_code == 200 and r.json() == {"id": wid, "deleted": True}
        assert c.get(f"webhooks/{wid}").status_code == 404
        assert c.post("webhooks", json={"name": "again", "url": PUBLIC}).status_code == 201


def _key(server: LiveServer, m: dict[str, str]):  # type: ignore[no-untyped-def]
    return server.call(server.services.keys.resolve(m["secret_key"]))


def test_isolation_between_merchants_and_modes(hook_server: LiveServer) -> None:
    a, b = new_merchant(hook_server), new_merchant(hook_server)
    live_a = new_merchant(hook_server, live=True)
    with api(hook_server, a["secret_key"]) as ca:
        wid = ca.post("webhooks", json={"name": "a", "url": PUBLIC}).json()["webhook_id"]
    for other in (b, live_a):
        with api(hook_server, other["secret_key"]) as c:
            assert c.get(f"webhooks/{wid}").status_code == 404
            assert c.patch(f"webhooks/{wid}", json={"name": "x"}).status_code == 404
            assert c.delete(f"webhooks/{wid}").status_code == 404
            assert c.get(f"webhooks/{wid}/attempts").status_code == 404
            assert c.get("webhooks").json()["data"] == []
    with api(hook_server, live_a["secret_key"]) as c:
        r = c.post("webhooks", json={"name": "live", "url": PUBLIC})
        assert r.json()["webhook_id"].startswith("wh_") and "_test_" not in r.json()["webhook_id"]


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.216.34/plain-http",
        "https://127.0.0.1/loopback",
        "https://10.1.2.3/private",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/v6-loopback",
        "https://localhost/name-of-loopback",
        "https://user:pw@93.184.216.34/creds",
        "ftp://93.184.216.34/",
        "not a url",
    ],
)
def test_unsafe_urls_refused_at_registration(tmp_path, url: str) -> None:  # type: ignore[no-untyped-def]
    server, stop = start_hook_server(tmp_path, WebhookSettings())  # nothing exempt
    try:
        m = new_merchant(server)
        with api(server, m["secret_key"]) as c:
            r = c.post("webhooks", json={"name": "x", "url": url})
            assert r.status_code == 400, r.text
            assert r.json()["error"]["code"] == "invalid_webhook_url"
            ok = c.post("webhooks", json={"name": "x", "url": PUBLIC}).json()["webhook_id"]
            r = c.patch(f"webhooks/{ok}", json={"url": url})
            assert r.json()["error"]["code"] == "invalid_webhook_url"
    finally:
        stop()


def test_allowed_hosts_exempt_and_may_use_http(hook_server: LiveServer) -> None:
    m = new_merchant(hook_server)
    with api(hook_server, m["secret_key"]) as c:
        assert c.post("webhooks", json={"name": "local", "url": "http://127.0.0.1:9/hook"}).status_code == 201
        r = c.post("webhooks", json={"name": "other", "url": "http://10.0.0.1/hook"})
        assert r.json()["error"]["code"] == "invalid_webhook_url"


def test_bad_bodies(hook_server: LiveServer) -> None:
    m = new_merchant(hook_server)
    with api(hook_server, m["secret_key"]) as c:
        assert c.post("webhooks", json={"url": PUBLIC}).json()["error"]["code"] == "invalid_request"
        assert c.post("webhooks", json={"name": "x" * 256, "url": PUBLIC}).status_code == 400
        assert c.post("webhooks", json={"name": "x", "url": 5}).status_code == 400
        assert c.get("webhooks/wh_test_nope").status_code == 404
        wid = c.post("webhooks", json={"name": "x", "url": PUBLIC}).json()["webhook_id"]
        r = c.patch(f"webhooks/{wid}", headers={"Content-Type": "application/json"})  # no body: nothing changes
        assert r.status_code == 200 and r.json()["name"] == "x"
        assert c.post("webhooks", headers={"Content-Type": "application/json"}).status_code == 400  # name needed
        assert c.patch(f"webhooks/{wid}", content=b"[1]").json()["error"]["code"] == "invalid_request"

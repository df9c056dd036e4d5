"""Drive the hosted checkout over plain HTTP (no browser): what a no-JS user agent does."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import httpx

from tests.support.live import LiveServer

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def create_session(server: LiveServer, key: str, **body: Any) -> dict[str, Any]:
    body.setdefault("origin_url", "https://shop.example/")
    r = httpx.post(server.api_base + "checkout_sessions", json=body, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def secret_of(token: str) -> str:
    secret: str = json.loads(base64.b64decode(token))["secret"]
    return secret


class Embed:
    """A browser-less user of one checkout session (same-origin form posts)."""

    def __init__(self, server: LiveServer, token: str) -> None:
        self.server = server
        self.path = "/embed/checkout/" + secret_of(token)
        self.client = httpx.Client(base_url=server.url, headers={"Origin": server.url}, timeout=20)
        self.page = ""

    def get(self) -> httpx.Response:
        r = self.client.get(self.path)
        self.page = r.text
        return r

    def csrf(self) -> str:
        m = CSRF.search(self.page)
        assert m, self.page
        return m.group(1)

    def post(self, step: str, **form: str) -> httpx.Response:
        if "csrf_token" not in form:
            form["csrf_token"] = self.csrf()
        r = self.client.post(f"{self.path}/{step}", data=form)
        if r.status_code == 303:
            r = self.get()
        else:
            self.page = r.text
        return r

    def onboard_until_pay(self, name: str = "Ada Lovelace", email: str = "ada@example.com") -> None:
        self.get()
        assert self.post("email", name=name, email=email).status_code == 200
        r = self.post("verify", code="000000")
        assert r.status_code == 200, r.text
        assert 'id="pay-form"' in self.page

    def pay(self, amount: str = "25.00", number: str = "4242 4242 4242 4242", **extra: str) -> httpx.Response:
        return self.post("pay", amount=amount, card_number=number, card_exp="12/40", card_cvc="123", **extra)

    def close(self) -> None:
        self.client.close()

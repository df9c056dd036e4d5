"""The checkout flow (migration 0002, repositories, crediting) on a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.checkout.helpers import Embed, create_session
from tests.support.live import start_server


@pytest.mark.postgres
def test_onboarding_and_topup_on_postgres(postgres_database_url: str, tmp_path: Path) -> None:
    server, stop = start_server(tmp_path, database_url=postgres_database_url)
    try:
        shop = server.merchant("PG shop")
        session = create_session(server, shop["secret_key"], checkout_mode="onboarding")
        embed = Embed(server, session["checkout_session_token"])
        embed.onboard_until_pay(email="pg@example.com")
        assert embed.pay(number="4000 0000 0000 0002").status_code == 402
        r = embed.pay(amount="12.34")
        assert 'data-result="success"' in r.text
        connection_id = r.text.split('data-connection="')[1].split('"')[0]
        topup = create_session(server, shop["secret_key"], checkout_mode="topup", connection_id=connection_id)
        embed = Embed(server, topup["checkout_session_token"])
        embed.get()
        embed.post("email")
        embed.post("verify", code="000000")
        assert "ending 4242" in embed.page
        assert 'data-result="success"' in embed.post("pay", amount="10", card_choice="saved").text
        import httpx

        r = httpx.get(
            f"{server.api_base}connections/{connection_id}", headers={"Authorization": f"Bearer {shop['secret_key']}"}
        )
        assert r.json()["wallet"]["balance"] == "22.3400000000"
        assert server.cli("ledger", "check")["ok"] is True
    finally:
        stop()

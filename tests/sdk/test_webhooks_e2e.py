"""End to end: endpoints registered through the SDK receive events from our server's delivery
worker, and the SDK's ``construct_event`` verifies them (signature, tolerance, envelope)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import lava
from lava import Customer, Lava, WebhookVerificationError
from lava_server.billing import ledger
from tests.events.conftest import new_merchant, start_hook_server
from tests.events.receiver import Receiver
from tests.support.live import LiveServer


@pytest.fixture
def hook_server(tmp_path: Path) -> Iterator[LiveServer]:
    server, stop = start_hook_server(tmp_path)
    yield server
    report = server.call(ledger.check(server.services.db))
    stop()
    assert report.ok, report.problems


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def test_deliveries_verify_with_construct_event(hook_server: LiveServer, receiver: Receiver) -> None:
    merchant = new_merchant(hook_server)
    with Lava(merchant["secret_key"], base_url=hook_server.api_base, max_retries=0) as client:
        hook = client.webhooks.create(name="sdk receiver", url=receiver.url)
        assert hook.webhook_secret.startswith("whsec_") and hook.url == receiver.url
        assert [h.webhook_id for h in client.webhooks.list()] == [hook.webhook_id]
        renamed = client.webhooks.update(hook.webhook_id, name="renamed")
        assert renamed.name == "renamed" and client.webhooks.retrieve(hook.webhook_id).url == receiver.url

        made = hook_server.cli("connections", "create", "--secret-key", merchant["secret_key"], "--credit", "5")
        receiver.wait_for(lambda r: len(r.acknowledged()) >= 2)
        events = []
        for got in receiver.acknowledged():
            header = got.headers[lava.webhooks.SIGNATURE_HEADER]
            event = client.webhooks.construct_event(got.body, header, hook.webhook_secret)
            assert event.id is not None and event.id == got.headers["X-Webhook-Id"]
            assert event.created_at is not None and abs(event.created_at.timestamp() - time.time()) < 60
            assert Customer.model_validate(event.data).customer_id == made["connection_id"]
            with pytest.raises(WebhookVerificationError, match="signature"):
                lava.webhooks.construct_event(
                    got.body.replace(b"customer", b"Customer", 1), header, hook.webhook_secret
                )
            with pytest.raises(WebhookVerificationError, match="tolerance"):
                lava.webhooks.construct_event(got.body, header, hook.webhook_secret, now=time.time() + 301)
            events.append(event)
        assert {e.type for e in events} >= {"customer.created", "customer.wallet.balance.updated"}
        assert client.webhooks.delete(hook.webhook_id).deleted is True
        with pytest.raises(lava.NotFoundError):
            client.webhooks.retrieve(hook.webhook_id)

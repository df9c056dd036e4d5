"""``lava serve --demo``: a merchant, a product and a funded connection to try things with.

Secrets are stored hashed, so the demo's plaintext credentials are kept in
``<data dir>/demo.json`` (mode 0600) and reused on the next ``--demo`` start.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from .accounts.connections import create_connection
from .accounts.merchants import create_merchant, create_product
from .billing.product_config import ProductConfig, Tier
from .context import Services
from .money import parse_amount

DEMO_FILE = "demo.json"
DEMO_CREDIT = "10.00"


async def seed_demo(svc: Services) -> dict[str, Any]:
    path = svc.settings.data_dir / DEMO_FILE
    if path.exists():
        saved: dict[str, Any] = json.loads(path.read_text())
        if await svc.keys.resolve(saved.get("secret_key", "")) is not None:
            return saved
    merchant = await create_merchant(svc, "Demo merchant", "test")
    key = await svc.keys.resolve(merchant.secret_key)
    assert key is not None
    from decimal import Decimal

    product = await create_product(
        svc,
        key,
        ProductConfig(rate_type="percentage", tiers=(Tier(0, Decimal("20"), "tokens_1m"),)),
        "Demo 20% markup",
    )
    async with svc.db.transaction() as tx:
        connection = await create_connection(svc, key, reference_id="demo_user", tx=tx)
        await svc.ledger.credit_wallet(
            connection.wallet_id,
            "test",
            parse_amount(DEMO_CREDIT),
            source="granted_credit",
            key=f"demo-credit:{connection.connection_id}",
            reason="demo credit",
            tx=tx,
        )
    seeded = {
        "merchant_id": merchant.merchant_id,
        "secret_key": merchant.secret_key,
        "product_id": product.product_id,
        "product_secret": product.product_secret,
        "connection_id": connection.connection_id,
        "connection_secret": connection.connection_secret,
        "balance": DEMO_CREDIT,
    }
    svc.settings.data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(seeded, fh, indent=2)
    return seeded


def forward_token(seeded: dict[str, Any]) -> str:
    payload = {
        "secret_key": seeded["secret_key"],
        "connection_secret": seeded["connection_secret"],
        "product_secret": seeded["product_secret"],
    }
    return base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def describe(seeded: dict[str, Any], url: str, *, demo_provider: bool = False) -> str:
    api = url.rstrip("/") + "/v1/"
    body = '{"model":"gpt-4o-mini","max_tokens":60,"messages":[{"role":"user","content":"Hello!"}]}'
    provider_note = (
        "api.openai.com is served by the BUILT-IN DEMO PROVIDER (no OpenAI key is configured): calls\n"
        "are metered and charged for real, the replies are canned. To reach OpenAI instead:\n"
        "  lava provider-keys set --provider openai --key sk-...   (then restart)"
        if demo_provider
        else "Calls go to the real providers with the keys you configured."
    )
    return f"""
Lava demo is ready (test mode). Credentials are saved in the data dir as {DEMO_FILE}.

  secret key         {seeded["secret_key"]}
  connection id      {seeded["connection_id"]}   (wallet balance ${seeded["balance"]})
  connection secret  {seeded["connection_secret"]}
  product secret     {seeded["product_secret"]}

Make a billed AI call through the gateway:

  curl -si '{api}forward?u=https://api.openai.com/v1/chat/completions' \\
       -H 'Authorization: Bearer {forward_token(seeded)}' \\
       -H 'Content-Type: application/json' -d '{body}'

{provider_note}

The response carries x-lava-request-id, x-lava-request-cost and x-lava-balance. Check the balance:

  curl -s {api}connections/{seeded["connection_id"]} \\
       -H 'Authorization: Bearer {seeded["secret_key"]}'

Fund a wallet through the hosted checkout (test card 4242 4242 4242 4242, code 000000):

  {url.rstrip("/")}/demo/checkout

Or with the Python SDK and the official openai SDK (pip install openai first; make demo does not):

  from lava import Lava
  from openai import OpenAI
  lava = Lava("{seeded["secret_key"]}", base_url="{api}")
  token = lava.generate_forward_token(connection_secret="{seeded["connection_secret"]}",
                                      product_secret="{seeded["product_secret"]}")
  client = OpenAI(api_key=token, base_url=lava.base_url_for("openai"))
  print(client.chat.completions.create(model="gpt-4o-mini", messages=[{{"role": "user", "content": "Hello!"}}]))
  print(lava.connections.retrieve("{seeded["connection_id"]}").wallet.balance)
"""

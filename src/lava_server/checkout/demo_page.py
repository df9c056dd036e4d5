"""GET /demo/checkout: a sample merchant page for ``lava serve --demo``.

It plays the merchant: server-side it creates checkout sessions for the demo merchant
(an onboarding one and a top-up of the demo connection) and opens them with
``/static/lava-checkout.js``. Reload it after paying to watch the wallet fill.
"""

from __future__ import annotations

import json

from aiohttp import web

from ..money import to_wire
from ..store.connections import get_connection, list_connections
from .page_view import RUNTIME, html, own_origin
from .pages import e
from .sessions import create_session

DEMO_FILE = "demo.json"


async def demo_checkout(request: web.Request) -> web.StreamResponse:
    svc = request.app[RUNTIME].svc
    path = svc.settings.data_dir / DEMO_FILE
    if not path.exists():
        return web.Response(status=404, text="Start the server with --demo to seed the demo merchant.")
    saved = json.loads(path.read_text())
    key = await svc.keys.resolve(str(saved.get("secret_key", "")))
    if key is None:
        return web.Response(status=404, text="The demo merchant's key is not valid any more; restart with --demo.")
    origin = own_origin(request)
    _, onboarding_secret = await create_session(
        svc, key, checkout_mode="onboarding", origin_url=origin + "/", reference_id="demo_checkout", connection_id=None
    )
    rows = []
    topup_token = ""
    connections, _more = await list_connections(
        svc.db, key.merchant_id, key.mode, reference_id=None, cursor=None, limit=10
    )
    base = origin + "/"
    from .sessions import session_token

    onboarding_token = session_token(onboarding_secret, base)
    demo_con = await get_connection(svc.db, key.merchant_id, key.mode, str(saved.get("connection_id", "")))
    if demo_con is not None and demo_con.deleted_at is None:
        _, topup_secret = await create_session(
            svc, key, checkout_mode="topup", origin_url=origin + "/", reference_id=None, connection_id=demo_con.id
        )
        topup_token = session_token(topup_secret, base)
    for con in connections:
        rows.append(
            f"<tr><td><code>{e(con.id)}</code></td><td>{e(con.reference_id or '')}</td>"
            f"<td>{e(con.wallet.email or '')}</td><td class=num>${e(to_wire(con.balance)[:-8])}</td></tr>"
        )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo merchant · Lava checkout</title><link rel="stylesheet" href="/static/checkout.css"></head>
<body><main class="panel">
<header><span class="merchant">Demo merchant</span><span class="badge">Test mode</span></header>
<h1>Try the hosted checkout</h1>
<p>This page plays a merchant's site. It created two checkout sessions server-side and opens them with
<code>/static/lava-checkout.js</code>. Use the code <strong>000000</strong> and the card
<strong>4242 4242 4242 4242</strong>.</p>
<button type="submit" id="demo-onboarding" data-token="{e(onboarding_token)}">Create a wallet and fund it</button>
<button type="submit" id="demo-topup" data-token="{e(topup_token)}"{"" if topup_token else " disabled"}>
Top up the demo connection</button>
<p id="demo-status" role="status"></p>
<h1>Connections</h1>
<div class="table-wrap"><table><thead><tr><th>Connection</th><th>Reference</th><th>Email</th><th>Balance</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table></div>
</main>
<script src="/static/lava-checkout.js"></script><script src="/static/demo-checkout.js"></script></body></html>
"""
    return html(page, ancestors="'none'", frame_src="'self'")

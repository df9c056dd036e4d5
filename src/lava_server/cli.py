"""The ``lava`` admin CLI. A stable interface: every command prints one JSON object on stdout;
errors go to stderr as one line, with a non-zero exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from .settings import Settings, from_env, parse_upstream_map


class CliError(Exception):
    """A user-facing failure: printed as one line on stderr."""


SECRET_KEY_HELP = "the merchant's secret key (aks_test_… or aks_live_…)"


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--database-url", help="sqlite:///PATH or postgresql://… (env LAVA_DATABASE_URL)")
    p.add_argument("--data-dir", help="where the embedded database and master key live (env LAVA_DATA_DIR)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lava",
        description="Lava billing gateway: server and admin commands. Each command prints one JSON object; "
        "errors are one line on stderr. Configuration: LAVA_* environment variables (README).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")

    serve = sub.add_parser("serve", help="run the server")
    _common(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    serve.add_argument("--public-url", help="public base URL used in checkout tokens (env LAVA_PUBLIC_URL)")
    serve.add_argument("--demo", action="store_true", help="seed a demo merchant, product and funded connection")
    serve.add_argument(
        "--upstream",
        action="append",
        default=[],
        metavar="HOST=BASE_URL",
        help="map a provider host (repeatable)",
    )
    serve.add_argument("--workers", type=int, help="worker processes sharing the port (default: one per core)")
    serve.add_argument("--max-connections", type=int, help="open client connections per worker (default 10000)")
    serve.add_argument("--idle-timeout", type=float, help="seconds to send a request head or stay idle (default 15)")

    migrate = sub.add_parser("migrate", help="apply database migrations")
    _common(migrate)

    merchants = sub.add_parser("merchants", help="manage merchants (create)").add_subparsers(
        dest="action", required=True, metavar="ACTION", title="actions"
    )
    mc = merchants.add_parser("create", help="create a merchant and its first secret key")
    _common(mc)
    mc.add_argument("--name", required=True, help="the merchant's display name (1..200 characters)")
    mc.add_argument("--live", action="store_true", help="create a live-mode key (default: test mode)")
    from .admin_current import register as register_current
    from .admin_plans import register as register_plans

    register_current(sub, merchants)
    register_plans(sub)
    from .admin_spend_keys import register as register_spend_keys

    register_spend_keys(sub)

    products = sub.add_parser("products", help="manage products, i.e. pricing configurations (create)").add_subparsers(
        dest="action", required=True, metavar="ACTION", title="actions"
    )
    pc = products.add_parser("create", help="create a product (pricing configuration)")
    _common(pc)
    pc.add_argument("--secret-key", required=True, help=SECRET_KEY_HELP)
    pc.add_argument("--name", help="the product's display name")
    pc.add_argument(
        "--rate-type",
        choices=["fixed", "percentage"],
        default="fixed",
        help="fee per unit, or a percentage of base cost",
    )
    pc.add_argument(
        "--tier",
        action="append",
        default=[],
        metavar="START:RATE[:TYPE]",
        help="a fee tier from START units at RATE (repeatable; TYPE: tokens_1m, characters_1m, minutes, requests)",
    )
    pc.add_argument(
        "--token-basis", choices=["input+output", "output"], default="input+output", help="which tokens the fee counts"
    )
    pc.add_argument(
        "--base-cost-payer", choices=["wallet", "merchant"], default="wallet", help="who pays the provider's cost"
    )
    pc.add_argument(
        "--service-charge-payer", choices=["wallet", "merchant"], default="wallet", help="who pays the service charge"
    )
    pc.add_argument(
        "--overdraft-floor", default="0", metavar="AMOUNT", help="USD a wallet may go below zero (default 0)"
    )
    pc.add_argument(
        "--allow-unpriced-models", action="store_true", help="allow calls to models with no known price (fee only)"
    )

    connections = sub.add_parser("connections", help="manage connections (create)").add_subparsers(
        dest="action", required=True, metavar="ACTION", title="actions"
    )
    cc = connections.add_parser("create", help="create an operator-made connection with a new wallet")
    _common(cc)
    cc.add_argument("--secret-key", required=True, help=SECRET_KEY_HELP)
    cc.add_argument("--reference-id", help="your own id for the end user (stored on the connection)")
    cc.add_argument("--credit", metavar="AMOUNT", help="granted credit to put in the new wallet")

    wallets = sub.add_parser("wallets", help="fund wallets (credit)").add_subparsers(
        dest="action", required=True, metavar="ACTION", title="actions"
    )
    wc = wallets.add_parser("credit", help="grant credit to a connection's wallet")
    _common(wc)
    wc.add_argument("--secret-key", required=True, help=SECRET_KEY_HELP)
    wc.add_argument("--connection-id", required=True, help="the connection whose wallet is credited (con_…)")
    wc.add_argument("--amount", required=True, help="USD to grant, a decimal string (e.g. 10.00)")
    wc.add_argument("--reason", help="a note stored with the credit")
    wc.add_argument("--idempotency-key", help="makes a retried command a no-op")

    pkeys = sub.add_parser("provider-keys", help="managed upstream provider keys (set, list)").add_subparsers(
        dest="action", required=True, metavar="ACTION", title="actions"
    )
    pks = pkeys.add_parser("set", help="store a managed upstream key for a provider (encrypted at rest)")
    _common(pks)
    pks.add_argument("--provider", required=True, help="provider slug, e.g. openai, anthropic, google")
    pks.add_argument("--key", required=True, help="the provider API key (stored encrypted)")
    pks.add_argument(
        "--mode", choices=["test", "live", "both"], default="both", help="which merchant mode uses it (default both)"
    )
    pkl = pkeys.add_parser("list", help="list managed keys (hints only)")
    _common(pkl)
    from .admin_gaps import merchant_option
    from .admin_gaps import register as register_gaps

    merchant_option(pks)
    merchant_option(pkl)
    register_gaps(merchants, pkeys, _common)

    prices = sub.add_parser("prices", help="operator price overrides (set)").add_subparsers(
        dest="action", required=True, metavar="ACTION", title="actions"
    )
    prs = prices.add_parser("set", help="override a model's prices (USD per 1M tokens); wins over the catalogue")
    _common(prs)
    prs.add_argument(
        "--provider",
        required=True,
        help="gateway slug (xai), catalogue id (x-ai), or host (also an operator-added one, "
        "from LAVA_EXTRA_UPSTREAM_HOSTS); the one an unknown_model_price error names works",
    )
    prs.add_argument("--model", required=True, help="the model name as requests send it")
    prs.add_argument("--input-mtok", required=True, help="USD per 1M input tokens")
    prs.add_argument("--output-mtok", required=True, help="USD per 1M output tokens")
    prs.add_argument("--cache-read-mtok", help="USD per 1M cache-read tokens (default: the input price)")
    prs.add_argument("--cache-write-mtok", help="USD per 1M cache-write tokens (default: the input price)")
    prs.add_argument("--cache-write-1h-mtok", help="USD per 1M 1-hour cache-write tokens (default: cache write)")
    prs.add_argument("--prices-file", help="defaults to LAVA_PRICES_FILE or <data dir>/prices.json")

    chk = sub.add_parser("checkout", help="hosted checkout settings (settings)").add_subparsers(
        dest="action", required=True, metavar="ACTION", title="actions"
    )
    cks = chk.add_parser("settings", help="set the amounts the hosted checkout offers (presets, minimum, maximum)")
    _common(cks)
    cks.add_argument("--secret-key", required=True, help=SECRET_KEY_HELP)
    cks.add_argument(
        "--presets", required=True, metavar="AMOUNT[,AMOUNT...]", help="preset USD amounts offered, e.g. 10,25,50"
    )
    cks.add_argument("--min", required=True, metavar="AMOUNT", help="smallest USD amount a user may enter")
    cks.add_argument("--max", required=True, metavar="AMOUNT", help="largest USD amount a user may enter")

    reqs = sub.add_parser("requests", help="inspect recorded requests (reprice)").add_subparsers(
        dest="action", required=True, metavar="ACTION", title="actions"
    )
    rr = reqs.add_parser("reprice", help="recompute a request's charge from its recorded prices and usage")
    _common(rr)
    rr.add_argument("request_id", help="the request to recompute (req_…)")

    hooks = sub.add_parser("webhooks", help="webhook endpoints, delivery attempts, redelivery").add_subparsers(
        dest="action", required=True, metavar="ACTION", title="actions"
    )
    whl = hooks.add_parser("list", help="list a merchant's webhook endpoints")
    _common(whl)
    whl.add_argument("--secret-key", required=True, help="the merchant's secret key (its mode is listed)")
    wha = hooks.add_parser("attempts", help="delivery attempts, newest first (status, latency, response excerpt)")
    _common(wha)
    wha.add_argument("--secret-key", required=True, help="the merchant's secret key (its mode is listed)")
    wha.add_argument("--webhook-id", help="only this endpoint's attempts")
    wha.add_argument("--event-id", help="only this event's attempts")
    wha.add_argument(
        "--limit", type=int, choices=range(1, 101), default=20, metavar="1..100", help="at most this many (newest)"
    )
    whr = hooks.add_parser("redeliver", help="send one event again, now, to every live endpoint")
    _common(whr)
    whr.add_argument("event_id", help="the evt_… id of the event to send again")
    whr.add_argument("--secret-key", help="check the event belongs to this merchant (operators may omit it)")

    ledger = sub.add_parser("ledger", help="the ledger's consistency (check)").add_subparsers(
        dest="action", required=True, metavar="ACTION", title="actions"
    )
    lc = ledger.add_parser("check", help="verify every ledger invariant")
    _common(lc)
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "database_url", None):
        overrides["database_url"] = args.database_url
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = args.data_dir
    if getattr(args, "prices_file", None):
        overrides["prices_file"] = Path(args.prices_file)
    if getattr(args, "public_url", None):
        overrides["public_url"] = args.public_url
    upstream: dict[str, str] = {}
    for item in getattr(args, "upstream", []) or []:
        upstream.update(parse_upstream_map(item))
    if upstream:
        overrides["upstream_map"] = upstream
    return from_env(**overrides)


def run(argv: Sequence[str]) -> dict[str, Any]:
    """Run one admin command in-process and return its JSON result (raises CliError)."""
    args = build_parser().parse_args(list(argv))
    try:
        settings = settings_from_args(args)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    if args.command == "serve":
        from .server import serve

        try:
            serve(
                settings,
                host=args.host,
                port=args.port,
                demo=args.demo,
                workers=args.workers,
                max_connections=args.max_connections,
                idle_timeout_s=args.idle_timeout,
            )
        except ValueError as exc:  # bad bounds, or the server could not start
            raise CliError(str(exc)) from exc
        return {"stopped": True}
    from . import admin, admin_current, admin_gaps, admin_plans, admin_spend_keys

    handlers: dict[tuple[str, str | None], Callable[..., Awaitable[dict[str, Any]]]] = {
        ("migrate", None): admin.migrate_cmd,
        ("merchants", "create"): admin.merchants_create,
        ("products", "create"): admin.products_create,
        ("connections", "create"): admin.connections_create,
        ("wallets", "credit"): admin.wallets_credit,
        ("ledger", "check"): admin.ledger_check,
        ("provider-keys", "set"): admin.provider_keys_set,
        ("prices", "set"): admin.prices_set,
        ("checkout", "settings"): admin.checkout_settings,
        ("requests", "reprice"): admin.requests_reprice,
        ("provider-keys", "list"): admin.provider_keys_list,
        ("webhooks", "list"): admin.webhooks_list,
        ("webhooks", "attempts"): admin.webhooks_attempts,
        ("webhooks", "redeliver"): admin.webhooks_redeliver,
        **admin_current.HANDLERS,
        **admin_plans.HANDLERS,
        **admin_spend_keys.HANDLERS,
        **admin_gaps.HANDLERS,
    }
    handler = handlers[(args.command, getattr(args, "action", None))]
    if args.command == "wallets" and not args.idempotency_key:
        args.idempotency_key = f"cli-credit:{uuid.uuid4()}"
    try:
        return asyncio.run(admin.with_services(settings, handler, args))
    except (ValueError, admin.AdminError) as exc:
        raise CliError(str(exc)) from exc


def main(argv: Sequence[str] | None = None) -> int:
    try:
        result = run(sys.argv[1:] if argv is None else argv)
    except CliError as exc:
        print(f"lava: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    print(json.dumps(result, separators=(", ", ": ")))
    return 1 if result.get("ok") is False else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

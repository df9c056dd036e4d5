"""Run the fake provider upstream (or the replay upstream) as a standalone server for benchmarks.

    .venv/bin/python bench/fake_upstream.py --port 9100 [--latency-ms 20] [--replay] [--host 127.0.0.1]

Everything lives in ``tests/fakes``; this is only a launcher (uses uvloop when installed).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from aiohttp import web  # noqa: E402
from tests.fakes.providers import make_fake_app  # noqa: E402
from tests.fakes.replay import make_replay_app  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay before every provider response")
    parser.add_argument("--api-key-prefix", default="", help="accept only keys with this prefix")
    parser.add_argument("--replay", action="store_true", help="serve recorded samples (x-replay-sample header)")
    parser.add_argument("--replay-max-delay-ms", type=float, default=0.0, help="max delay between SSE chunks")
    args = parser.parse_args(argv)
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    if args.replay:
        app = make_replay_app(max_delay_s=args.replay_max_delay_ms / 1000)
    else:
        app = make_fake_app(latency_s=args.latency_ms / 1000, api_key_prefix=args.api_key_prefix)
    print(f"fake upstream on http://{args.host}:{args.port}", flush=True)
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()

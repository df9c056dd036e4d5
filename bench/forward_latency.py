"""Direct-to-upstream vs through-the-gateway latency and throughput on the fake upstream.

    .venv/bin/python bench/forward_latency.py [--quick]

Starts, each in its own process: the fake provider upstream (this script with ``--serve-fake``)
and the gateway (``python -m lava_server serve --upstream api.openai.com=http://127.0.0.1:PORT``)
on a fresh SQLite data dir with a managed OpenAI key set through the admin CLI. Then, for
non-streaming and streaming chat completions at concurrency 1, 16 and 64, it sends a bounded
number of requests with aiohttp, first straight to the fake and then through ``/v1/forward``,
and prints p50/p99 latency, throughput, stream time-to-first-byte and the gateway/direct ratios.
Everything stops by itself; a full run takes about a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
CONCURRENCY = (1, 16, 64)
REQUESTS = {1: 150, 16: 600, 64: 1200}
QUICK_REQUESTS = {1: 30, 16: 120, 64: 256}
MANAGED_KEY = "sk-bench-managed"
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "benchmark fake-words=12"}]}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_fake(port: int) -> None:
    """Child process: the fake upstream on ``port`` until killed."""
    sys.path.insert(0, str(REPO))
    from aiohttp import web
    from tests.fakes import make_fake_app

    web.run_app(make_fake_app(), host="127.0.0.1", port=port, print=None, access_log=None)


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO}"}


def cli(data_dir: Path, *args: str) -> dict:
    out = subprocess.run(
        [PYTHON, "-m", "lava_server", *args, "--data-dir", str(data_dir)],
        env=env(),
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(out.stdout)


async def wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as resp:
                    if resp.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up in {timeout:.0f} s")


@dataclass
class Result:
    latencies: list[float]
    ttfb: list[float]
    elapsed: float
    errors: int

    def pct(self, values: list[float], q: float) -> float:
        if not values:
            return float("nan")
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0


async def run_load(url: str, headers: dict[str, str], body: dict, concurrency: int, total: int) -> Result:
    latencies: list[float] = []
    ttfb: list[float] = []
    errors = 0
    remaining = total
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> None:
            nonlocal errors
            started = time.perf_counter()
            first: float | None = None
            async with session.post(url, json=body, headers=headers) as resp:
                async for _chunk in resp.content.iter_any():
                    if first is None:
                        first = time.perf_counter() - started
                if resp.status != 200:
                    errors += 1
                    return
            latencies.append(time.perf_counter() - started)
            if first is not None:
                ttfb.append(first)

        async def worker() -> None:
            nonlocal remaining, errors
            while remaining > 0:
                remaining -= 1
                try:
                    await one()
                except aiohttp.ClientError:
                    errors += 1

        await asyncio.gather(*(one() for _ in range(min(concurrency, 4))))  # warm-up connections
        latencies.clear()
        ttfb.clear()
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return Result(latencies, ttfb, elapsed, errors)


def fmt(value: float) -> str:
    return f"{value:8.2f}"


async def bench(fake_url: str, gateway_url: str, token: str, counts: dict[int, int]) -> None:
    direct_url = f"{fake_url}/v1/chat/completions"
    forward_url = f"{gateway_url}/v1/forward?u=https://api.openai.com/v1/chat/completions"
    direct_headers = {"Authorization": f"Bearer {MANAGED_KEY}"}
    gateway_headers = {"Authorization": f"Bearer {token}"}
    header = (
        f"{'mode':<10}{'c':>4}{'n':>6} | {'direct p50':>10}{'p99':>8}{'req/s':>9}{'ttfb50':>8} |"
        f" {'gw p50':>8}{'p99':>8}{'req/s':>9}{'ttfb50':>8} | {'p50 x':>6}{'p99 x':>6}{'rps x':>6}{'err':>5}"
    )
    print(header)
    print("-" * len(header))
    for mode, body in (("plain", BODY), ("stream", {**BODY, "stream": True})):
        for c in CONCURRENCY:
            n = counts[c]
            d = await run_load(direct_url, direct_headers, body, c, n)
            g = await run_load(forward_url, gateway_headers, body, c, n)
            dp50, dp99, gp50, gp99 = (
                d.pct(d.latencies, 0.5),
                d.pct(d.latencies, 0.99),
                g.pct(g.latencies, 0.5),
                g.pct(g.latencies, 0.99),
            )
            dt = d.pct(d.ttfb, 0.5) if mode == "stream" else float("nan")
            gt = g.pct(g.ttfb, 0.5) if mode == "stream" else float("nan")
            print(
                f"{mode:<10}{c:>4}{n:>6} | {fmt(dp50):>10}{dp99:8.2f}{d.rps:9.0f}{dt:8.2f} |"
                f" {gp50:8.2f}{gp99:8.2f}{g.rps:9.0f}{gt:8.2f} |"
                f" {gp50 / dp50:6.1f}{gp99 / dp99:6.1f}{g.rps / d.rps if d.rps else 0:6.2f}{d.errors + g.errors:5d}",
                flush=True,
            )
    print("\nlatencies in ms; 'x' columns are gateway/direct (rps x < 1 means the gateway is slower)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    parser.add_argument("--serve-fake", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake:
        serve_fake(args.serve_fake)
        return 0

    data_dir = Path(tempfile.mkdtemp(prefix="lava-bench-"))
    fake_port, gw_port = free_port(), free_port()
    fake_url, gateway_url = f"http://127.0.0.1:{fake_port}", f"http://127.0.0.1:{gw_port}"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(subprocess.Popen([PYTHON, __file__, "--serve-fake", str(fake_port)], env=env(), cwd=REPO))
        merchant = cli(data_dir, "merchants", "create", "--name", "bench")
        key = merchant["secret_key"]
        product = cli(data_dir, "products", "create", "--secret-key", key, "--allow-unpriced-models")
        conn = cli(data_dir, "connections", "create", "--secret-key", key, "--credit", "1000000")
        cli(data_dir, "provider-keys", "set", "--provider", "openai", "--key", MANAGED_KEY)
        procs.append(
            subprocess.Popen(
                [
                    PYTHON, "-m", "lava_server", "serve", "--port", str(gw_port), "--data-dir", str(data_dir),
                    "--upstream", f"api.openai.com={fake_url}",
                ],
                env=env(),
                cwd=REPO,
                stdout=subprocess.DEVNULL,
            )
        )  # fmt: skip
        token_obj = {
            "secret_key": key,
            "connection_secret": conn["connection_secret"],
            "product_secret": product["product_secret"],
        }
        token = base64.b64encode(json.dumps(token_obj, separators=(",", ":")).encode()).decode()

        async def go() -> None:
            await wait_ready(f"{fake_url}/_fake/stats")
            await wait_ready(f"{gateway_url}/healthz")
            print(f"fake upstream {fake_url} | gateway {gateway_url} | data {data_dir}\n")
            await bench(fake_url, gateway_url, token, QUICK_REQUESTS if args.quick else REQUESTS)

        started = time.monotonic()
        asyncio.run(go())
        print(f"total {time.monotonic() - started:.1f} s")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

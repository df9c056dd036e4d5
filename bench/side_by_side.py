"""Side-by-side benchmark: direct, nginx, LiteLLM, Portkey and our gateway, in one run.

    .venv/bin/python bench/side_by_side.py                 # full run (~10 min), installs the peers
    .venv/bin/python bench/side_by_side.py --smoke         # a few seconds: direct + ours (+ installed peers)
    .venv/bin/python bench/side_by_side.py --targets direct,portkey,ours-sqlite --duration 3

One fast fake upstream (``fast_upstream.py``, OpenAI-compatible, non-streamed and SSE) serves
every target. Ours runs **with billing on**: a funded wallet, a product with a 20 % fee, a hold,
pricing, the ledger and the request record on every call; on SQLite (1 worker and one per core)
and on PostgreSQL (1 worker and one per core; ``--postgres-url``, default
``LAVA_BENCH_POSTGRES_URL`` or ``LAVA_TEST_POSTGRES_URL``). Peers are installed outside the
project's dependencies (``peers.py``); one that cannot be installed or started is reported and
skipped. For each target, mode (non-streamed, streamed) and concurrency it measures requests/s,
latency p50/p90/p99, latency added against direct, and CPU ms per request of the target's
process tree from /proc. It prints markdown tables and the ratios of each of ours against each
peer. Everything listens on 127.0.0.1; each cell is bounded by ``--duration`` and a request cap.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadgen  # noqa: E402
import peers  # noqa: E402
from report import PEER_NAMES, Result, f, report  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
BODY = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "user", "content": "Say hello in a few words."}],
    "max_tokens": 64,
}
OURS = ("ours-sqlite", "ours-sqlite-n", "ours-pg-1", "ours-pg-n")
ALL_TARGETS = ("direct", *PEER_NAMES, *OURS)
READY_TIMEOUT_S = {"litellm": 240.0}
WIDTH = 64


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cores() -> int:
    return len(os.sched_getaffinity(0))


@dataclass
class Target:
    name: str
    url: str
    headers: dict[str, str]
    root: subprocess.Popen[bytes] | None
    note: str = ""
    cleanup: list[Callable[[], None]] = field(default_factory=list)
    uses_postgres: bool = False


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def spawn(cmd: list[str], log: Path, *, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:  # fmt: skip
    """Start a process in its own session (so its whole tree can be stopped), output to ``log``."""
    out = log.open("wb")
    return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env or _env(), start_new_session=True)  # fmt: skip


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group we created, then SIGKILL it if it lingers."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    except ProcessLookupError:
        pass


async def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"exited with status {proc.returncode}")
            try:
                async with session.get(url) as r:
                    if r.status < 500:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout:.0f} s")


async def check_call(t: Target, stream: bool) -> str:
    """One call through ``t``: '' if it worked, else why (ours must also have charged it)."""
    body = json.dumps({**BODY, "stream": stream} if stream else BODY).encode()
    headers = {"Content-Type": "application/json", **t.headers}
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session,
        session.post(t.url, data=body, headers=headers) as r,
    ):
        text = await r.read()
        if r.status != 200:
            return f"HTTP {r.status}: {text[:200]!r}"
        if stream and b"[DONE]" not in text:
            return f"stream without [DONE]: {text[:200]!r}"
        if t.name.startswith("ours") and not stream:
            cost = r.headers.get("x-lava-request-cost", "")
            if not cost or Decimal(cost) <= 0:
                return f"not billed (x-lava-request-cost={cost!r})"
    return ""


# ---------------------------------------------------------------- targets


def lava_cli(data_dir: Path, db_url: str, *args: str) -> dict[str, object]:
    out = subprocess.run(
        [PY, "-m", "lava_server", *args, "--data-dir", str(data_dir), "--database-url", db_url],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"lava {' '.join(args[:2])}: {out.stderr.strip()[-300:]}")
    result: dict[str, object] = json.loads(out.stdout)
    return result


async def create_pg_database(base: str) -> tuple[str, Callable[[], None]]:
    import asyncpg

    name = f"lava_bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(base)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()

    def drop() -> None:
        async def go() -> None:
            c = await asyncpg.connect(base)
            try:
                await c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await c.close()

        asyncio.run(go())

    return base.rpartition("/")[0] + "/" + name, drop


async def start_ours(name: str, work: Path, fake_port: int, pg_url: str | None) -> Target:
    data_dir = work / name
    data_dir.mkdir()
    cleanup: list[Callable[[], None]] = []
    if name.startswith("ours-pg"):
        if not pg_url:
            raise RuntimeError("no PostgreSQL: pass --postgres-url (or set LAVA_BENCH_POSTGRES_URL)")
        db_url, drop = await create_pg_database(pg_url)
        cleanup.append(drop)
    else:
        db_url = f"sqlite:///{data_dir / 'lava.db'}"
    workers = 1 if name in ("ours-sqlite", "ours-pg-1") else cores()

    def setup() -> str:
        lava_cli(data_dir, db_url, "prices", "set", "--provider", "openai", "--model", "gpt-4o-mini",
                 "--input-mtok", "0.15", "--output-mtok", "0.6", "--prices-file", str(data_dir / "prices.json"))  # fmt: skip
        m = lava_cli(data_dir, db_url, "merchants", "create", "--name", "bench")
        sk = str(m["secret_key"])
        p = lava_cli(data_dir, db_url, "products", "create", "--secret-key", sk, "--rate-type", "percentage",
                     "--tier", "0:20")  # fmt: skip
        c = lava_cli(data_dir, db_url, "connections", "create", "--secret-key", sk, "--credit", "1000000")
        lava_cli(data_dir, db_url, "provider-keys", "set", "--provider", "openai", "--key", "sk-fake")
        tok = {"secret_key": sk, "connection_secret": c["connection_secret"], "product_secret": p["product_secret"]}
        return base64.b64encode(json.dumps(tok, separators=(",", ":")).encode()).decode()

    token = await asyncio.to_thread(setup)
    port = free_port()
    env = {**_env(), "LAVA_PRICES_FILE": str(data_dir / "prices.json")}
    proc = spawn(
        [PY, "-m", "lava_server", "serve", "--port", str(port), "--data-dir", str(data_dir),
         "--database-url", db_url, "--workers", str(workers), "--upstream", f"api.openai.com=http://127.0.0.1:{fake_port}"],
        data_dir / "serve.log",
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def ledger_check() -> None:
        report = lava_cli(data_dir, db_url, "ledger", "check")
        print(f"<!-- {name}: lava ledger check ok={report.get('ok')} -->", flush=True)

    cleanup.insert(0, ledger_check)
    t = Target(
        name,
        f"{base}/v1/forward?u=https://api.openai.com/v1/chat/completions",
        {"Authorization": f"Bearer {token}"},
        proc,
        note=f"billing on, {workers} worker(s), {'PostgreSQL' if 'pg' in name else 'SQLite'}",
        cleanup=cleanup,
        uses_postgres="pg" in name,
    )
    await wait_http(base + "/healthz", 60, proc)
    return t


async def start_target(name: str, work: Path, fake_port: int, pg_url: str | None) -> Target:
    if name == "direct":
        return Target(name, f"http://127.0.0.1:{fake_port}/v1/chat/completions", {"Authorization": "Bearer sk-fake"}, None)  # fmt: skip
    if name.startswith("ours"):
        return await start_ours(name, work, fake_port, pg_url)
    port = free_port()
    folder = work / name
    if name == "nginx":
        binary = peers.nginx_binary()
        assert binary is not None
        conf = peers.nginx_config(folder, port, fake_port)
        proc = spawn([binary, "-c", str(conf), "-p", str(folder)], folder / "run.log")
        t = Target(name, f"http://127.0.0.1:{port}/v1/chat/completions", {"Authorization": "Bearer sk-fake"}, proc,
                   note="reverse proxy, 1 worker, upstream keepalive, proxy_buffering off")  # fmt: skip
        await wait_http(f"http://127.0.0.1:{port}/", 20, proc)
        return t
    if name == "litellm":
        conf = peers.litellm_config(folder, fake_port)
        env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"}
        proc = spawn(
            [str(peers.litellm_bin()), "--config", str(conf), "--host", "127.0.0.1", "--port", str(port),
             "--num_workers", str(cores())],
            folder / "run.log",
            env=env,
        )  # fmt: skip
        t = Target(name, f"http://127.0.0.1:{port}/v1/chat/completions",
                   {"Authorization": f"Bearer {peers.LITELLM_MASTER_KEY}"}, proc,
                   note=f"{peers.LITELLM_VERSION}, {cores()} workers, in-memory cost only (no database: its Prisma "
                   "engine cannot be fetched offline), less work than our billing")  # fmt: skip
        await wait_http(f"http://127.0.0.1:{port}/health/liveliness", READY_TIMEOUT_S["litellm"], proc)
        return t
    if name == "portkey":
        entry = peers.portkey_loopback_entry()
        env = {**os.environ, "NODE_ENV": "production"}
        proc = spawn(["node", str(entry), f"--port={port}", "--headless"], folder_log(folder), cwd=entry.parent, env=env)  # fmt: skip
        t = Target(name, f"http://127.0.0.1:{port}/v1/chat/completions",
                   {"Authorization": "Bearer sk-fake", "x-portkey-provider": "openai",
                    "x-portkey-custom-host": f"http://127.0.0.1:{fake_port}/v1"}, proc,
                   note=f"{peers.PORTKEY_VERSION}, one Node process, no billing")  # fmt: skip
        await wait_http(f"http://127.0.0.1:{port}/", 60, proc)
        return t
    raise ValueError(f"unknown target {name}")


def folder_log(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "run.log"


# ---------------------------------------------------------------- measuring


async def measure(
    t: Target, mode: str, c: int, duration: float, wrk: str | None, fake: subprocess.Popen[bytes]
) -> loadgen.Sample:
    stream = mode == "stream"
    body = json.dumps({**BODY, "stream": True} if stream else BODY).encode()
    pids = loadgen.tree(t.root.pid) if t.root else []
    pg = loadgen.postgres_pids() if t.uses_postgres else []
    ours = [*pids, *loadgen.tree(fake.pid), *pg]  # known work: the target, the upstream, its database
    before, pg_before, known_before = loadgen.cpu_by_pid(pids), loadgen.cpu_by_pid(pg), loadgen.cpu_by_pid(ours)
    busy_before, self_before, wall_before = loadgen.machine_busy_ms(), loadgen.self_cpu_ms(), time.monotonic()
    done = asyncio.Event()
    rss = asyncio.create_task(loadgen.sample_rss(pids, done))
    try:
        if wrk and not stream:
            sample = await asyncio.to_thread(loadgen.run_wrk, wrk, t.url, t.headers, body, c, duration)
        else:
            sample = await loadgen.run_client(t.url, t.headers, body, c, duration, stream=stream)
    finally:
        done.set()
    sample.max_rss_mb = await rss if pids else None
    known = loadgen.cpu_delta(known_before, loadgen.cpu_by_pid(ours)) + loadgen.self_cpu_ms() - self_before
    wall_ms = (time.monotonic() - wall_before) * 1000
    foreign = loadgen.machine_busy_ms() - busy_before - known
    sample.foreign_cpu_pct = max(0.0, 100 * foreign / (wall_ms * cores())) if wall_ms else None
    if t.root:
        sample.cpu_ms = loadgen.cpu_delta(before, loadgen.cpu_by_pid(pids))
    if t.uses_postgres:
        sample.db_cpu_ms = loadgen.cpu_delta(pg_before, loadgen.cpu_by_pid(pg))
    return sample


async def run(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="lava-side-by-side-"))
    install = not args.no_install and not args.smoke
    wrk = peers.install_wrk(install)
    skipped: dict[str, str] = {}
    wanted = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = set(wanted) - set(ALL_TARGETS)
    if unknown:
        print(f"unknown targets: {', '.join(sorted(unknown))} (choose from {', '.join(ALL_TARGETS)})")
        return 2
    installers = {"nginx": peers.install_nginx, "litellm": peers.install_litellm, "portkey": peers.install_portkey}
    for name in [t for t in wanted if t in installers]:
        got = installers[name](install)
        if not got.ok:
            skipped[name] = got.detail
            print(f"PEER {name}: cannot be measured: {got.detail}", flush=True)
    pg_url = args.postgres_url or os.environ.get("LAVA_BENCH_POSTGRES_URL") or os.environ.get("LAVA_TEST_POSTGRES_URL")
    fake_port = free_port()
    fake = spawn([PY, str(REPO / "bench" / "fast_upstream.py"), "--port", str(fake_port)], work / "upstream.log")
    results: list[Result] = []
    notes: dict[str, str] = {"direct": "straight to the fake upstream (the floor)"}
    order = [t for t in wanted if t not in skipped]
    if args.reverse:
        order = [order[0], *reversed(order[1:])] if order and order[0] == "direct" else list(reversed(order))
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    try:
        await wait_http(f"http://127.0.0.1:{fake_port}/", 20, fake)
        for name in order:
            try:
                t = await start_target(name, work, fake_port, pg_url)
            except Exception as exc:  # a peer that will not start is reported, the run goes on
                skipped[name] = f"did not start: {exc}"
                print(f"TARGET {name}: {skipped[name]}", flush=True)
                continue
            try:
                problems = [p for p in [await check_call(t, False), await check_call(t, True)] if p]
                if problems:
                    skipped[name] = "; ".join(problems)
                    print(f"TARGET {name}: does not work: {skipped[name]}", flush=True)
                    continue
                notes[name] = t.note
                await loadgen.run_client(t.url, t.headers, json.dumps(BODY).encode(), 4, args.warmup, stream=False)
                for mode in ("plain", "stream"):
                    for c in args.concurrency:
                        s = await measure(
                            t, mode, c, args.duration, None if args.no_wrk or not wrk.ok else wrk.detail, fake
                        )
                        results.append(Result(name, mode, c, s))
                        print(
                            f"{name:14} {mode:6} c={c:<3} {s.rps:9.0f} req/s  p50 {f(s.pct(50))} ms  "
                            f"p99 {f(s.pct(99))} ms  cpu/req {f(s.cpu_per_request)} ms  errors {s.errors}",
                            flush=True,
                        )
                if args.many_streams and name != "direct":
                    s = await measure(t, "stream", args.many_streams, args.duration, None, fake)
                    results.append(Result(name, "stream-many", args.many_streams, s))
                    print(f"{name:14} {args.many_streams} streams: {s.rps:7.0f}/s  p99 {f(s.pct(99))} ms  "
                          f"max RSS {f(s.max_rss_mb, 0)} MiB  errors {s.errors}", flush=True)  # fmt: skip
            finally:
                if t.root:
                    stop(t.root)
                for fn in t.cleanup:
                    try:
                        await asyncio.to_thread(fn)
                    except Exception as exc:
                        print(f"<!-- {name}: clean-up failed: {exc} -->", flush=True)
    finally:
        stop(fake)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()
    header = (
        f"## Side-by-side run, {started:%Y-%m-%d %H:%M} UTC\n\n"
        f"{cores()} cores, load average {load_before[0]:.2f} before / {load_after[0]:.2f} after; "
        f"{args.duration:g} s per cell; non-streamed load by {'wrk' if wrk.ok and not args.no_wrk else 'aiohttp'}, "
        f"streams by an aiohttp client; every target, the load generator and the fake upstream share the machine. "
        f"'foreign CPU %': what everything else on the machine used during the cell, as a share of all cores "
        f"(a cell with a high share was measured on a busy machine)."
    )
    text = report(results, notes, skipped, header)
    print("\n" + text, flush=True)
    if args.markdown:
        Path(args.markdown).write_text(text + "\n")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                [
                    {"target": r.target, "mode": r.mode, "c": r.c, "rps": r.sample.rps, "errors": r.sample.errors,
                     "p50": r.sample.pct(50), "p90": r.sample.pct(90), "p99": r.sample.pct(99),
                     "first_p50": r.sample.pct(50, r.sample.first) if r.sample.first else None,
                     "cpu_ms_per_request": r.sample.cpu_per_request, "db_cpu_ms_per_request": r.sample.db_cpu_per_request,
                     "max_rss_mb": r.sample.max_rss_mb,
                     "foreign_cpu_pct": r.sample.foreign_cpu_pct}
                    for r in results
                ],
                indent=1,
            )
        )  # fmt: skip
    return 0 if results else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="a few seconds, no installs: proves the harness works")
    parser.add_argument("--targets", help=f"comma-separated, from {', '.join(ALL_TARGETS)}")
    parser.add_argument("--duration", type=float, help="seconds per cell (default 5; smoke 0.5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up per target")
    parser.add_argument("--concurrency", help="comma-separated (default 1,16,64; smoke 1,8)")
    parser.add_argument("--many-streams", type=int, help="then N concurrent streams per target (default 512; 0: skip)")
    parser.add_argument("--postgres-url", help="a PostgreSQL server URL whose user may create databases")
    parser.add_argument("--no-install", action="store_true", help="measure only peers already installed")
    parser.add_argument("--no-wrk", action="store_true", help="use the aiohttp client for non-streamed calls too")
    parser.add_argument("--reverse", action="store_true", help="measure the targets in reverse order")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, data)")
    parser.add_argument("--markdown", help="also write the tables to this file")
    parser.add_argument("--json", help="also write the raw numbers to this file")
    args = parser.parse_args(argv)
    if args.smoke:
        installed = [n for n, ok in (("nginx", peers.nginx_binary()), ("litellm", peers.litellm_bin().exists()),
                                     ("portkey", peers.portkey_entry().exists())) if ok]  # fmt: skip
        args.targets = args.targets or ",".join(["direct", *installed, "ours-sqlite"])
        args.duration = args.duration or 0.5
        args.warmup = min(args.warmup, 0.3)
        args.concurrency = args.concurrency or "1,8"
        args.many_streams = 0 if args.many_streams is None else args.many_streams
    args.many_streams = 512 if args.many_streams is None else args.many_streams
    args.targets = args.targets or ",".join(ALL_TARGETS)
    args.duration = args.duration or 5.0
    args.concurrency = [int(c) for c in (args.concurrency or "1,16,64").split(",")]
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())

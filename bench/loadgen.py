"""Load generation and measurement for ``side_by_side.py``: wrk for non-streamed calls when it
is installed, an aiohttp client otherwise and for streams; CPU time of a process tree from /proc.
Every loop is bounded by a duration and a request count."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

MAX_REQUESTS_PER_CELL = 200_000
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Sample:
    """One cell: a target, a mode, a concurrency. Latencies in ms; ``first`` is time to the first
    body bytes (streams: the first event)."""

    requests: int = 0
    errors: int = 0
    elapsed_s: float = 0.0
    latencies: list[float] = field(default_factory=list)
    first: list[float] = field(default_factory=list)
    wrk_percentiles: dict[int, float] = field(default_factory=dict)
    cpu_ms: float | None = None
    db_cpu_ms: float | None = None
    max_rss_mb: float | None = None  # the largest resident set of any one process of the target
    foreign_cpu_pct: float | None = None  # CPU used by everything else on the machine, % of all cores
    error_note: str = ""

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed_s if self.elapsed_s else 0.0

    def pct(self, q: int, values: list[float] | None = None) -> float:
        if values is None and self.wrk_percentiles:
            return self.wrk_percentiles.get(q, float("nan"))
        data = sorted(self.latencies if values is None else values)
        if not data:
            return float("nan")
        return data[min(len(data) - 1, int(q / 100 * len(data)))]

    @property
    def cpu_per_request(self) -> float | None:
        return None if self.cpu_ms is None or not self.requests else self.cpu_ms / self.requests

    @property
    def db_cpu_per_request(self) -> float | None:
        return None if self.db_cpu_ms is None or not self.requests else self.db_cpu_ms / self.requests


def _stat_fields(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def tree(root: int) -> list[int]:
    """``root`` and all its descendants (Linux /proc children lists)."""
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        try:
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo.extend(int(k) for k in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return out


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    """utime + stime of each of ``pids`` that is still running, in milliseconds."""
    out: dict[int, float] = {}
    for pid in pids:
        f = _stat_fields(pid)
        if f is not None:
            out[pid] = (int(f[11]) + int(f[12])) * 1000 / CLK_TCK
    return out


def machine_busy_ms() -> float:
    """CPU time all cores have spent busy since boot (/proc/stat), in ms."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) * 1000 / CLK_TCK


def self_cpu_ms() -> float:
    """This process and its waited-for children (wrk), in ms."""
    t = os.times()
    return (t.user + t.system + t.children_user + t.children_system) * 1000


def rss_mb(pid: int) -> float:
    """Resident set size of one process in MiB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def sample_rss(pids: list[int], stop: asyncio.Event, every_s: float = 0.2) -> float:
    """The largest RSS (MiB) any of ``pids`` reaches until ``stop`` is set."""
    peak = 0.0
    while not stop.is_set():
        peak = max([peak, *(rss_mb(p) for p in pids)])
        try:
            await asyncio.wait_for(stop.wait(), every_s)
        except TimeoutError:
            pass
    return peak


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU ms used between two snapshots by the processes present in both (one that exited
    meanwhile would otherwise count negative)."""
    return sum(after[p] - before[p] for p in after if p in before)


def cpu_ms(pids: list[int]) -> float:
    """utime + stime of ``pids`` in milliseconds."""
    return sum(cpu_by_pid(pids).values())


def postgres_pids() -> list[int]:
    """Every ``postgres`` process on the machine (the whole cluster, whoever's load it serves)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")


def run_wrk(wrk: str, url: str, headers: dict[str, str], body: bytes, c: int, duration_s: float) -> Sample:
    """Non-streamed POSTs with wrk (one thread, ``c`` connections) for ``duration_s``."""
    lines = ['wrk.method = "POST"', f"wrk.body = [[{body.decode()}]]"]
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in {"Content-Type": "application/json", **headers}.items()]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lines) + "\n")
    try:
        out = subprocess.run(
            [wrk, "-t1", f"-c{c}", f"-d{max(1, round(duration_s))}s", "--latency", "--timeout", "10s"]
            + ["-s", script.name, url],
            capture_output=True,
            text=True,
            timeout=duration_s + 30,
        ).stdout
    finally:
        os.unlink(script.name)
    s = Sample()
    total = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    if not total:
        s.error_note = out[-300:]
        return s
    s.requests = int(total.group(1))
    s.elapsed_s = _ms(total.group(2) + total.group(3)) / 1000
    for q in (50, 90, 99):
        m = re.search(rf"^\s+{q}%\s+([\d.]+\w+)", out, re.M)
        if m:
            s.wrk_percentiles[q] = _ms(m.group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    s.errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(int(g) for g in sock.groups()) if sock else 0)
    s.requests -= int(non2xx.group(1)) if non2xx else 0
    return s


async def run_client(
    url: str, headers: dict[str, str], body: bytes, c: int, duration_s: float, *, stream: bool, warmup: int = 0
) -> Sample:
    """``c`` concurrent keep-alive clients POSTing ``body`` until ``duration_s`` has passed."""
    s = Sample()
    hdrs = {"Content-Type": "application/json", **headers}
    connector = aiohttp.TCPConnector(limit=c)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(record: bool) -> None:
            t0 = time.perf_counter()
            first: float | None = None
            tail = b""
            try:
                async with session.post(url, data=body, headers=hdrs) as r:
                    async for chunk in r.content.iter_any():
                        if first is None:
                            first = (time.perf_counter() - t0) * 1000
                        tail = (tail + chunk)[-64:]
                    ok = r.status == 200 and (not stream or b"[DONE]" in tail)
                    if not ok and not s.error_note:
                        s.error_note = f"HTTP {r.status}: {tail[-60:]!r}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                ok = False
                s.error_note = s.error_note or f"{type(exc).__name__}: {exc}"[:120]
            if not record:
                return
            if ok:
                s.requests += 1
                s.latencies.append((time.perf_counter() - t0) * 1000)
                if first is not None:
                    s.first.append(first)
            else:
                s.errors += 1

        for _ in range(warmup):
            await one(False)
        deadline = time.monotonic() + duration_s

        async def worker() -> None:
            while time.monotonic() < deadline and s.requests + s.errors < MAX_REQUESTS_PER_CELL:
                await one(True)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(c)))
        s.elapsed_s = time.perf_counter() - started
    return s

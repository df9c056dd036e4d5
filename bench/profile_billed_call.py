"""Where the CPU of a billed call goes: py-spy on one gateway worker under load.

    .venv/bin/pip install py-spy        # or: pip install -e '.[bench]'
    .venv/bin/python bench/profile_billed_call.py [--stream] [--seconds 15] [--concurrency 16]

Starts the fast fake upstream and ``lava serve --workers 1`` on SQLite (``--postgres``: on
PostgreSQL) with billing on (the same
set-up as ``side_by_side.py``), loads it with non-streamed (or streamed) chat completions and
samples the worker with ``py-spy record --format raw`` (all threads, on-CPU samples only). Prints
the top frames by self time and by inclusive time, each as a share of all samples, grouped by
function (file:function) so the 2–3 ms of Python per call can be attributed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadgen  # noqa: E402
import side_by_side as sbs  # noqa: E402

FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^:()]+)(?::\d+)?\)$")


def short(frame: str) -> str:
    m = FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m.group("file")
    for marker in ("site-packages/", "src/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path}:{m.group('func')}"


def thread_cpu_ms(pid: int) -> dict[int, float]:
    """utime + stime of each thread of ``pid``, in ms."""
    out: dict[int, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(task.name)] = (int(fields[11]) + int(fields[12])) * 1000 / loadgen.CLK_TCK
    return out


def summarise(raw: Path, top: int) -> str:
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [short(f) for f in stack.split(";") if f]
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        self_time[frames[-1]] += count
        for f in set(frames):
            inclusive[f] += count
    lines = [f"{total} samples", "", "| self % | function |", "|---:|---|"]
    lines += [f"| {100 * n / total:.1f} | `{f}` |" for f, n in self_time.most_common(top)]
    lines += ["", "| inclusive % | function |", "|---:|---|"]
    lines += [f"| {100 * n / total:.1f} | `{f}` |" for f, n in inclusive.most_common(top * 2)]
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> int:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        print("py-spy is not installed: pip install py-spy")
        return 2
    work = Path(tempfile.mkdtemp(prefix="lava-profile-"))
    fake_port = sbs.free_port()
    fake = sbs.spawn([sys.executable, str(sbs.REPO / "bench" / "fast_upstream.py"), "--port", str(fake_port)],
                     work / "upstream.log")  # fmt: skip
    try:
        await sbs.wait_http(f"http://127.0.0.1:{fake_port}/", 20, fake)
        pg_url = (
            args.postgres_url or os.environ.get("LAVA_BENCH_POSTGRES_URL") or os.environ.get("LAVA_TEST_POSTGRES_URL")
        )
        t = await sbs.start_ours("ours-pg-1" if args.postgres else "ours-sqlite", work, fake_port, pg_url)
        assert t.root is not None
        try:
            body = json.dumps({**sbs.BODY, "stream": True} if args.stream else sbs.BODY).encode()
            await loadgen.run_client(t.url, t.headers, body, 4, 1.0, stream=args.stream)
            raw = work / "profile.txt"
            pid = loadgen.tree(t.root.pid)[-1]  # the serving process (the only one with --workers 1)
            spy_proc = subprocess.Popen(
                [spy, "record", "--format", "raw", "--rate", "250", "--duration", str(args.seconds),
                 "--pid", str(pid), "--output", str(raw), "--nonblocking"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )  # fmt: skip
            await asyncio.sleep(0.5)
            before = loadgen.cpu_ms([pid])
            threads_before = thread_cpu_ms(pid)
            sample = await loadgen.run_client(
                t.url, t.headers, body, args.concurrency, args.seconds - 1, stream=args.stream
            )
            used = loadgen.cpu_ms([pid]) - before
            threads = {tid: ms - threads_before.get(tid, 0.0) for tid, ms in thread_cpu_ms(pid).items()}
            spy_proc.wait(args.seconds + 30)
            print(
                f"{'streamed' if args.stream else 'non-streamed'}, c={args.concurrency}: {sample.rps:.0f} req/s, "
                f"{used / max(sample.requests, 1):.2f} CPU ms per request (with py-spy attached), "
                f"errors {sample.errors}\n"
            )
            n = max(sample.requests, 1)
            main_ms = threads.pop(pid, 0.0)
            others = sorted(threads.values(), reverse=True)
            print(
                f"CPU ms per request by thread: event loop {main_ms / n:.3f}; other threads (busiest first: the "
                f"SQLite writer, then readers) {', '.join(f'{ms / n:.3f}' for ms in others if ms > 0) or '0'}\n"
            )
            print(summarise(raw, args.top))
        finally:
            sbs.stop(t.root)
            for fn in t.cleanup:
                await asyncio.to_thread(fn)
    finally:
        sbs.stop(fake)
        shutil.rmtree(work, ignore_errors=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--postgres", action="store_true", help="profile on PostgreSQL instead of SQLite")
    parser.add_argument("--postgres-url", help="default LAVA_BENCH_POSTGRES_URL or LAVA_TEST_POSTGRES_URL")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())

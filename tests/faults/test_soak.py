"""The soak: mixed load on 2 PostgreSQL replicas for LAVA_SOAK_SECONDS (default 600), RSS sampled,
no growth trend. Selected with ``-m soak`` (CI runs it as its own step, see .ci/run)."""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.faults.harness import FORWARD_PATH, Cluster, Replica, chat_body, wait_until

SOAK_SECONDS = float(os.environ.get("LAVA_SOAK_SECONDS", "600"))
SAMPLE_EVERY_S = max(1.0, min(5.0, SOAK_SECONDS / 60))
WARM_UP = 0.25  # the first quarter fills caches and pools; the trend is measured after it
MAX_GROWTH_BYTES = 16 * 1024 * 1024  # over the measured window, per replica (fitted trend)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def fitted_growth(samples: list[tuple[float, int]]) -> float:
    """Least-squares slope of RSS over time, times the window: the growth trend in bytes."""
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_r = sum(r for _, r in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    if var == 0:
        return 0.0
    slope = sum((t - mean_t) * (r - mean_r) for t, r in samples) / var
    return slope * (samples[-1][0] - samples[0][0])


def _load(c: Cluster, replicas: list[Replica], fwd: dict[str, str], con: dict[str, Any], product: dict[str, Any],
          stop: threading.Event, counts: dict[str, int], worker: int) -> None:  # fmt: skip
    n = 0
    with httpx.Client(timeout=30) as client:
        while not stop.is_set():
            n += 1
            url = replicas[(worker + n) % len(replicas)].url
            kind = n % 4
            if kind in (0, 1):
                body = chat_body(stream=kind == 1, out_words=20)
                with client.stream("POST", url + FORWARD_PATH, headers=fwd, json=body) as r:
                    b"".join(r.iter_raw())
            elif kind == 2:
                r = client.get(url + "/v1/requests", headers=c.admin, params={"limit": "20"})
            else:
                manual = {
                    "request_id": f"soak_{uuid.uuid4().hex}",
                    "connection_secret": con["connection_secret"],
                    "product_secret": product["product_secret"],
                    "input_tokens": 5,
                }
                r = client.post(url + "/v1/requests", headers=c.admin, json=manual)
            key = str(r.status_code)
            counts[key] = counts.get(key, 0) + 1


@pytest.mark.soak
@pytest.mark.timeout(int(SOAK_SECONDS) + 180)
def test_soak_mixed_load_has_no_memory_growth(cluster: Cluster) -> None:
    c = cluster
    product = c.product("--rate-type", "percentage", "--tier", "0:20")
    con = c.connection("10000")
    fwd = c.forward_headers(con, product)
    replicas = [c.start_replica(), c.start_replica()]
    stop = threading.Event()
    counts: dict[str, int] = {}
    workers = [
        threading.Thread(target=_load, args=(c, replicas, fwd, con, product, stop, counts, i), daemon=True)
        for i in range(4)
    ]
    samples: dict[int, list[tuple[float, int]]] = {r.proc.pid: [] for r in replicas}
    start = time.monotonic()
    for w in workers:
        w.start()
    try:
        while (elapsed := time.monotonic() - start) < SOAK_SECONDS:
            for r in replicas:
                assert r.proc.poll() is None, f"replica died: {r.log_text()[-2000:]}"
                samples[r.proc.pid].append((elapsed, rss_bytes(r.proc.pid)))
            time.sleep(SAMPLE_EVERY_S)
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=60)
    assert set(counts) <= {"200", "201"}, counts
    assert sum(counts.values()) > SOAK_SECONDS, counts  # at least ~1 call a second ran
    for pid, series in samples.items():
        measured = [s for s in series if s[0] >= SOAK_SECONDS * WARM_UP]
        assert len(measured) >= 5, series
        growth = fitted_growth(measured)
        assert growth < MAX_GROWTH_BYTES, (
            f"replica {pid}: RSS trend +{growth / 2**20:.1f} MiB over {measured[-1][0] - measured[0][0]:.0f} s "
            f"({measured[0][1] / 2**20:.0f} → {measured[-1][1] / 2**20:.0f} MiB)"
        )
    wait_until(lambda: c.open_holds() == 0, 20, "every hold to close")
    c.ledger_ok()


def test_fitted_growth_sees_a_trend() -> None:
    """The soak's trend measure: flat noise is ~0, a steady leak is its full size."""
    flat = [(float(t), 100_000_000 + (1_000_000 if t % 2 else 0)) for t in range(60)]
    leak = [(float(t), 100_000_000 + t * 1_000_000) for t in range(60)]
    assert abs(fitted_growth(flat)) < 2_000_000
    assert abs(fitted_growth(leak) - 59_000_000) < 1_000

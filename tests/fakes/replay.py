"""Replay upstream: answers each request with one recorded provider response, byte for byte.

The test picks the sample with the ``x-replay-sample: <manifest id>`` request header (the gateway
forwards client headers). Any method and path are accepted (``strict_path=True`` makes a path that
differs from the sample's recorded ``path`` a 404). The response has the recorded ``status``, the
recorded ``content_type`` and the exact bytes of ``response_file``. Streamed samples
(``stream: true`` with status 200 — SSE, Gemini JSON arrays, Bedrock event streams) are cut at
random byte boundaries and written as separate chunks with random delays up to ``max_delay_s``;
the randomness is seeded by ``seed`` and the sample id (override per request with an
``x-replay-seed`` header; ``x-replay-max-delay-ms`` overrides ``max_delay_s``), so a given sample
always splits the same way. Other bodies are written
at once with a Content-Length.

Errors from the replay app itself (missing header, unknown id) are 400/404 JSON
``{"error": {"message": ..., "type": "replay_error"}}`` with header ``x-replay-error: 1``.
The same ``/_fake/stats`` / ``/_fake/requests`` / ``/_fake/reset`` controls as the fake app exist,
plus ``GET /_fake/replay-stats`` → ``{"last_sample": id, "last_chunks": n}``. Streamed responses
also carry an ``x-replay-chunks: <n>`` header.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from . import common as c
from . import controls

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_HEADER = "x-replay-sample"


def default_samples_dir() -> Path:
    """``$LAVA_PROVIDER_SAMPLES`` or the corpus checked in at ``<repo>/tests/data/provider-samples``."""
    env = os.environ.get("LAVA_PROVIDER_SAMPLES")
    return Path(env) if env else REPO_ROOT / "tests" / "data" / "provider-samples"


def load_manifest(directory: Path | None = None) -> list[dict[str, Any]]:
    """Every line of ``manifest.jsonl`` as a dict, in file order."""
    path = (directory or default_samples_dir()) / "manifest.jsonl"
    with path.open("rb") as fh:
        return [orjson.loads(line) for line in fh if line.strip()]


def split_points(length: int, rng: random.Random, *, max_chunk: int = 512) -> list[int]:
    """Random cut offsets in ``(0, length)``, every piece at most ``max_chunk`` bytes."""
    cuts: list[int] = []
    pos = 0
    while True:
        pos += rng.randint(1, max_chunk)
        if pos >= length:
            return cuts
        cuts.append(pos)


def split_body(body: bytes, rng: random.Random, *, max_chunk: int = 512) -> list[bytes]:
    edges = [0, *split_points(len(body), rng, max_chunk=max_chunk), len(body)]
    return [body[a:b] for a, b in zip(edges, edges[1:], strict=False) if b > a]


class _ReplayStats:
    def __init__(self) -> None:
        self.last_sample: str | None = None
        self.last_chunks = 0


_SAMPLES: web.AppKey[Mapping[str, dict[str, Any]]] = web.AppKey("replay_samples", dict)
_DIR: web.AppKey[Path] = web.AppKey("replay_dir", Path)
_CONFIG: web.AppKey[dict[str, Any]] = web.AppKey("replay_config", dict)
_STATS: web.AppKey[_ReplayStats] = web.AppKey("replay_stats", _ReplayStats)


def _replay_error(status: int, message: str) -> web.Response:
    body = {"error": {"message": message, "type": "replay_error"}}
    return c.json_response(body, status=status, headers={"x-replay-error": "1"})


async def replay(request: web.Request) -> web.StreamResponse:
    app = request.app
    sample_id = request.headers.get(SAMPLE_HEADER)
    if not sample_id:
        return _replay_error(400, f"missing {SAMPLE_HEADER} header")
    sample = app[_SAMPLES].get(sample_id)
    if sample is None:
        return _replay_error(404, f"unknown sample {sample_id!r}")
    config = app[_CONFIG]
    if config["strict_path"] and request.path != sample["path"]:
        return _replay_error(404, f"sample {sample_id!r} was recorded at {sample['path']}, not {request.path}")
    body = (app[_DIR] / sample["response_file"]).read_bytes()
    status = int(sample["status"])
    ctype = sample.get("content_type") or "application/octet-stream"
    stats = app[_STATS]
    stats.last_sample = sample_id
    if not (sample.get("stream") and status == 200):
        stats.last_chunks = 1
        return web.Response(body=body, status=status, headers={"Content-Type": ctype})
    seed = request.headers.get("x-replay-seed", str(config["seed"]))
    rng = random.Random(f"{seed}:{sample_id}")
    chunks = split_body(body, rng)
    stats.last_chunks = len(chunks)
    resp = web.StreamResponse(status=status)
    resp.headers["Content-Type"] = ctype
    resp.headers["x-replay-chunks"] = str(len(chunks))
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    max_delay = float(config["max_delay_s"])
    if "x-replay-max-delay-ms" in request.headers:
        max_delay = float(request.headers["x-replay-max-delay-ms"]) / 1000
    for i, chunk in enumerate(chunks):
        if i and max_delay > 0:
            await asyncio.sleep(rng.uniform(0, max_delay))
        await resp.write(chunk)
    await resp.write_eof()
    return resp


async def replay_stats(request: web.Request) -> web.Response:
    stats = request.app[_STATS]
    return c.json_response({"last_sample": stats.last_sample, "last_chunks": stats.last_chunks})


def make_replay_app(
    samples_dir: Path | None = None,
    *,
    seed: int = 0,
    max_delay_s: float = 0.002,
    strict_path: bool = False,
) -> web.Application:
    """An app replaying the samples in ``samples_dir`` (default: :func:`default_samples_dir`)."""
    directory = samples_dir or default_samples_dir()
    app = web.Application(middlewares=[controls.recording_middleware], client_max_size=64 * 1024**2)
    app[c.STATE] = c.FakeState()
    app[_SAMPLES] = {row["id"]: row for row in load_manifest(directory)}
    app[_DIR] = directory
    app[_CONFIG] = {"seed": seed, "max_delay_s": max_delay_s, "strict_path": strict_path}
    app[_STATS] = _ReplayStats()
    controls.add_routes(app)
    app.router.add_get("/_fake/replay-stats", replay_stats)
    app.router.add_route("*", "/{tail:.*}", replay)
    return app

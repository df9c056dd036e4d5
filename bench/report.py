"""The side-by-side benchmark's tables: one markdown table per mode, and the ratios of ours against each peer.

``report`` turns the measured cells (:class:`Result`, one per target, mode and concurrency) into the
text ``side_by_side.py`` prints; it measures nothing itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import loadgen

PEER_NAMES = ("nginx", "litellm", "portkey")


@dataclass
class Result:
    target: str
    mode: str
    c: int
    sample: loadgen.Sample


def f(v: float | None, digits: int = 2) -> str:
    if v is None or v != v:
        return "–"
    return f"{v:,.{digits}f}"


def report(results: list[Result], notes: dict[str, str], skipped: dict[str, str], header: str) -> str:
    lines = [header, ""]
    by = {(r.target, r.mode, r.c): r.sample for r in results}
    targets = list(dict.fromkeys(r.target for r in results))
    cs = sorted({r.c for r in results if r.mode != "stream-many"})
    for mode, title in (("plain", "Non-streamed chat completions"), ("stream", "Streamed chat completions (SSE)")):
        first = "first event p50" if mode == "stream" else "p50"
        lines += [f"### {title}", ""]
        lines.append(
            f"| target | c | req/s | p50 ms | p90 ms | p99 ms | added {first} / p99 ms | CPU ms/req | +db CPU ms/req "
            "| foreign CPU % | errors |"
        )
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for name in targets:
            for c in cs:
                s = by.get((name, mode, c))
                if s is None:
                    continue
                d = by.get(("direct", mode, c))
                if mode == "stream":
                    p50, added50 = s.pct(50, s.first), (s.pct(50, s.first) - d.pct(50, d.first)) if d else None
                else:
                    p50, added50 = s.pct(50), (s.pct(50) - d.pct(50)) if d else None
                added99 = (s.pct(99) - d.pct(99)) if d else None
                err = f"{s.errors}" + (f" ({s.error_note})" if s.errors and s.error_note else "")
                lines.append(
                    f"| {name} | {c} | {f(s.rps, 0)} | {f(p50)} | {f(s.pct(90))} | {f(s.pct(99))} | "
                    f"{f(added50)} / {f(added99)} | {f(s.cpu_per_request)} | {f(s.db_cpu_per_request)} | "
                    f"{f(s.foreign_cpu_pct, 0)} | {err} |"
                )
        lines.append("")
    many = [r for r in results if r.mode == "stream-many"]
    if many:
        lines += [f"### {many[0].c} concurrent streams", ""]
        lines.append("| target | streams/s | p50 ms | p99 ms | slowest ms | largest RSS of one process, MiB | errors |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|")
        for r in many:
            s = r.sample
            slowest = max(s.latencies) if s.latencies else None
            err = f"{s.errors}" + (f" ({s.error_note})" if s.errors and s.error_note else "")
            lines.append(
                f"| {r.target} | {f(s.rps, 0)} | {f(s.pct(50))} | {f(s.pct(99))} | {f(slowest)} | "
                f"{f(s.max_rss_mb, 0)} | {err} |"
            )
        lines.append("")
    lines += ["### Ratios: ours against each peer (same run)", ""]
    top = max(cs)
    lines.append(
        f"| ours | peer | mode | req/s at c={top} (ours/peer) | CPU per request (peer/ours) | added p50 at c=1, ms (ours vs peer) |"
    )
    lines.append("|---|---|---|---:|---:|---:|")
    for o in (t for t in targets if t.startswith("ours")):
        for p in (t for t in targets if t in PEER_NAMES):
            for mode in ("plain", "stream"):
                so, sp = by.get((o, mode, top)), by.get((p, mode, top))
                o1, p1, d1 = by.get((o, mode, 1)), by.get((p, mode, 1)), by.get(("direct", mode, 1))
                if not (so and sp):
                    continue
                rps = so.rps / sp.rps if sp.rps else None
                cpu = (sp.cpu_per_request / so.cpu_per_request) if so.cpu_per_request and sp.cpu_per_request else None
                added = "–"
                if o1 and p1 and d1:
                    key = (lambda s: s.pct(50, s.first)) if mode == "stream" else (lambda s: s.pct(50))
                    added = f"{f(key(o1) - key(d1))} vs {f(key(p1) - key(d1))}"
                lines.append(f"| {o} | {p} | {mode} | {f(rps)}× | {f(cpu)}× | {added} |")
    lines += ["", "Targets:"]
    lines += [f"- **{n}**: {notes[n]}" for n in targets if notes.get(n)]
    lines += [f"- **{n}**: NOT MEASURED: {why}" for n, why in skipped.items()]
    return "\n".join(lines)

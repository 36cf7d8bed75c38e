"""A load of people using the dashboard at once, and what each page answered (`make loadtest`).

    python scripts/loadtest.py --base http://127.0.0.1:8000 --cookie sessionid=… \
        --users 50 --duration 120 [--exporter sessionid=… ×4] [--paths paths.json]

Each of `--users` simulated people asks for one page after another (no pause), the pages
picked at random with the weights below — the pages people use today, full pages and htmx
fragments both. Each `--exporter` cookie is one more person who meanwhile exports 90 days of
records as CSV again and again (the export's page, the background file, its download), and their
requests are counted apart: the figure that matters is the other users' p95.

Prints, per path, how many requests, how many failed, and p50 / p95 / max latency; then the
totals. Exits 1 with one loud line when any page answers other than 2xx (the exporters' steps
may redirect): a broken page, or a session that sends everything to the sign-in page, is a
failed load test, not a footnote.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx

# (weight, path, htmx): what support, leads and teams open, roughly as often as they do
PATHS: list[tuple[int, str, bool]] = [
    (12, "/records/?stream=studio&window=24h", False),
    (12, "/records/?stream=room&window=24h", True),
    (10, "/records/?domain=live.example-shop.com&status=failed&window=24h", True),
    (6, "/records/?domain=stream.sportsnow.tv&window=7d&page=2", True),
    (8, "{record}", False),
    (10, "/domains/live.example-shop.com/", False),
    (5, "/domains/stream.sportsnow.tv/?period=7d", False),
    (8, "/records/overview/", False),
    (6, "/incidents/", False),
    (8, "/domains/", False),
    (5, "/domains/?q=shop", True),
    (4, "/alerts/", False),
]


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, label: str, seconds: float, status: int | None, error: str = "") -> None:
        self.latencies[label].append(seconds)
        # a redirect is a failure too: a page people read answers 200 (a lost session
        # answers 302 to the sign-in page, fast and useless)
        if (
            error
            or status is None
            or not 200 <= status < (400 if label.startswith("export") else 300)
        ):
            self.failures[label].append(error or f"HTTP {status}")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


async def browse(client, paths, weights, ends: float, tally: Tally, records: list[str]):
    while time.monotonic() < ends:
        _w, path, htmx = random.choices(paths, weights=weights)[0]  # noqa: S311
        label = path
        if path == "{record}":
            path, label = random.choice(records), "/records/<id>/"  # noqa: S311
        headers = {"HX-Request": "true"} if htmx else {}
        started = time.monotonic()
        try:
            response = await client.get(path, headers=headers)
            tally.add(
                label + (" (htmx)" if htmx else ""),
                time.monotonic() - started,
                response.status_code,
            )
        except httpx.HTTPError as error:
            tally.add(label, time.monotonic() - started, None, f"{type(error).__name__}")


async def export(client, ends: float, tally: Tally, think: float):
    """One person exporting 90 days of every domain's records, again and again: the export's
    page, the background file being made, its download, `think` seconds with the file."""
    query = "window=90d"
    while time.monotonic() < ends:
        started = time.monotonic()
        try:
            page = await client.get(f"/records/exports/new/?{query}")
            tally.add("export: confirm", time.monotonic() - started, page.status_code)
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
            # the CSRF cookie is marked Secure outside DEBUG: the jar would not send it over
            # plain HTTP, so it goes in the header by hand
            csrf = page.cookies.get("csrftoken") or ""
            session = "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar)
            started = time.monotonic()
            made = await client.post(
                f"/records/exports/new/?{query}",
                data={"csrfmiddlewaretoken": token.group(1) if token else ""},
                headers={"Referer": str(client.base_url), "Cookie": f"{session}; csrftoken={csrf}"},
            )
            if made.status_code == 429:  # two of mine already being made: wait for them
                tally.add("export: start (refused, 2 unfinished)", time.monotonic() - started, 200)
                await asyncio.sleep(2)
                continue
            tally.add("export: start", time.monotonic() - started, made.status_code)
            where = made.headers.get("location", "")
            while where and time.monotonic() < ends:
                started = time.monotonic()
                progress = await client.get(where, headers={"HX-Request": "true"})
                tally.add("export: progress", time.monotonic() - started, progress.status_code)
                if "Download the CSV" in progress.text:
                    started = time.monotonic()
                    async with client.stream("GET", where + "download/") as download:
                        async for _chunk in download.aiter_raw(1 << 20):
                            pass
                    tally.add("export: download", time.monotonic() - started, download.status_code)
                    await asyncio.sleep(think)  # a person opens the file before the next one
                    break
                await asyncio.sleep(1)
        except httpx.HTTPError as error:
            tally.add("export", time.monotonic() - started, None, type(error).__name__)


def report(title: str, tally: Tally, duration: float) -> tuple[int, int, float]:
    print(f"\n== {title}")
    print(f"{'path':<66} {'n':>6} {'fail':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    total, failed, everything = 0, 0, []
    for label in sorted(tally.latencies, key=lambda k: -len(tally.latencies[k])):
        values = tally.latencies[label]
        bad = len(tally.failures.get(label, []))
        total += len(values)
        failed += bad
        everything += values
        print(
            f"{label[:66]:<66} {len(values):>6} {bad:>5} {1000 * statistics.median(values):>8.0f} "
            f"{1000 * percentile(values, 95):>8.0f} {1000 * max(values):>8.0f}"
        )
    p95 = 1000 * percentile(everything, 95) if everything else 0.0
    print(
        f"{'all':<66} {total:>6} {failed:>5} "
        f"{1000 * statistics.median(everything) if everything else 0:>8.0f} {p95:>8.0f} "
        f"{1000 * max(everything) if everything else 0:>8.0f}"
    )
    print(f"{total / duration:.1f} requests/s over {duration:.0f} s")
    return total, failed, p95


def cookies_of(text: str) -> dict[str, str]:
    return dict(part.strip().split("=", 1) for part in text.split(";") if "=" in part)


async def main(args) -> int:
    paths = PATHS
    if args.paths:
        paths = [tuple(p) for p in json.loads(Path(args.paths).read_text())]
    weights = [p[0] for p in paths]
    records = args.record or ["/records/1/"]
    limits = httpx.Limits(max_connections=args.users + 5)
    tally, export_tally = Tally(), Tally()
    args.exporters = len(args.exporter or [])
    async with httpx.AsyncClient(
        base_url=args.base, cookies=cookies_of(args.cookie), timeout=30, limits=limits
    ) as client:
        exporters = [
            httpx.AsyncClient(base_url=args.base, cookies=cookies_of(c), timeout=120)
            for c in args.exporter or []
        ]
        ends = time.monotonic() + args.duration
        started = time.monotonic()
        users = [browse(client, paths, weights, ends, tally, records) for _ in range(args.users)]
        exporting = [export(one, ends, export_tally, args.think) for one in exporters]

        async def browsing() -> float:
            await asyncio.gather(*users)
            return time.monotonic() - started

        elapsed, *_ = await asyncio.gather(browsing(), *exporting)
        for one in exporters:
            await one.aclose()
    title = f"{args.users} users for {elapsed:.0f} s" + (
        f", while {args.exporters} people export 90 days of CSV" if args.exporters else ""
    )
    total, failed, p95 = report(title, tally, elapsed)
    if args.exporters:
        report("the exporters' own requests", export_tally, elapsed)
        failed += sum(len(v) for v in export_tally.failures.values())
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"requests": total, "failed": failed, "p95_ms": p95, "seconds": elapsed}, out)
    if failed:
        examples = {k: v[:3] for k, v in {**tally.failures, **export_tally.failures}.items() if v}
        print(f"\n!!!!! LOAD TEST FAILED: {failed} responses were not 2xx/3xx: {examples} !!!!!")
        return 1
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--cookie", required=True, help="sessionid=…")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--exporter", action="append", help="an exporting person's cookie")
    parser.add_argument(
        "--think", type=float, default=10, help="seconds an exporter spends with each file"
    )
    parser.add_argument("--duration", type=float, default=120)
    parser.add_argument("--record", action="append", help="a record permalink (repeatable)")
    parser.add_argument("--paths", help="a JSON list of [weight, path, htmx] to use instead")
    parser.add_argument("--json", help="write the totals here")
    sys.exit(asyncio.run(main(parser.parse_args())))

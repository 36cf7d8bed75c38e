"""SQLite's LIKE against `unicode_like` (dashboard/ops/sqlite.py), which SQLite is asked for
an `icontains` or `iexact` whose text has a letter beyond ASCII (SQLite's own folds ASCII's
case only), 2026-12-07. A scan of 300,000 callbacks' stream names and contents, both ways,
alternated: what a free-text search of the zero-config database costs with `Köln` rather
than `koln`.

    .venv/bin/python benchmarks/sqlite_like.py
"""

from __future__ import annotations

import random
import sqlite3
import sys
import time
from pathlib import Path

from _bootstrap import summary

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dashboard.ops.sqlite import unicode_like  # noqa: E402

ROWS = 300_000
ROUNDS = 7


def main() -> None:
    db = sqlite3.connect(":memory:")
    db.create_function("unicode_like", 3, unicode_like, deterministic=True)
    db.execute("CREATE TABLE records (stream_name TEXT, notify_content TEXT)")
    pick = random.Random(7)
    names = ["room-101", "flash-sale", "Übertragung-Köln", "événements", "keynote", "直播间-7"]
    db.executemany(
        "INSERT INTO records VALUES (?, ?)",
        (
            (
                f"{pick.choice(names)}-{n % 97}",
                '{"domain": "live.example.com", "event": "record_file", "uri": '
                f'"record/{pick.choice(names)}/{n}.m3u8", "duration": {n % 3600}}}',
            )
            for n in range(ROWS)
        ),
    )
    cases = {
        "SQLite's LIKE, 'köln' (ASCII case only: finds 0)": (
            "SELECT count(*) FROM records WHERE notify_content LIKE ? ESCAPE '\\'",
            "%KÖLN%",
        ),
        "unicode_like, 'KÖLN'": (
            "SELECT count(*) FROM records WHERE unicode_like(?, notify_content, '\\')",
            "%KÖLN%",
        ),
        "SQLite's LIKE on the names, 'ROOM-1'": (
            "SELECT count(*) FROM records WHERE stream_name LIKE ? ESCAPE '\\'",
            "%ROOM-1%",
        ),
        "unicode_like on the names, 'ÜBERTRAGUNG'": (
            "SELECT count(*) FROM records WHERE unicode_like(?, stream_name, '\\')",
            "%übertragung%",
        ),
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    found: dict[str, int] = {}
    for _ in range(ROUNDS):
        for name, (sql, pattern) in cases.items():
            started = time.perf_counter()
            found[name] = db.execute(sql, [pattern]).fetchone()[0]
            samples[name].append((time.perf_counter() - started) * 1000)
    print(f"-- {ROWS:,} rows, in memory")
    for name in cases:
        print(f"{name}: {summary(samples[name])}, {found[name]:,} rows")


if __name__ == "__main__":
    main()

"""Print how many tests ran on SQLite, on PostgreSQL and in the browser, from JUnit files."""

from __future__ import annotations

import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

RUNS = [
    ("SQLite", "sqlite.xml"),
    ("PostgreSQL", "postgres.xml"),
    ("browser (Chromium)", "browser.xml"),
]


def main(folder: str) -> int:
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    ok = True
    print("\n== test summary")
    for label, name in RUNS:
        path = Path(folder) / name
        if not path.exists():
            print(f"{label:>20}: NOT RUN")
            if os.environ.get("CI"):
                print(f"!!!!! CI: the {label} suite must run")
                ok = False
            continue
        root = ET.parse(path).getroot()
        suites = [root] if root.tag == "testsuite" else list(root)
        tests = sum(int(s.get("tests", 0)) for s in suites)
        failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
        skipped = sum(int(s.get("skipped", 0)) for s in suites)
        passed = tests - failed - skipped
        print(f"{label:>20}: {passed} passed, {failed} failed, {skipped} skipped")
        totals["passed"] += passed
        totals["failed"] += failed
        totals["skipped"] += skipped
        if failed or passed == 0:
            ok = False
        if skipped and os.environ.get("CI"):
            # .ci/run installs every real part, so on CI a skip means something is missing.
            print(f"!!!!! CI: {skipped} {label} test(s) skipped")
            ok = False
    print(f"{totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

"""`make bench`: every benchmark, one after another (the archive's inside a throwaway
PostgreSQL cluster: it needs PostgreSQL)."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for script in [
    "client_vs_sdk.py",
    "sandbox_deep_pages.py",
    "records_fragment.py",
    "sync_1000.py",
    "pushes_1000.py",
    "metrics_1000.py",
    "configs_1000.py",
    "sqlite_like.py",
]:
    print(f"\n== {script}", flush=True)
    subprocess.run([sys.executable, str(HERE / script)], cwd=HERE, check=True)
print("\n== archive.py (PostgreSQL)", flush=True)
subprocess.run(
    ["bash", str(ROOT / "scripts" / "with-postgres.sh"), sys.executable, str(HERE / "archive.py")],
    cwd=ROOT,
    check=True,
)
for script in (
    "names_fallback.py",
    "paging_pin.py",
    "chart_days.py",
    "sparklines.py",
):
    print(f"\n== {script} (PostgreSQL)", flush=True)
    subprocess.run(
        ["bash", str(ROOT / "scripts" / "with-postgres.sh"), sys.executable, str(HERE / script)],
        cwd=ROOT,
        check=True,
    )

"""`make bench`: every benchmark, one after another."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for script in ["client_vs_sdk.py", "sandbox_deep_pages.py", "records_fragment.py", "sync_1000.py"]:
    print(f"\n== {script}", flush=True)
    subprocess.run([sys.executable, str(HERE / script)], cwd=HERE, check=True)

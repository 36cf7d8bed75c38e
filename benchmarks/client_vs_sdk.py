"""Our httpx client vs the official SDK: N DescribeLiveRecordNotifyConfig calls each, same run.

Two servers on loopback, both clients V3-signing every call, rounds alternated:
1. `manage.py runsandbox` (throttling off): the whole round trip, where the server's own work
   (signature check, ORM, JSON) is most of each call;
2. a canned-answer HTTP/1.1 server that does no work: what each client itself costs.
Our client's rate limiter is off: this measures per-call cost, not the QPS budget.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time

from _bootstrap import ROOT, setup

N = int(os.environ.get("N", "500"))


class _Canned(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    body = json.dumps(
        {
            "RequestId": "C",
            "LiveRecordNotifyConfig": {
                "DomainName": "live.example-shop.com",
                "NotifyUrl": "https://hooks.example.com/cb",
                "NeedStatusNotify": True,
                "NotifyReqAuth": False,
            },
        }
    ).encode()

    def do_POST(self):  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def compare(port: int, label: str) -> None:
    import httpx
    from alibabacloud_live20161101 import models as live
    from alibabacloud_live20161101.client import Client
    from alibabacloud_tea_openapi.utils_models import Config

    from dashboard.live import LiveClient

    ours = LiveClient(
        endpoint=f"http://127.0.0.1:{port}",
        access_key_id="sandbox",
        access_key_secret="sandbox-secret",
        http=httpx.Client(timeout=10),
    )
    sdk = Client(
        Config(
            access_key_id="sandbox",
            access_key_secret="sandbox-secret",
            endpoint=f"127.0.0.1:{port}",
            protocol="http",
            region_id="cn-shanghai",
        )
    )
    request = live.DescribeLiveRecordNotifyConfigRequest(domain_name="live.example-shop.com")
    # Warm both up, then alternate rounds so machine noise hits both alike.
    for _ in range(20):
        ours.describe_record_notify_config("live.example-shop.com")
        sdk.describe_live_record_notify_config(request)
    totals = {"ours": 0.0, "sdk": 0.0}
    rounds = 5
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(N // rounds):
            assert ours.describe_record_notify_config("live.example-shop.com").notify_url
        totals["ours"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(N // rounds):
            assert sdk.describe_live_record_notify_config(
                request
            ).body.live_record_notify_config.notify_url
        totals["sdk"] += time.perf_counter() - t0
    calls = (N // rounds) * rounds
    ours_rate, sdk_rate = calls / totals["ours"], calls / totals["sdk"]
    print(f"DescribeLiveRecordNotifyConfig x{calls}, {label}")
    print(f"  this project's client : {ours_rate:7.1f} calls/s")
    print(f"  official SDK 3.0.2    : {sdk_rate:7.1f} calls/s")
    print(f"  ratio                 : {ours_rate / sdk_rate:.2f}x")


def main() -> None:
    setup("client", sandbox_db="client-sandbox.sqlite3")
    from django.core.management import call_command

    call_command("sandbox_seed", big_domain_records=1000, verbosity=0)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "runsandbox",
            f"127.0.0.1:{port}",
            "--no-throttle",
            "--no-seed",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        compare(port, "against runsandbox on loopback (server work included)")
        canned = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
        threading.Thread(target=canned.serve_forever, daemon=True).start()
        compare(canned.server_address[1], "against a canned-answer server (client cost only)")
        canned.shutdown()
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()

"""Our httpx client vs the official SDK: N DescribeLiveRecordNotifyConfig calls each, same run.

Two servers on loopback, each in its own process, both clients V3-signing every call, rounds
alternated so machine noise hits both alike:
1. `manage.py runsandbox` (throttling off): the whole round trip, where the server's own work
   (signature check, ORM, JSON) is most of each call;
2. a canned-answer HTTP/1.1 server that does no work: as close to the clients' own cost as a
   real socket allows.
Besides calls/s, each client's own CPU time per call (the calling thread's, so the server's
work is not in it) is printed: that is the client's ceiling on one core.
Our client's rate limiter is off: this measures per-call cost, not the QPS budget.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

from _bootstrap import ROOT, setup

N = int(os.environ.get("N", "500"))

CANNED_BODY = json.dumps(
    {
        "RequestId": "C",
        "LiveRecordNotifyConfig": {
            "DomainName": "live.example-shop.com",
            "NotifyUrl": "https://hooks.example.com/cb",
            "NeedStatusNotify": True,
            "NotifyReqAuth": False,
        },
    }
)

# Run with `python -c`: a keep-alive HTTP/1.1 server that answers every request with the
# same body and does nothing else (both clients send no request body).
CANNED_SERVER = """
import socket, sys, threading
body = sys.argv[1].encode()
head = b"HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\n"
answer = head + b"Content-Length: %d\\r\\n\\r\\n" % len(body) + body
def serve(conn):
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    pending = b""
    while data := conn.recv(65536):
        pending += data
        while b"\\r\\n\\r\\n" in pending:
            _, pending = pending.split(b"\\r\\n\\r\\n", 1)
            conn.sendall(answer)
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"""


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

    def call_ours():
        assert ours.describe_record_notify_config("live.example-shop.com").notify_url

    def call_sdk():
        body = sdk.describe_live_record_notify_config(request).body
        assert body.live_record_notify_config.notify_url

    wall = {"ours": 0.0, "sdk": 0.0}
    cpu = {"ours": 0.0, "sdk": 0.0}
    rounds = 5
    for _ in range(rounds):
        for name, one_call in (("ours", call_ours), ("sdk", call_sdk)):
            t0, c0 = time.perf_counter(), time.thread_time()
            for _ in range(N // rounds):
                one_call()
            wall[name] += time.perf_counter() - t0
            cpu[name] += time.thread_time() - c0
    calls = (N // rounds) * rounds
    ours_rate, sdk_rate = calls / wall["ours"], calls / wall["sdk"]
    ours_us, sdk_us = cpu["ours"] / calls * 1e6, cpu["sdk"] / calls * 1e6
    print(f"DescribeLiveRecordNotifyConfig x{calls}, {label}")
    print(f"  this project's client : {ours_rate:7.1f} calls/s, {ours_us:5.0f} µs CPU per call")
    print(f"  official SDK 3.0.2    : {sdk_rate:7.1f} calls/s, {sdk_us:5.0f} µs CPU per call")
    print(f"  ratio                 : {ours_rate / sdk_rate:.2f}x calls/s")


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
        canned = subprocess.Popen(
            [sys.executable, "-c", CANNED_SERVER, CANNED_BODY], stdout=subprocess.PIPE, text=True
        )
        try:
            canned_port = int(canned.stdout.readline())
            compare(canned_port, "against a canned-answer server in its own process")
        finally:
            canned.terminate()
            canned.wait(timeout=10)
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()

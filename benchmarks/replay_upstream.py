"""A Live API that costs next to nothing: answers recorded from the emulator, served again.

    python benchmarks/replay_upstream.py PORT FILE

FILE is a pickle of {(Action, DomainName, StartTime, EndTime, PageNumber): body bytes}, as
benchmarks/archive.py records it from one backfill through `runsandbox`. Every request is
answered from memory over HTTP/1.1 keep-alive, unsigned and unthrottled (the dashboard's own
rate budget still paces it); a request that was not recorded gets the API's 404 error. Used
to measure the harvester and PostgreSQL where the upstream is not on the same cores.
"""

from __future__ import annotations

import pickle
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

KEY = ("Action", "DomainName", "StartTime", "EndTime", "PageNumber")
MISSING = b'{"Code": "InvalidParameter", "Message": "not recorded", "RequestId": "replay"}'


def replay_key(params) -> tuple[str, ...]:
    return tuple(str(params.get(name, "")) for name in KEY)


class Replay(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    pages: dict[tuple[str, ...], bytes] = {}

    def do_POST(self):  # noqa: N802 - http.server's name
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        params = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
        body = self.pages.get(replay_key(params))
        self.send_response(200 if body is not None else 404)
        body = MISSING if body is None else body
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002 - quiet
        pass


def main() -> None:
    port, path = int(sys.argv[1]), Path(sys.argv[2])
    Replay.pages = pickle.loads(path.read_bytes())  # noqa: S301 - our own file, just written
    server = ThreadingHTTPServer(("127.0.0.1", port), Replay)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()

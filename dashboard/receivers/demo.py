"""The demo's callback receiver: what `make run` answers test callbacks and redeliveries with.

A tiny WSGI app on 127.0.0.1 (DEMO_RECEIVER_ADDR). With the sandbox upstream and DEBUG on, the
demo domains' callback hosts are pinned to it (settings.CALLBACK_PINNED_HOSTS), so "Send test
callback" succeeds in the demo instead of failing to resolve made-up host names. It answers
like a well-behaved receiver: 200 with a small JSON body for a POST, 405 otherwise.
"""

from __future__ import annotations

import json
import logging
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

logger = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024


def application(environ, start_response):
    if environ.get("REQUEST_METHOD") != "POST":
        start_response("405 Method Not Allowed", [("Content-Type", "text/plain")])
        return [b"POST only\n"]
    try:
        length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_BODY)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length else b""
    signed = "HTTP_ALI_LIVE_SIGNATURE" in environ
    answer = json.dumps(
        {"Code": 0, "Msg": "Success", "received_bytes": len(body), "signed": signed}
    ).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))]
    )
    return [answer]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - wsgiref's signature
        logger.info("demo receiver: %s", format % args)


def serve_in_background(addr: str) -> threading.Thread | None:
    """Serve the demo receiver on `addr` ("127.0.0.1:8001") in a daemon thread."""
    host, _, port = addr.rpartition(":")
    try:
        server = make_server(
            host or "127.0.0.1", int(port), application, handler_class=_QuietHandler
        )
    except OSError as exc:
        logger.warning("demo receiver not started on %s: %s", addr, exc)
        return None
    thread = threading.Thread(target=server.serve_forever, name="demo-receiver", daemon=True)
    thread.start()
    return thread

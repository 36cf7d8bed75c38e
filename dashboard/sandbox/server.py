"""A small threaded HTTP server for the standalone sandbox (`manage.py runsandbox`)."""

from __future__ import annotations

import logging
import socketserver
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

from django.db import close_old_connections, connections

from .app import application
from .errors import ConnectionDropped

logger = logging.getLogger(__name__)


class _Handler(ServerHandler):
    def handle_error(self):
        import sys

        if isinstance(sys.exc_info()[1], ConnectionDropped):
            # Fault injection: close the socket without a single byte of response.
            self.close()
            raise ConnectionDropped
        super().handle_error()


class _RequestHandler(WSGIRequestHandler):
    # HTTP/1.1 with keep-alive: clients that pool connections (httpx, the SDKs) reuse them.
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes

    def handle(self):
        self.close_connection = False
        try:
            while not self.close_connection:
                try:
                    if not self._handle_one():
                        return
                except ConnectionDropped:
                    self.connection.close()
                    return
                except ConnectionError:
                    return
        finally:
            connections.close_all()  # this thread's, kept open from one request to the next

    def _handle_one(self) -> bool:
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline or not self.parse_request():
            return False
        handler = _Handler(self.rfile, self.wfile, self.get_stderr(), self.get_environ())
        handler.http_version = "1.1"
        handler.request_handler = self
        close_old_connections()
        try:
            handler.run(application)
        finally:
            close_old_connections()
        return True

    def log_message(self, format, *args):  # noqa: A002 - wsgiref's signature
        logger.debug("sandbox %s - %s", self.address_string(), format % args)


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


def make_server(host: str, port: int) -> ThreadingWSGIServer:
    server = ThreadingWSGIServer((host, port), _RequestHandler)
    server.set_app(application)
    return server

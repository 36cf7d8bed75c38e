"""The demo's callback receiver: what `make run` answers test callbacks and redeliveries with.

A tiny WSGI app on 127.0.0.1, over plain HTTP (DEMO_RECEIVER_ADDR) and HTTPS
(DEMO_RECEIVER_TLS_ADDR). With the sandbox upstream and DEBUG on, the demo domains' callback
hosts are pinned to it (the sandbox app does that when it starts), so "Send test callback"
succeeds in the demo for http and https callback URLs alike. Its certificate comes from a
demo certificate authority made on first start (var/demo-tls/); the sender trusts that
authority for the pinned demo hosts only — never for anything else.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import ssl
import threading
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

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


class _TLSServer(WSGIServer):
    context: ssl.SSLContext

    def get_request(self):
        sock, address = super().get_request()
        return self.context.wrap_socket(sock, server_side=True), address


def demo_certificates(folder: Path, hosts: list[str]) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key) for `hosts`, made once in `folder`."""
    ca_path, cert_path, key_path = folder / "ca.pem", folder / "server.pem", folder / "key.pem"
    if ca_path.exists() and cert_path.exists() and key_path.exists():
        return ca_path, cert_path, key_path
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "Live Callback Dashboard demo CA")]
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False)
        # Python 3.13 verifies strictly: the authority and subject key identifiers
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_path.write_bytes(ca.public_bytes(pem))
    cert_path.write_bytes(cert.public_bytes(pem))
    key_path.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return ca_path, cert_path, key_path


def serve_in_background(addr: str, *, tls: tuple[Path, Path] | None = None):
    """Serve the demo receiver on `addr` ("127.0.0.1:8001") in a daemon thread; over HTTPS
    with `tls` = (certificate, key)."""
    host, _, port = addr.rpartition(":")
    server_class = WSGIServer
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*tls)
        server_class = type("DemoTLSServer", (_TLSServer,), {"context": context})
    try:
        server = make_server(
            host or "127.0.0.1",
            int(port),
            application,
            server_class=server_class,
            handler_class=_QuietHandler,
        )
    except OSError as exc:
        logger.warning("demo receiver not started on %s: %s", addr, exc)
        return None
    thread = threading.Thread(target=server.serve_forever, name="demo-receiver", daemon=True)
    thread.start()
    return thread

"""A local HTTP server on 127.0.0.1 that serves one file, for download tests.

It supports ``Range: bytes=N-`` (206 with Content-Range, 416 past the end), can cut the next
responses halfway (headers promise the whole body, the connection closes after half), answers
404 for unknown paths, and records every request so tests can assert what the client sent.
It also works as an HTTP proxy: an absolute request URI is served by its path.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import socket
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True)
class SeenRequest:
    """One request as the server saw it: the raw target (absolute when proxied) and Range."""

    target: str
    path: str
    range: str | None


class ModelServer:
    """Serves ``payload`` at ``/<file_name>``; everything else is 404."""

    def __init__(
        self, payload: bytes, file_name: str = "model.pth", tls: ssl.SSLContext | None = None
    ) -> None:
        self.payload = payload
        self.file_name = file_name
        self.requests: list[SeenRequest] = []
        #: The next this-many file responses stop after half of the file.
        self.cut_next = 0
        #: Bytes a cut response sends; None: up to the middle of the file.
        self.cut_after: int | None = None
        self.honour_range = True
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.scheme = "https" if tls else "http"
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str | None = None) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/{path or self.file_name}"

    def ranges_seen(self) -> list[str | None]:
        with self._lock:
            return [seen.range for seen in self.requests]

    def __enter__(self) -> ModelServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _take_cut(self) -> bool:
        with self._lock:
            if self.cut_next > 0:
                self.cut_next -= 1
                return True
            return False

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                with server._lock:
                    server.requests.append(SeenRequest(self.path, path, self.headers["Range"]))
                if path != "/" + server.file_name:
                    self.send_error(404, "Not Found")
                    return
                payload, start = server.payload, 0
                range_header = self.headers["Range"]
                if range_header and server.honour_range:
                    start = int(range_header.removeprefix("bytes=").split("-")[0])
                    if start >= len(payload):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(payload)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header(
                        "Content-Range", f"bytes {start}-{len(payload) - 1}/{len(payload)}"
                    )
                else:
                    self.send_response(200)
                body = payload[start:]
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                if server._take_cut():
                    # Promise the whole body, send part of it, hang up.
                    sent = server.cut_after or max(len(payload) // 2 - start, 1)
                    self.wfile.write(body[:sent])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                # The client may hang up (cancelled, or refused the size): expected.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

        return Handler


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def clear_proxy_env(monkeypatch) -> None:
    """Remove proxy settings so requests to 127.0.0.1 go straight to the test server."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def self_signed_tls(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1.

    Returns the context and the certificate's PEM file (to trust it on the client side).
    Needs the ``cryptography`` package; callers skip when it is missing.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "server.pem", folder / "server.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file

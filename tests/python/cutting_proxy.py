"""A loopback HTTP proxy that breaks one download midway, to exercise the client's resume."""

import http.client
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# Hop-by-hop headers of the upstream answer that the proxy does not pass on.
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding"}


class CuttingProxy:
    """Forwards HEAD and GET requests to `upstream` (one connection per request).

    The first GET whose path ends with `cut_path_suffix` gets the upstream status and headers but
    only `cut_after` bytes of the body; then the proxy closes the connection, as a network failure
    would. Every GET with that suffix is recorded in `gets` as (Range request header, upstream
    status). Use it as a context manager; `url` is the base URL to use as the endpoint.
    """

    def __init__(self, upstream: str, cut_path_suffix: str, cut_after: int):
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname, parts.port)
        self._suffix = cut_path_suffix
        self._cut_after = cut_after
        self._cut_done = False
        self._lock = threading.Lock()
        self.gets: list[tuple[str | None, int]] = []

        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self):
                proxy._forward(self)

            def do_GET(self):
                proxy._forward(self)

            def log_message(self, format, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "CuttingProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _forward(self, handler: BaseHTTPRequestHandler) -> None:
        upstream = http.client.HTTPConnection(*self._upstream, timeout=60)
        try:
            headers = {k: v for k, v in handler.headers.items() if k.lower() not in {"host", "connection"}}
            upstream.request(handler.command, handler.path, headers=headers)
            response = upstream.getresponse()

            limit = None
            if handler.command == "GET" and handler.path.split("?")[0].endswith(self._suffix):
                with self._lock:
                    self.gets.append((handler.headers.get("Range"), response.status))
                    if not self._cut_done:
                        self._cut_done = True
                        limit = self._cut_after

            handler.send_response(response.status)
            for name, value in response.getheaders():
                if name.lower() not in _HOP_BY_HOP:
                    handler.send_header(name, value)
            handler.send_header("Connection", "close")
            handler.end_headers()
            if handler.command == "GET":
                self._copy_body(response, handler, limit)
        finally:
            upstream.close()

    @staticmethod
    def _copy_body(response, handler: BaseHTTPRequestHandler, limit: int | None) -> None:
        """Copies the body; with a `limit`, stops after that many bytes and drops the connection."""
        sent = 0
        while chunk := response.read(256 * 1024):
            if limit is not None:
                chunk = chunk[: limit - sent]
            handler.wfile.write(chunk)
            sent += len(chunk)
            if limit is not None and sent >= limit:
                handler.wfile.flush()
                handler.connection.shutdown(socket.SHUT_RDWR)
                handler.close_connection = True
                return

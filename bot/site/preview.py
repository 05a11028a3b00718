"""``selfie-bot gallery serve``: the site's folder on loopback, as a web server would
serve it (index.html for a folder, 404.html for anything missing), to look at a build
before publishing it. Not for production: nginx or Caddy serve the folder there."""

from __future__ import annotations

import functools
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class _SiteHandler(SimpleHTTPRequestHandler):
    """Files of the folder; the site's own 404 page for what is not there."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = Path(self.directory) / "404.html"
        if code != HTTPStatus.NOT_FOUND or not page.is_file():
            super().send_error(code, message, explain)
            return
        body = page.read_bytes()
        self.send_response(code)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a preview needs no access log."""


def preview_server(folder: Path, port: int) -> ThreadingHTTPServer:
    """A server of ``folder`` on 127.0.0.1:``port`` (0: any free port), not yet serving."""
    handler = functools.partial(_SiteHandler, directory=str(folder))
    return ThreadingHTTPServer(("127.0.0.1", port), handler)

"""Ordinary web pages for the feed bar's tests, served from 127.0.0.1 by a server of the test's own:
a plain article, and a hostile one whose stylesheet unsets everything and whose Content-Security-Policy
allows nothing but its own stylesheet."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOSTILE_CSS = b"* { all: unset !important; } p { display: block !important; margin: 8px !important; }"
STRICT_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'"
ARTICLE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>{head}</head>
<body><main id="content"><h1>{title}</h1>
<p id="first">The first paragraph of an ordinary page: the feed bar must not hide it in push mode.</p>
<p>Markets opened higher on Friday as investors weighed the latest earnings reports.</p>
<button id="page-button" type="button">A page's own button</button>
</main></body></html>"""


def article(title: str, head: str = "") -> bytes:
    return ARTICLE.format(title=title, head=head).encode()


PAGES: dict[str, tuple[bytes, dict[str, str]]] = {
    "/plain": (article("An ordinary page"), {}),
    "/hostile": (
        # The inline style is what the CSP must block: proof that the policy is in force.
        article(
            "A hostile page",
            '<link rel="stylesheet" href="/hostile.css"><style>#first { color: red; }</style>',
        ),
        {"Content-Security-Policy": STRICT_CSP},
    ),
    "/hostile.css": (HOSTILE_CSS, {"Content-Type": "text/css"}),
    # A transform or `contain` on <html> makes it the containing block of fixed elements; and rules
    # aimed at the bar's own element.
    "/trapping": (
        article(
            "A page that styles its root",
            "<style>html { transform: translateZ(0); contain: paint; } body { min-height: 3000px; }"
            " scrollr-feed-bar { display: none !important; transform: translateY(-200px) !important; }</style>",
        ),
        {},
    ),
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        found = PAGES.get(path) or PAGES.get("/" + path.strip("/").split("/")[0])
        if found is None:
            self.send_error(404)
            return
        body, headers = found
        self.send_response(200)
        self.send_header("Content-Type", headers.get("Content-Type", "text/html; charset=utf-8"))
        for name, value in headers.items():
            if name != "Content-Type":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def page_server(host: str = "127.0.0.1") -> Iterator[str]:
    """Serve PAGES on `host` (a loopback address) and a free port; yields the origin, e.g.
    `http://127.0.0.1:41234`. Pages on different loopback addresses are different sites to Chromium."""
    server = ThreadingHTTPServer((host, 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()

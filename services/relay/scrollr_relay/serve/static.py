"""The dashboard's files (`SCROLLR_WEB_DIR`), served with the headers a browser page needs.

Only regular files inside the directory are served: no dotfiles, no path through a symlink that
leads out of it, nothing for a path too long to be a real one (the file system would fail on it).
Every answer, found or not, carries the page's security headers, and every miss is a plain 404.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.response import File

MAX_PATH_CHARS = 1024
# The dashboard loads its own script, styles and SharedWorker, an inline SVG icon and the team and
# league logos the sports feed links to (ESPN's CDN), and talks to its own origin (snapshot, events).
# Nothing may frame it.
LOGO_ORIGIN = "https://a.espncdn.com"
# With accounts, it also talks to the OpenID issuer (discovery, keys, token endpoint).


def content_security_policy(connect: tuple[str, ...] = ()) -> str:
    sources = " ".join(("'self'", *connect))
    return (
        f"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: {LOGO_ORIGIN}; "
        f"connect-src {sources}; worker-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )


def page_headers(connect: tuple[str, ...] = ()) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(connect),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        # File names are stable (the SharedWorker's must be): revalidate rather than cache blindly.
        "Cache-Control": "no-cache",
    }


def resolve_static(root: Path, request_path: str) -> Path | None:
    """The file under `root` (already resolved) that `request_path` names, or None to answer 404."""
    if len(request_path) > MAX_PATH_CHARS or "\0" in request_path or "\\" in request_path:
        return None
    parts = [part for part in request_path.split("/") if part]
    if any(part.startswith(".") for part in parts):  # dotfiles, and `.`/`..` with them
        return None
    try:
        found = root.joinpath(*parts).resolve(strict=True)
        if found.is_dir():
            found = (found / "index.html").resolve(strict=True)
    except (OSError, RuntimeError):  # missing, a name too long, a symlink loop
        return None
    if not found.is_relative_to(root) or not found.is_file():
        return None
    return found


def static_site(web_dir: str, *, connect: tuple[str, ...] = ()) -> object:
    """The route handler serving `web_dir` at `/`; `connect`: other origins the page may fetch from."""
    root = Path(web_dir).resolve()
    headers = page_headers(connect)

    @get(["/", "/{file_path:path}"], include_in_schema=False, sync_to_thread=False)
    def handler(request: Request[Any, Any, Any]) -> File | Response[dict[str, str]]:
        found = resolve_static(root, request.path_params.get("file_path", ""))
        if found is None:
            return Response({"error": "not_found"}, status_code=404, headers=headers)
        media_type = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        return File(
            found,
            filename=found.name,
            media_type=media_type,
            content_disposition_type="inline",
            headers=headers,
        )

    return handler

"""The public site's folder served on loopback as a plain web server would: a folder's
``index.html``, the site's own ``404.html`` (status 404) for anything missing, nothing
outside the folder. For the browser test, the screenshots and the benchmark."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web


def locate(root: Path, path: str) -> tuple[Path | None, int]:
    """The file answering ``path`` and its status (None: no 404 page either)."""
    base = root.resolve()
    target = (base / path).resolve()
    if target.is_dir():
        target = target / "index.html"
    if target.is_relative_to(base) and target.is_file():
        return target, 200
    missing = base / "404.html"
    return (missing if missing.is_file() else None), 404


def site_app(root: Path) -> web.Application:
    async def serve(request: web.Request) -> web.StreamResponse:
        target, status = locate(root, request.match_info["path"])
        if target is None:
            raise web.HTTPNotFound()
        return web.FileResponse(target, status=status, headers={"Cache-Control": "no-cache"})

    app = web.Application()
    app.router.add_get("/{path:.*}", serve)
    return app


@asynccontextmanager
async def serve_site(root: Path, port: int = 0) -> AsyncIterator[str]:
    """Serve ``root`` (it may not exist yet) on loopback, on ``port`` (0: a free one: a
    test stopping the server starts it again on the same); yields its URL."""
    runner = web.AppRunner(site_app(root), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    server = site._server
    assert server is not None and server.sockets  # type: ignore[attr-defined]
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        await runner.cleanup()

"""The browser half of the dashboard: one HTML page, its static files and plotly.js.

Every page (studies list, study, trial, compare) is the same ``index.html``; the script
routes on the path, so a deep link works on reload. Nothing is fetched from outside the
package: plotly.min.js is served from the installed ``plotly`` package.
"""

from __future__ import annotations

import hashlib
import html
from functools import cache
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

_STATIC = Path(__file__).with_name("static")
_MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Our own files change with the package: the browser revalidates them (a 304 costs a round trip,
# not a download). plotly.min.js is requested with its version in the URL, so it is cached for good.
_REVALIDATE = "no-cache"
_IMMUTABLE = "public, max-age=31536000, immutable"


def mount_pages(app: FastAPI, base_url: str) -> None:
    """Serve the page at ``{base_url}/`` (and its deep links) and its assets under ``{base_url}/static``.

    ``base_url`` is ``""`` or a path prefix such as ``"/tunesmith"``; a trailing slash is ignored.
    """
    base = normalize_base_url(base_url)

    async def page(request: Request) -> Response:
        return HTMLResponse(_index_html(base, _writes(request)), headers={"Cache-Control": "no-store"})

    async def plot_page(request: Request) -> Response:  # a page with plots: plotly.js downloads from the start
        return HTMLResponse(_index_html(base, _writes(request), preload_plotly=True),
                            headers={"Cache-Control": "no-store"})

    async def study_page(request: Request) -> Response:
        # The server starts on the page's first plot as it sends the page (run after the response, in a thread).
        state = getattr(request.app.state, "dashboard", None)
        task = None
        if state is not None and request.method == "GET":
            from tunesmith.dashboard._api import prefetch_history

            task = BackgroundTask(prefetch_history, state, request.path_params["name"])
        return HTMLResponse(_index_html(base, _writes(request), preload_plotly=True),
                            headers={"Cache-Control": "no-store"}, background=task)

    async def plotly_js(request: Request) -> Response:
        return _file_response(request, _plotly_path(), _IMMUTABLE)

    async def static(request: Request, path: str) -> Response:
        target = (_STATIC / path).resolve()
        if _STATIC.resolve() not in target.parents or not target.is_file():
            return JSONResponse({"error": f"no static file {path!r}"}, status_code=404)
        return _file_response(request, target, _REVALIDATE)

    if base:
        async def bare(request: Request) -> Response:
            query = f"?{request.url.query}" if request.url.query else ""
            return RedirectResponse(f"{base}/{query}", status_code=307)

        app.add_api_route(base, bare, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_api_route(f"{base}/", page, methods=["GET", "HEAD"], include_in_schema=False)
    for route in ("/compare", "/studies/{name}/trials/{number}"):
        app.add_api_route(f"{base}{route}", plot_page, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_api_route(f"{base}/studies/{{name}}", study_page, methods=["GET", "HEAD"], include_in_schema=False)
    # Registered before the catch-all static route, which would otherwise answer 404.
    app.add_api_route(f"{base}/static/plotly.min.js", plotly_js, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_api_route(f"{base}/static/{{path:path}}", static, methods=["GET", "HEAD"], include_in_schema=False)


def normalize_base_url(base_url: str) -> str:
    """``""`` for the root, else ``"/prefix"`` (leading slash, no trailing slash)."""
    base = base_url.strip().strip("/")
    return f"/{base}" if base else ""


@cache
def _plotly_path() -> Path:
    try:
        path = Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))
    except ModuleNotFoundError as exc:  # pragma: no cover - plotly is in the dashboard extra
        raise RuntimeError('the dashboard needs plotly: pip install "tunesmith[dashboard]"') from exc
    if not path.is_file():  # pragma: no cover - a plotly install without its bundle
        raise RuntimeError(f"plotly.min.js not found at {path}; reinstall plotly")
    return path


@cache
def _plotly_version() -> str:
    import plotly

    return str(plotly.__version__)


@cache
def _etag(path: Path, mtime_ns: int, size: int) -> str:
    return '"' + hashlib.sha1(path.read_bytes()).hexdigest()[:16] + '"'


def _file_response(request: Request, path: Path, cache_control: str) -> Response:
    stat = path.stat()
    etag = _etag(path, stat.st_mtime_ns, stat.st_size)
    headers = {"Cache-Control": cache_control, "ETag": etag}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    media_type = _MEDIA_TYPES.get(path.suffix, "application/octet-stream")
    return FileResponse(path, media_type=media_type, headers=headers)


def _writes(request: Request) -> str:
    """``"1"``/``"0"``: whether the app accepts writes (the page hides its editors); ``""``: unknown."""
    allow = getattr(getattr(request.app.state, "dashboard", None), "allow_writes", None)
    return "" if allow is None else str(int(bool(allow)))


def _index_html(base: str, writes: str = "", preload_plotly: bool = False) -> str:
    # The base URL is the only value from outside put into the page, escaped for an attribute.
    template = (_STATIC / "index.html").read_text(encoding="utf-8")
    preload = '<link rel="preload" href="{{base}}/static/plotly.min.js?v={{plotly_version}}" as="script">\n'
    return (
        template.replace("{{preload}}", preload if preload_plotly else "")
        .replace("{{base}}", html.escape(base, quote=True))
        .replace("{{writes}}", writes)
        .replace("{{plotly_version}}", html.escape(_plotly_version(), quote=True))
    )

"""The page routes (mount_pages): one HTML page at every deep link, static files, plotly.js, caching."""

from __future__ import annotations

import re
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")

from fastapi import FastAPI  # noqa: E402

from tunesmith.dashboard._pages import mount_pages, normalize_base_url  # noqa: E402

STATIC = Path(__file__).resolve().parents[2] / "tunesmith" / "dashboard" / "static"


def _serve(app: FastAPI) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


@pytest.fixture(scope="module")
def root_url() -> Iterator[str]:
    app = FastAPI()
    mount_pages(app, "")
    yield from _serve(app)


@pytest.fixture(scope="module")
def prefixed_url() -> Iterator[str]:
    app = FastAPI()
    mount_pages(app, "/tune/")
    yield from _serve(app)


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


@pytest.mark.parametrize("base", ["", "/", "/tune", "/tune/", " tune/x/ "])
def test_normalize_base_url(base: str) -> None:
    expected = {"": "", "/": "", "/tune": "/tune", "/tune/": "/tune", " tune/x/ ": "/tune/x"}[base]
    assert normalize_base_url(base) == expected


@pytest.mark.parametrize("path", ["/", "/compare", "/studies/demo", "/studies/a%20b/trials/7"])
def test_every_deep_link_is_the_same_page(root_url: str, path: str) -> None:
    status, headers, body = _get(root_url + path)
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert headers["cache-control"] == "no-store"
    text = body.decode()
    assert '<meta name="tunesmith-base" content="">' in text
    assert 'src="/static/app.js"' in text
    assert re.search(r'<meta name="tunesmith-plotly" content="/static/plotly\.min\.js\?v=[\w.]+">', text)


def test_no_asset_comes_from_outside(root_url: str) -> None:
    """Offline: the page and its scripts name no other host (no CDN, no font service)."""
    _, _, body = _get(root_url + "/")
    assert not re.search(rb"(src|href)=\"(https?:)?//", body)
    for path in STATIC.iterdir():
        text = path.read_text(encoding="utf-8").replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert not re.search(r"https?://|@import|@font-face|fonts\.googleapis", text), path.name


def test_no_script_writes_markup() -> None:
    """User strings only ever reach the page as text: no script sets innerHTML or similar."""
    for path in STATIC.glob("*.js"):
        text = path.read_text(encoding="utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in text, f"{path.name} uses {sink}"


def test_static_files_revalidate(root_url: str) -> None:
    status, headers, body = _get(root_url + "/static/app.js")
    assert status == 200
    assert headers["content-type"].startswith("text/javascript")
    assert headers["cache-control"] == "no-cache"
    assert body == (STATIC / "app.js").read_bytes()
    status, again, body = _get(root_url + "/static/app.js", {"If-None-Match": headers["etag"]})
    assert status == 304 and body == b""
    assert again["etag"] == headers["etag"]
    status, headers, _ = _get(root_url + "/static/app.css")
    assert status == 200 and headers["content-type"].startswith("text/css")


def test_plotly_comes_from_the_installed_package(root_url: str) -> None:
    plotly = pytest.importorskip("plotly")
    status, headers, body = _get(root_url + f"/static/plotly.min.js?v={plotly.__version__}")
    assert status == 200
    assert headers["content-type"].startswith("text/javascript")
    assert "immutable" in headers["cache-control"]
    expected = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert len(body) == expected.stat().st_size
    assert not (STATIC / "plotly.min.js").exists()  # served from plotly, never copied in


@pytest.mark.parametrize("path", ["/static/nope.js", "/static/../_pages.py", "/static/%2e%2e/_pages.py"])
def test_unknown_or_outside_static_files_are_404(root_url: str, path: str) -> None:
    status, _, body = _get(root_url + path)
    assert status == 404
    assert b"import" not in body  # never the source of a module outside static/


def test_base_url_prefixes_everything(prefixed_url: str) -> None:
    status, _, body = _get(prefixed_url + "/tune/studies/x")
    assert status == 200
    text = body.decode()
    assert '<meta name="tunesmith-base" content="/tune">' in text
    assert 'href="/tune/static/app.css"' in text
    assert _get(prefixed_url + "/tune/static/core.js")[0] == 200
    assert _get(prefixed_url + "/studies/x")[0] == 404
    status, _, body = _get(prefixed_url + "/tune")  # redirected to /tune/
    assert status == 200 and b"tunesmith-base" in body


def test_base_url_is_escaped_into_the_page() -> None:
    from tunesmith.dashboard._pages import _index_html

    page = _index_html('/a"><script>x</script>')
    assert "<script>x</script>" not in page
    assert 'content="/a&quot;&gt;&lt;script&gt;x&lt;/script&gt;"' in page

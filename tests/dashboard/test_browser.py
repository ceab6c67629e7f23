"""The dashboard in a real browser (Debian's Chromium through Playwright): every page loads
without console errors, draws its plots, sorts, pages, filters by brushing, updates live from
another process, keeps hostile names inert and works behind a token.

Skipped without /usr/bin/chromium or playwright, unless TUNESMITH_REQUIRE_BROWSER=1 (CI).
Each page's screenshot is kept in tests/dashboard/artifacts/.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

# A real browser per test: the file takes about a minute on a busy 2-core machine.
pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
_REQUIRED = os.environ.get("TUNESMITH_REQUIRE_BROWSER") == "1"


def _need(ok: bool, why: str) -> None:
    if not ok:
        if _REQUIRED:
            pytest.fail(f"TUNESMITH_REQUIRE_BROWSER=1 but {why}", pytrace=False)
        pytest.skip(why, allow_module_level=True)


try:
    from playwright.sync_api import Page, sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    _need(False, "playwright is not installed")
_need(Path(CHROMIUM).exists(), f"no browser at {CHROMIUM}")
pytest.importorskip("uvicorn")

import tunesmith  # noqa: E402
from tunesmith.dashboard import create_app  # noqa: E402
from tunesmith.dashboard._server import DashboardServer, server_config  # noqa: E402

ARTIFACTS = Path(__file__).parent / "artifacts"
XSS = "<img src=x onerror=alert(1)>"
TOKEN = "t0ken-for-tests"
PAGE_SIZE = 25

# The objective both this module and the "other process" run: two numbers, a log-scaled rate,
# a categorical parameter whose name and one choice are markup, five reports, trial 3 fails.
OBJECTIVE = textwrap.dedent(
    f"""
    import math
    import os
    import time

    XSS = {XSS!r}
    STEP_SECONDS = float(os.environ.get("STEP_SECONDS", "0"))  # the other process trains slowly

    def objective(trial):
        x = trial.suggest_float("x", -5, 5)
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        kind = trial.suggest_categorical(XSS, ["a", XSS, "c"])
        value = 0.0
        for step in range(5):
            value = (x - 1) ** 2 + math.log10(lr) ** 2 / (step + 1) + (0.5 if kind == "a" else 0.0)
            trial.report(value, step)
            time.sleep(STEP_SECONDS)
        if trial.number == 3:
            raise ValueError("boom <script>alert(2)</script>")
        return value
    """
)


def _objective() -> Any:
    scope: dict[str, Any] = {}
    exec(OBJECTIVE, scope)  # the same source the other process runs
    return scope["objective"]


@pytest.fixture(scope="module")
def browser_storage(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Four studies: ``demo`` (40 trials, one failed), ``live`` (watched while another process
    adds trials), a two-objective ``pareto`` and one named with markup."""
    url = f"sqlite:///{tmp_path_factory.mktemp('dashboard') / 'studies.db'}"
    objective = _objective()
    for name, n in (("demo", 40), ("live", 6)):
        study = tunesmith.create_study(name=name, storage=url, seed=0)
        study.optimize(objective, n_trials=n)
        assert [t.number for t in study.trials if t.state.name == "FAILED"] == [3], "the objective itself fails"
    pareto = tunesmith.create_study(name="pareto", storage=url, directions=["minimize", "minimize"], seed=0)
    pareto.optimize(lambda t: (t.suggest_float("a", 0, 1), (1 - t.suggest_float("b", 0, 1)) ** 2 + 0.1), n_trials=20)
    tunesmith.create_study(name=XSS, storage=url, seed=1).optimize(lambda t: t.suggest_float("y", 0, 1), n_trials=8)
    return url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(app: Any, base: str = "") -> Iterator[str]:
    """A module-long server (the conftest's fixtures start one per test; pages are slower to load)."""
    port = _free_port()
    server = DashboardServer(server_config(app, "127.0.0.1", port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "the dashboard did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}{base}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def base_url(browser_storage: str) -> Iterator[str]:
    yield from _serve(create_app(browser_storage, poll_interval=0.2))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"],
        )
        yield chromium
        chromium.close()


class Watched:
    """A page whose console errors, uncaught exceptions and dialogs are recorded."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def check(self) -> None:
        assert self.dialogs == [], "a dialog fired: markup in the data ran as code"
        assert self.errors == []
        # Markup in names and values stays text: no element was made from it.
        assert self.page.evaluate("document.querySelectorAll('main img, main script').length") == 0

    def shot(self, name: str, path: Path | None = None, full_page: bool = True) -> None:
        """A picture of the whole page, once every plot on it is drawn (plots draw when scrolled to)."""
        if full_page:
            height = self.page.evaluate("document.documentElement.scrollHeight")
            for y in range(0, height, 500):
                self.page.evaluate(f"window.scrollTo(0, {y})")
                self.page.wait_for_timeout(30)
            self.page.wait_for_function(
                "[...document.querySelectorAll('.plot')].every(d => d.data || d.querySelector('.plot-message'))"
            )
        self.page.evaluate("window.scrollTo(0, 0)")
        self.page.wait_for_timeout(200)  # plotly's transitions
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(path or ARTIFACTS / f"{name}.png"), full_page=full_page)


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    w = Watched(page)
    yield w
    context.close()


def _wait_drawn(page: Page, *ids: str) -> None:
    """Wait until each plot div holds a figure with points (or a message saying why not)."""
    for div in ids:
        page.wait_for_selector(f"#{div}", state="attached")
        page.evaluate(f"document.getElementById({div!r}).scrollIntoView()")
        page.wait_for_function(
            f"(() => {{ const d = document.getElementById({div!r}); return d && Number(d.dataset.drawn) > 0; }})()"
        )


def _points(page: Page, div: str) -> int:
    """Points in a drawn plot: x values over its traces (a parcoords: values on its first axis)."""
    return int(page.evaluate(
        f"""(() => {{
            const d = document.getElementById({div!r});
            if (!d || !d.data) return 0;
            return d.data.reduce((n, t) => n + (t.dimensions ? t.dimensions[0].values.length
                : (t.x || t.y || []).length), 0);
        }})()"""
    ))


def _table(page: Page) -> dict[str, Any]:
    """The trials table as drawn: header labels and the rows' cell texts."""
    return page.evaluate(
        """(() => {
            const head = [...document.querySelectorAll('#trials thead th')]
                .map((th) => th.dataset.sort || th.textContent);
            const rows = [...document.querySelectorAll('#trials tbody tr[data-number]')]
                .map((tr) => [...tr.children].map((td) => td.textContent));
            const info = document.querySelector('.page-info').textContent;
            return { head, rows, info };
        })()"""
    )


def _column(table: dict[str, Any], sort_key: str) -> list[str]:
    index = table["head"].index(sort_key)
    return [row[index] for row in table["rows"]]


def _study_page(w: Watched, base_url: str, name: str) -> None:
    w.page.goto(f"{base_url}/studies/{quote(name, safe='')}")
    w.page.wait_for_selector("#trials:not([data-loading]) tbody tr")


def test_studies_page(watched: Watched, base_url: str) -> None:
    page = watched.page
    page.goto(base_url + "/")
    page.wait_for_selector("#studies tbody tr[data-name]")
    names = page.eval_on_selector_all("#studies tbody tr", "rows => rows.map(r => r.dataset.name)")
    assert sorted(names) == sorted(["demo", "live", "pareto", XSS])
    # The hostile name is shown as typed, as a link's text.
    assert XSS in page.eval_on_selector_all("#studies tbody a", "as => as.map(a => a.textContent)")
    watched.shot("studies")

    page.click("th[data-key=name]")  # ascending by name
    first = page.eval_on_selector_all("#studies tbody tr", "rows => rows.map(r => r.dataset.name)")
    assert first == sorted(names, key=str.lower)
    page.click("th[data-key=name]")
    assert page.eval_on_selector_all("#studies tbody tr", "rows => rows.map(r => r.dataset.name)") == first[::-1]

    page.fill("#study-search", "PAR")
    assert page.eval_on_selector_all("#studies tbody tr", "rows => rows.map(r => r.dataset.name)") == ["pareto"]
    page.fill("#study-search", "")
    page.click(f"#studies a:text-is('{XSS}')")  # routed without a reload, to the study page
    page.wait_for_selector("#study-counts")  # the study page's own (the list's h1 stays until it renders)
    assert page.text_content("h1") == XSS
    watched.check()


def test_study_page_draws_every_plot(watched: Watched, base_url: str) -> None:
    page = watched.page
    _study_page(watched, base_url, "demo")
    plots = ("history", "intermediate", "parallel", "slice", "contour", "importance", "timeline")
    _wait_drawn(page, *plots)
    for div in plots:
        assert _points(page, div) > 0, f"#{div} drew nothing"
    assert page.evaluate("document.getElementById('history').data[0].x.length") == 39  # the COMPLETE trials
    # A few points are drawn as SVG (no WebGL context to start); the parallel plot came after the history.
    assert page.evaluate("document.getElementById('history').data[0].type") == "scatter"
    order = page.evaluate("[...performance.getEntriesByType('resource')].map(e => e.name)")
    first = {key: next(i for i, url in enumerate(order) if key in url) for key in ("quick=1", "/plot/history",
                                                                                   "/plot/parallel")}
    assert first["quick=1"] < first["/plot/history"] < first["/plot/parallel"]
    page.wait_for_selector("#diagnosis .findings, #diagnosis p")
    assert page.text_content("#study-total") == "40"
    assert page.is_hidden("#notes-edit")  # a read-only server: no editor
    # A parameter named with markup is a column header, as text.
    assert XSS in page.eval_on_selector_all("#trials thead th", "ths => ths.map(th => th.textContent)")
    watched.shot("study")

    page.select_option("select[aria-label='Importance evaluator']", "fanova")
    page.wait_for_function("Number(document.getElementById('importance').dataset.drawn) > 1")
    assert _points(page, "importance") > 0

    # In a narrow window the page reflows to one column; only the table scrolls sideways.
    page.set_viewport_size({"width": 420, "height": 800})
    page.wait_for_function("document.documentElement.scrollWidth <= 420")  # once plotly has resized its plots
    watched.shot("study-narrow")
    watched.check()


def test_trials_table_sorts_and_paginates(watched: Watched, base_url: str) -> None:
    page = watched.page
    _study_page(watched, base_url, "demo")
    table = _table(page)
    assert table["info"] == f"1–{PAGE_SIZE} of 40"
    assert [int(n) for n in _column(table, "number")] == list(range(39, 39 - PAGE_SIZE, -1))  # newest first

    page.click("#trials th[data-sort='values.value']")
    page.wait_for_selector("#trials:not([data-loading]) th[data-sort='values.value'][aria-sort=ascending]")
    values = [float(v) for v in _column(_table(page), "values.value")]
    assert values == sorted(values)

    page.click("#trials th[data-sort='values.value']")  # again: descending
    page.wait_for_selector("#trials:not([data-loading]) th[data-sort='values.value'][aria-sort=descending]")
    descending = [float(v) for v in _column(_table(page), "values.value")]
    assert descending == sorted(descending, reverse=True) and descending[0] > values[-1]

    page.click("#trials-card .next")
    page.wait_for_function("document.querySelector('.page-info').textContent.startsWith('26')")
    assert len(_table(page)["rows"]) == 40 - PAGE_SIZE
    assert _column(_table(page), "values.value")[-1] == "—"  # the failed trial has no value: last either way
    page.click("#trials-card input[value=FAILED]")  # only the failed trial
    page.wait_for_function("document.querySelector('.page-info').textContent === '1–1 of 1'")
    assert _column(_table(page), "state") == ["FAILED"]
    href = page.get_attribute("#csv-link", "href")
    assert "format=csv" in href and "state=FAILED" in href
    watched.check()


def test_brushing_parallel_coordinates_filters_the_table(watched: Watched, base_url: str) -> None:
    page = watched.page
    _study_page(watched, base_url, "demo")
    _wait_drawn(page, "parallel")
    labels = page.evaluate("document.getElementById('parallel').data[0].dimensions.map(d => d.label)")
    x_axis, lr_axis, kind_axis = labels.index("x"), labels.index("lr"), labels.index(XSS)
    # What a drag along an axis does: a constraintrange on it, announced by plotly_restyle.
    # lr is drawn as log10(lr): the band [-3, -1] is lr in [0.001, 0.1].
    page.evaluate(
        f"Plotly.restyle('parallel', {{'dimensions[{x_axis}].constraintrange': [[0, 2]],"
        f" 'dimensions[{lr_axis}].constraintrange': [[-3, -1]]}}, [0])"
    )
    page.wait_for_function("document.querySelectorAll('#brush-filters .chip').length === 2")
    page.wait_for_selector("#trials:not([data-loading])")
    table = _table(page)
    assert not table["info"].endswith("of 40")
    xs = [float(v) for v in _column(table, "params.x")]
    assert xs and all(0 <= x <= 2 for x in xs)
    assert all(1e-3 <= float(lr) <= 0.1 for lr in _column(table, "params.lr"))

    # A categorical axis: the band around its second tick keeps that one choice (named with markup).
    page.evaluate(f"Plotly.restyle('parallel', {{'dimensions[{kind_axis}].constraintrange': [[0.5, 1.5]]}}, [0])")
    page.wait_for_function("document.querySelectorAll('#brush-filters .chip').length === 3")
    page.wait_for_selector("#trials:not([data-loading])")
    table = _table(page)
    assert set(_column(table, f"params.{XSS}")) == {XSS}
    assert all(0 <= float(x) <= 2 for x in _column(table, "params.x"))
    watched.shot("study-brushed", full_page=False)

    page.click("#brush-filters .chip:has-text('lr') .chip-x")  # clears that brush, re-reads the table
    page.wait_for_function("document.querySelectorAll('#brush-filters .chip').length === 2")
    dims = "document.getElementById('parallel').data[0].dimensions"
    assert not page.evaluate(f"{dims}[{lr_axis}].constraintrange")
    assert page.evaluate(f"{dims}[{x_axis}].constraintrange")
    watched.check()


def test_trial_page(watched: Watched, base_url: str) -> None:
    page = watched.page
    page.goto(f"{base_url}/studies/demo/trials/0")
    page.wait_for_function("(document.getElementById('reports') || {}).data")
    assert page.evaluate("document.getElementById('reports').data[0].x") == [0, 1, 2, 3, 4]
    params = page.eval_on_selector_all(
        "#trial-params-table tbody tr td:first-child", "tds => tds.map(t => t.textContent)"
    )
    assert sorted(params) == sorted(["x", "lr", XSS])
    assert page.is_hidden("#error-card")
    watched.shot("trial")

    page.evaluate("window.__sameDocument = true")
    page.click("nav.crumbs a:text-is('demo')")  # to the study and back, without a reload
    page.wait_for_selector("#trials tbody tr")
    page.go_back()
    page.wait_for_selector("#trial-params-table")
    assert page.evaluate("window.__sameDocument") is True
    page.goto(f"{base_url}/studies/demo/trials/3")  # the failed one: its traceback, as text
    page.wait_for_selector("#trial-error pre")
    traceback = page.text_content("#trial-error pre")
    assert "Traceback" in traceback and "ValueError: boom <script>alert(2)</script>" in traceback
    watched.shot("trial-failed")
    watched.check()


def test_compare_page(watched: Watched, base_url: str) -> None:
    page = watched.page
    page.goto(f"{base_url}/compare?studies=demo,{quote(XSS, safe='')}")
    page.wait_for_function("(document.getElementById('compare-plot') || {}).data")
    assert page.evaluate("document.getElementById('compare-plot').data.length") == 2
    assert _points(page, "compare-plot") > 2
    watched.shot("compare")
    page.uncheck(f"#compare-pick input[value='{XSS}']")
    page.wait_for_selector("#compare-plot .plot-message")
    assert "Pick two or more" in page.text_content("#compare-plot")
    watched.check()


def test_multi_objective_study_draws_its_pareto_front(watched: Watched, base_url: str) -> None:
    page = watched.page
    _study_page(watched, base_url, "pareto")
    _wait_drawn(page, "pareto", "parallel")
    assert _points(page, "pareto") >= 20
    watched.shot("study-pareto")
    watched.check()


def test_a_trial_finished_by_another_process_appears_without_a_reload(
    watched: Watched, base_url: str, browser_storage: str, tmp_path: Path,
) -> None:
    page = watched.page
    _study_page(watched, base_url, "live")
    _wait_drawn(page, "history")
    page.wait_for_selector("#live:not([hidden])")  # subscribed
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    before = page.evaluate("document.getElementById('history').data[0].x.length")
    script = tmp_path / "more.py"
    script.write_text(OBJECTIVE + textwrap.dedent(
        f"""
        import tunesmith
        tunesmith.load_study("live", storage={browser_storage!r}).optimize(objective, n_trials=2)
        """
    ))
    env = {**os.environ, "STEP_SECONDS": "0.4"}
    with subprocess.Popen([sys.executable, str(script)], env=env) as other:
        # While it runs: its trial shows as RUNNING and its curve is asked for (it is not picked).
        with page.expect_request(lambda r: "/plot/intermediate" in r.url and "trials=6" in r.url, timeout=30_000):
            page.wait_for_selector("#trials tbody tr.row-running[data-number='6']", timeout=30_000)
        assert other.wait(timeout=60) == 0
    page.wait_for_selector("#trials tbody tr[data-number='7']")
    assert page.text_content("#study-total") == "8"
    page.wait_for_function(f"document.getElementById('history').data[0].x.length >= {before + 2}")
    assert page.evaluate("window.__sameDocument") is True
    watched.check()


def test_the_page_works_with_a_token(browser: Any, browser_storage: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    w = Watched(page)
    # Behind a path prefix too: the page finds its API and assets under it.
    # Writes allowed here: the notes editor shows, and saves.
    app = create_app(browser_storage, token=TOKEN, base_url="/tune", allow_writes=True)
    for base in _serve(app, "/tune"):
        page.goto(f"{base}/?token={TOKEN}")
        page.wait_for_selector("#studies tbody tr[data-name]")
        assert "token" not in page.url  # not left in the address bar or the history
        page.click("#studies a:text-is('demo')")
        _wait_drawn(page, "history")
        assert _points(page, "history") > 0
        page.wait_for_selector("#live:not([hidden])")  # the event stream passes the gate too
        page.click("#notes-edit")
        page.fill("#notes-input", f"tried {XSS}\nnext: wider lr")
        page.click("#notes-save")
        page.wait_for_selector("#notes-text:not([hidden])")
        assert page.text_content("#notes-text") == f"tried {XSS}\nnext: wider lr"
        w.shot("study-token-notes")
        w.check()
        page.goto(f"{base}/")  # the cookie set by the first load still lets it in
        page.wait_for_selector("#studies tbody tr[data-name]")
        w.check()
    context.close()

"""Progress of ``Study.optimize`` on the console: a live table in a terminal, lines in a log.

Executors call ``start`` once, ``update`` after finished trials (often thousands of
times a second) and ``finish`` once, also after an error or Ctrl-C. ``update`` returns
at once unless a redraw is due, so the reporter costs little however fast trials run.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.errors import LiveError
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from tunesmith.reporting._table import STATE_STYLE, Column, build_table, fit_columns
from tunesmith.reporting._tracker import Tracker
from tunesmith.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from tunesmith.study import Study

__all__ = ["CLIReporter", "ConsoleReporter"]

_LIVE_TICK_S = 0.25  # redraw period of the live table
_LINE_TICK_S = 0.25  # default period of plain-line output
_TABLE_TICK_S = 5.0  # default period of plain tables (Ray's max_report_frequency)
_LINES_PER_S = 5.0  # sustained rate of plain lines; a burst may use up to _LINE_BURST
_LINE_BURST = 10.0
_MAX_SHARE_INV = 40  # redraws may take at most 1/40 (2.5 %) of the run's time
_MAX_AUTO_PARAMS = 8  # parameters on a plain line
_MAX_TABLE_PARAMS = 40  # parameter columns considered for the table (those that fit are shown)
_MAX_AUTO_METRICS = 6


class ConsoleReporter:
    """Show trials, progress, ETA and the best value while a study optimizes.

    In a terminal it draws a live table (running and paused trials, the latest and best
    finished ones) above a progress bar; otherwise it prints one line per finished
    trial, at most a few lines a second, summarising the trials it skips. The table
    fits the console's width: numbers are never cut; the columns that fit are kept (the
    objective first, then parameters and other metrics in turn), the caption counts the
    others, and long headers are abbreviated.

    Args:
        parameter_columns: parameters to show, a list or ``{name: header}`` (default:
            those seen: as many as fit in a table, up to 8 on a line).
        metric_columns: metrics to show, a list or ``{name: header}`` (default: the
            study's metrics and the keys of ``trial.report``; ``"step"`` is the last step).
        max_rows: rows of the live table (``max_progress_rows`` is Ray's name for it).
        quiet: print nothing but a one-line summary at the end.
        print_intermediate_tables: None: a live table in a terminal, lines otherwise;
            True: tables also when not a terminal; False: lines even in a terminal.
        sort_by_metric: order finished trials in the table by value, best first.
        console: a :class:`rich.console.Console` (default: standard output).
        max_report_frequency: seconds between plain reports (default 0.25 for lines,
            5 for tables).
        max_column_length: longer texts (not numbers) are cut to this many characters.

    >>> import tunesmith
    >>> study = tunesmith.create_study(name="demo", seed=0)
    >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=20,
    ...                reporter=ConsoleReporter(quiet=True))  # doctest: +ELLIPSIS
    study demo: 20 trials (20 COMPLETE) in ... | best trial ...: value=... x=...
    """

    def __init__(
        self,
        parameter_columns: Sequence[str] | Mapping[str, str] | None = None,
        metric_columns: Sequence[str] | Mapping[str, str] | None = None,
        max_rows: int = 20,
        quiet: bool = False,
        print_intermediate_tables: bool | None = None,
        sort_by_metric: bool = False,
        console: Console | None = None,
        *,
        max_progress_rows: int | None = None,
        max_report_frequency: float | None = None,
        max_column_length: int = 20,
    ) -> None:
        if max_progress_rows is not None:
            if max_rows not in (20, max_progress_rows):
                raise ValueError(
                    f"max_rows={max_rows} and max_progress_rows={max_progress_rows} disagree; pass one of them"
                )
            max_rows = max_progress_rows
        _check_positive_int("max_rows", max_rows)
        _check_positive_int("max_column_length", max_column_length)
        if max_report_frequency is not None and not max_report_frequency > 0:
            raise ValueError(f"max_report_frequency must be positive seconds or None, got {max_report_frequency!r}")
        if console is not None and not isinstance(console, Console):
            raise TypeError(f"console must be a rich.console.Console, got {type(console).__name__}")
        self.parameter_columns = _columns("parameter_columns", parameter_columns)
        self.metric_columns = _columns("metric_columns", metric_columns)
        self.max_rows = max_rows
        self.quiet = quiet
        self.print_intermediate_tables = print_intermediate_tables
        self.sort_by_metric = sort_by_metric
        self.console = console if console is not None else Console()
        self.max_report_frequency = max_report_frequency
        self.max_column_length = max_column_length
        self._mode = "off"  # off | quiet | live | lines | tables
        self._next = math.inf  # monotonic time of the next redraw; inf: update() does nothing
        self._interval = _LINE_TICK_S
        self._live: Live | None = None
        self._table: _Rendered | None = None  # the live table, laid out at the last redraw
        self._widths: dict[str, int] = {}  # column key -> widest cell seen in this run
        self._tracker = Tracker([], 1)
        self._pending: list[tuple[FrozenTrial, bool]] = []  # finished, not yet printed (lines mode)
        self._tokens = _LINE_BURST
        self._last_emit = 0.0
        self._study_name = ""
        self._metric_names: list[str] = []
        self._n_trials: int | None = None
        self._timeout: float | None = None
        self._t0 = 0.0
        self._base_done = 0
        self._done = 0
        self._last_tick = 0.0

    # -- the executor protocol ---------------------------------------------------------
    def start(self, study: Study, n_trials: int | None, timeout: float | None) -> None:
        """Begin a run of ``n_trials`` trials (None: unbounded) or ``timeout`` seconds."""
        self._stop_live()  # a previous run that never reached finish()
        self._t0 = self._last_tick = self._last_emit = time.monotonic()
        self._n_trials, self._timeout = n_trials, timeout
        self._study_name = study.name
        self._metric_names = list(study.metric_names)
        self._pending, self._tokens, self._table, self._widths = [], _LINE_BURST, None, {}
        if self.quiet:
            self._mode, self._next = "quiet", math.inf
            return
        self._tracker = Tracker(study.directions, self.max_rows)
        self._tracker.scan(study.trials)  # trials from earlier runs are not reported as new
        self._base_done = self._done = self._tracker.n_finished
        tables = self.print_intermediate_tables
        if self.console.is_terminal and tables is not False:
            self._mode, self._interval = "live", _LIVE_TICK_S
            self._table = self._layout_table()
            self._live = Live(
                console=self.console, auto_refresh=True, refresh_per_second=4, transient=True,
                get_renderable=self._dashboard,
            )
            try:
                self._live.start(refresh=True)
            except LiveError:  # another live display is active: fall back to lines
                self._live = None
                self._mode, self._interval = "lines", _LINE_TICK_S
        elif tables:
            self._mode, self._interval = "tables", _TABLE_TICK_S
        else:
            self._mode, self._interval = "lines", _LINE_TICK_S
        if self.max_report_frequency is not None and self._mode != "live":
            self._interval = self.max_report_frequency
        self._next = self._t0

    def update(self, study: Study) -> None:
        """Redraw if one is due (cheap otherwise: one clock read)."""
        now = time.monotonic()
        if now < self._next:
            return
        new = self._refresh(study, now)
        if self._mode == "live":
            self._table = self._layout_table()
            if self._live is not None:
                self._live.refresh()
        elif self._mode == "lines":
            self._pending.extend(new)
            self._emit_lines(now, final=False)
        else:
            self.console.print(self._render_table())
            self.console.out(self._status(now).lstrip(" |"), highlight=False)
        # Reading the trials is O(study size): space redraws out so that they take at most
        # 1/_MAX_SHARE_INV of the run, however large the study grows.
        cost = time.monotonic() - now
        self._next = now + max(self._interval, cost * _MAX_SHARE_INV)

    def finish(self, study: Study) -> None:
        """Restore the terminal and print the final table or lines and a summary."""
        mode, self._mode, self._next = self._mode, "off", math.inf
        self._stop_live()
        now = time.monotonic()
        if mode == "off":
            return
        if mode == "quiet":
            self.console.out(self._quiet_summary(study, now), highlight=False)
            return
        new = self._refresh(study, now)
        if mode == "lines":
            self._pending.extend(new)
            self._emit_lines(now, final=True)
        else:
            self.console.print(self._render_table())
        for line in self._summary(now):
            self.console.out(line, highlight=False)

    # -- state -------------------------------------------------------------------------
    def _refresh(self, study: Study, now: float) -> list[tuple[FrozenTrial, bool]]:
        new = self._tracker.scan(study.trials)
        self._done = self._tracker.n_finished - self._base_done
        self._last_tick = now
        return new

    def _stop_live(self) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.stop()

    def _param_columns(self) -> dict[str, str]:
        if self.parameter_columns is not None:
            return self.parameter_columns
        return {n: n for n in list(self._tracker.param_names)[:_MAX_TABLE_PARAMS]}

    def _metric_columns(self) -> dict[str, str]:
        if self.metric_columns is not None:
            return self.metric_columns
        names = dict.fromkeys(self._metric_names)
        names.update(dict.fromkeys(self._tracker.result_keys))
        if self._tracker.has_step:
            names.setdefault("step")
        return {n: n for n in list(names)[:_MAX_AUTO_METRICS]}

    def _metric(self, t: FrozenTrial, name: str) -> Any:
        if t.values is not None and name in self._metric_names:
            i = self._metric_names.index(name)
            if i < len(t.values):
                return t.values[i]
        if name in t.last_result:
            return t.last_result[name]
        return t.last_step if name == "step" else None

    # -- plain lines -------------------------------------------------------------------
    def _emit_lines(self, now: float, final: bool) -> None:
        cap = max(_LINE_BURST, _LINES_PER_S * self._interval)
        self._tokens = min(cap, self._tokens + (now - self._last_emit) * _LINES_PER_S)
        self._last_emit = now
        pending = self._pending
        if not pending:
            return
        if len(pending) <= self._tokens:
            shown, rest = pending, []
        elif self._tokens >= 2 or final:
            # Over budget: keep improvements, then failures, then the latest; count the rest.
            k = max(int(self._tokens) - 1, 3 if final else 1)
            ranked = sorted(range(len(pending)), key=lambda i: (not pending[i][1],
                            pending[i][0].state != TrialState.FAILED, -i))
            keep = set(ranked[:k])
            shown = [p for i, p in enumerate(pending) if i in keep]
            rest = [p for i, p in enumerate(pending) if i not in keep]
        else:
            return  # out of budget: wait for the next tick
        suffix = self._status(now)
        for t, _ in shown:
            self.console.out(self._line(t) + suffix, highlight=False)
        if rest:
            counts: dict[TrialState, int] = {}
            for t, _ in rest:
                counts[t.state] = counts.get(t.state, 0) + 1
            self.console.out(f"... {len(rest)} more finished ({_counts_text(counts)}){suffix}", highlight=False)
        self._tokens = max(0.0, self._tokens - len(shown) - bool(rest))
        self._pending = []

    def _line(self, t: FrozenTrial) -> str:
        parts = [f"trial {t.number} {t.state.name}"]
        metrics = self.metric_columns if self.metric_columns is not None else {n: n for n in self._metric_names}
        for name, label in metrics.items():
            value = self._metric(t, name)
            if value is not None:
                parts.append(f"{label}={self._fmt(value)}")
        if t.state == TrialState.PRUNED and t.last_step is not None and "step" not in metrics:
            parts.append(f"step={t.last_step}")
        params = self.parameter_columns or {n: n for n in list(t.params)[:_MAX_AUTO_PARAMS]}
        parts += [f"{label}={self._fmt(t.params[n])}" for n, label in params.items() if n in t.params]
        if t.duration is not None:
            parts.append(f"({_fmt_duration(t.duration)})")
        if t.state == TrialState.FAILED and t.error:
            parts.append(f"error: {_error_line(t.error)}")
        return " ".join(parts)

    def _status(self, now: float) -> str:
        best = self._tracker.best
        text = "" if best is None or not best.values else f" | best {self._fmt(best.values[0])} (trial {best.number})"
        total = f"{self._done}/{self._n_trials}" if self._n_trials is not None else f"{self._done} done"
        eta = self._eta(now)
        return f"{text} | {total}" + (f" | ETA {_fmt_clock(eta)}" if eta and eta >= 1 else "")

    # -- tables ------------------------------------------------------------------------
    def _render_table(self) -> Table:
        tr = self._tracker
        params, metrics = self._param_columns(), self._metric_columns()
        rows, hidden = tr.rows(self.max_rows, self.sort_by_metric)
        wall = time.time()
        columns = [
            Column("trial", "trial", [Text(str(t.number)) for t in rows], 0, required=True),
            Column("state", "state", [Text(t.state.name, style=STATE_STYLE[t.state]) for t in rows], 0, required=True),
        ]
        # Priority: the first metric (the objective), then parameters and the other metrics in
        # turn, each in order (p1 m2 p2 m3 ...), so a narrow console shows some of both; the time last.
        columns += [
            Column(f"param:{n}", label, [Text(self._fmt(t.params.get(n))) for t in rows], 2 + 2 * i)
            for i, (n, label) in enumerate(params.items())
        ]
        columns += [
            Column(f"metric:{n}", label, [Text(self._fmt(self._metric(t, n))) for t in rows], 1 + 2 * i)
            for i, (n, label) in enumerate(metrics.items())
        ]
        # Durations take up to 6 characters ("100 ms", "59.9 s", "59m59s"): reserved, so the layout stays put.
        columns.append(Column("time", "time", [Text(_took(t, wall)) for t in rows], math.inf, min_width=6))
        for col in columns:
            # Widths never shrink during a run, so columns do not come and go as values change.
            col.min_width = max(col.min_width, self._widths.get(col.key, 0))
            self._widths[col.key] = col.data_width
        shown = fit_columns(columns, self.console.width)
        counts = tr.counts()
        caption = Text(style="dim")
        for state in TrialState:
            if counts.get(state):
                caption.append(", " if caption else "")
                caption.append(f"{counts[state]} {state.name}", style=STATE_STYLE[state])
        if hidden:
            caption.append(f" · {_counts_text(hidden)} more not shown")
        left_out = {
            kind: sum(1 for c in columns if c.key.startswith(kind) and c not in shown)
            for kind in ("param", "metric")
        }
        if self.parameter_columns is None:
            left_out["param"] += len(tr.param_names) - len(params)
        notes = [f"+{n} {kind}{'s' if n > 1 else ''}" for kind, n in left_out.items() if n]
        if notes:
            caption.append(f" · {', '.join(notes)} not shown")
        best = tr.best
        styles = ["bold" if best is not None and t.number == best.number else None for t in rows]
        return build_table(Text(f"study {self._study_name}", style="bold"), caption, shown, styles)

    def _layout_table(self) -> _Rendered:
        # Laying out a rich Table takes ~10 ms: do it once per redraw, not on each refresh.
        return _Rendered(self.console.render_lines(self._render_table(), self.console.options))

    def _dashboard(self) -> RenderableType:
        """What the live display draws (called from rich's refresh thread: no study access)."""
        now = time.monotonic()
        elapsed = now - self._t0
        total = f"{self._done}/{self._n_trials} trials" if self._n_trials is not None else f"{self._done} trials"
        text = Text(f" {total} · elapsed {_fmt_clock(elapsed)}", no_wrap=True, overflow="ellipsis")
        eta = self._eta(now)
        if eta is not None:
            text.append(f" · ETA {_fmt_clock(eta)}")
        best = self._tracker.best
        if best is not None and best.values:
            text.append(" · best ")
            text.append(self._fmt(best.values[0]), style="bold green")
            text.append(f" (trial {best.number})")
        width = max(10, min(30, self.console.width - text.cell_len))  # the text first on a narrow console
        if self._n_trials:
            bar = ProgressBar(total=self._n_trials, completed=min(self._done, self._n_trials), width=width)
        elif self._timeout:
            bar = ProgressBar(total=self._timeout, completed=min(elapsed, self._timeout), width=width)
        else:
            bar = ProgressBar(total=None, width=width)
        grid = Table.grid()
        grid.add_row(bar, text)
        return grid if self._table is None else Group(self._table, grid)

    def _eta(self, now: float) -> float | None:
        elapsed = now - self._t0
        etas = []
        if self._n_trials is not None and self._done > 0:
            per_trial = (self._last_tick - self._t0) / self._done
            etas.append((self._n_trials - self._done) * per_trial - (now - self._last_tick))
        if self._timeout is not None:
            etas.append(self._timeout - elapsed)
        return max(0.0, min(etas)) if etas else None

    # -- summaries ---------------------------------------------------------------------
    def _summary(self, now: float) -> list[str]:
        tr = self._tracker
        counts = tr.counts()
        lines = [
            f"study {self._study_name}: {sum(counts.values())} trials ({_counts_text(counts)}), "
            f"{self._done} in this run, {_fmt_duration(now - self._t0)}"
        ]
        if tr.best is not None:
            lines.append(f"best trial {tr.best.number}: {self._values_text(tr.best)}")
            lines.append("  params: " + (" ".join(f"{k}={self._fmt(v)}" for k, v in tr.best.params.items()) or "-"))
        if tr.failed and tr.failed[-1].error:
            lines.append(f"last failure, trial {tr.failed[-1].number}: {_error_line(tr.failed[-1].error)}")
        return lines

    def _quiet_summary(self, study: Study, now: float) -> str:
        counts = study.count()
        text = (
            f"study {self._study_name}: {sum(counts.values())} trials ({_counts_text(counts)}) "
            f"in {_fmt_duration(now - self._t0)}"
        )
        if len(study.directions) == 1 and counts.get(TrialState.COMPLETE, 0):
            best = study.best_trial
            params = " ".join(f"{k}={self._fmt(v)}" for k, v in best.params.items())
            text += f" | best trial {best.number}: {self._values_text(best)} {params}".rstrip()
        return text

    def _values_text(self, t: FrozenTrial) -> str:
        values = t.values or []
        return " ".join(f"{n}={self._fmt(v)}" for n, v in zip(self._metric_names, values, strict=False))

    def _fmt(self, value: Any) -> str:
        """Floats to 4 significant digits, integers whole; other values as text cut to ``max_column_length``."""
        if value is None:
            return "-"
        if isinstance(value, numbers.Integral):  # numpy integers too; never cut
            return str(value)
        if isinstance(value, numbers.Real):  # numpy floats too
            return f"{float(value):.4g}"
        text = str(value)
        n = self.max_column_length
        return text if len(text) <= n else text[: n - 1] + "…"


CLIReporter = ConsoleReporter
"""Ray Tune's name for :class:`ConsoleReporter`."""


class _Rendered:
    """Lines already rendered, drawn again as they are."""

    def __init__(self, lines: list[list[Segment]]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.lines:
            yield from line
            yield Segment.line()


def _columns(arg: str, value: Sequence[str] | Mapping[str, str] | None) -> dict[str, str] | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        out = dict(value)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        out = {v: v for v in value}
    else:
        raise TypeError(f"{arg} must be a list of names or a dict name -> header, got {value!r}")
    bad = [k for k, v in out.items() if not isinstance(k, str) or not isinstance(v, str)]
    if bad:
        raise TypeError(f"{arg}: names and headers must be strings, got {bad[0]!r} -> {out[bad[0]]!r}")
    return out


def _check_positive_int(arg: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{arg} must be a positive integer, got {value!r}")


def _counts_text(counts: Mapping[TrialState, int]) -> str:
    return ", ".join(f"{counts[s]} {s.name}" for s in TrialState if counts.get(s)) or "none"


def _error_line(error: str, width: int = 100) -> str:
    """The last non-empty line of a traceback (the exception), cut to ``width``."""
    lines = [ln.strip() for ln in error.strip().splitlines() if ln.strip()]
    text = lines[-1] if lines else ""
    return text if len(text) <= width else text[: width - 1] + "…"


def _took(t: FrozenTrial, wall: float) -> str:
    """How long a trial ran, or runs so far (a resumed trial: since it was resumed)."""
    if t.state == TrialState.RUNNING:
        # Not ``duration``: a resumed trial still holds the end of its pause, before its new start.
        return "-" if t.started_at is None else _fmt_duration(max(0.0, wall - t.started_at))
    if t.duration is not None and t.duration >= 0:
        return _fmt_duration(t.duration)
    return "-"


def _fmt_duration(seconds: float) -> str:
    if seconds < 0.1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, s = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{s:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def _fmt_clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"

"""A study in a notebook: ``Study._repr_html_``'s compact summary.

Counts by state, the best trial (or the Pareto front's size) and, when plotly is
installed, a small optimization-history plot. Every user string is escaped.

>>> import tunesmith
>>> study = tunesmith.create_study(name="<demo>", seed=0)
>>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=5)
>>> html = study_html(study, plot=False)
>>> "&lt;demo&gt;" in html and "5 COMPLETE" in html
True
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from tunesmith.reporting._table import STATE_STYLE
from tunesmith.trial import TrialState

if TYPE_CHECKING:
    from tunesmith.study import Study

__all__ = ["study_html"]

_MAX_PARAMS = 12
_COLOURS = {"green": "#2e7d32", "red": "#c62828", "yellow": "#b8860b", "cyan": "#00838f", "blue": "#1565c0"}


def _number(v: object) -> str:
    return f"{v:.6g}" if isinstance(v, float) else html.escape(str(v))


def _state_colour(state: TrialState) -> str:
    style = STATE_STYLE[state]
    return next((c for name, c in _COLOURS.items() if name in style), "#666")


def study_html(study: Study, plot: bool = True) -> str:
    """The summary as an HTML fragment; ``plot`` adds the history plot when plotly is installed."""
    counts = {s: n for s, n in study.count().items() if n}
    total = sum(counts.values())
    states = ", ".join(
        f'<span style="color:{_state_colour(s)}">{n} {s.name}</span>' for s, n in counts.items()
    ) or "no trials yet"
    directions = ", ".join(
        f"{html.escape(m)} ({d})" for m, d in zip(study.metric_names, study.directions, strict=False)
    )
    parts = [
        f"<div><b>Study {html.escape(study.name)}</b>: {total} trials ({states}); {directions}</div>",
    ]
    complete = total and counts.get(TrialState.COMPLETE, 0)
    if complete and len(study.directions) == 1:
        best = study.best_trial
        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{_number(v)}</td></tr>"
            for k, v in list(best.params.items())[:_MAX_PARAMS]
        )
        more = len(best.params) - _MAX_PARAMS
        tail = f"<tr><td colspan=2>... {more} more</td></tr>" if more > 0 else ""
        parts.append(
            f"<div>best trial {best.number}: {html.escape(study.metric_names[0])} = {_number(best.value)}</div>"
            f"<table>{rows}{tail}</table>"
        )
    elif complete:
        parts.append(f"<div>Pareto front: {len(study.pareto_front())} trials</div>")
    if plot and complete and len(study.directions) == 1:
        parts.append(_history_plot(study))
    return "\n".join(p for p in parts if p)


def _history_plot(study: Study) -> str:
    try:
        from tunesmith.visualization import plot_optimization_history

        fig = plot_optimization_history(study)
    except ImportError:
        return ""  # plotly is an optional extra: the summary stands without it
    global _plotlyjs_sent
    fig.update_layout(height=260, width=520, margin={"l": 40, "r": 10, "t": 30, "b": 30}, showlegend=False)
    # Offline: plotly.js travels with the first plot of the session (a CDN would need internet),
    # and later ones use it from the page.
    out = str(fig.to_html(full_html=False, include_plotlyjs=not _plotlyjs_sent))
    _plotlyjs_sent = True
    return out


_plotlyjs_sent = False

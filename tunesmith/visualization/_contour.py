"""``plot_contour``: the target over pairs of parameters, as binned grids.

Each cell of a ``resolution`` x ``resolution`` grid (log-spaced on log axes) holds the mean
target of the trials that fell in it, so the figure's size depends on the grid, not on the
number of trials; a small sample of trials is drawn over it as points. The drawn surface fills
the empty cells (most of them, with few trials) by linear interpolation between the filled
ones in cell coordinates (so log and categorical axes are handled alike), and by the nearest
filled cell outside their hull or when they cannot be triangulated (fewer than 3, or in a line).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tunesmith.trial import TrialState
from tunesmith.visualization._common import (
    Target,
    check_max_trials,
    distribution_of,
    import_plotly,
    is_log,
    limit_trials,
    param_column,
    param_names,
    read_study,
    target_values,
)

__all__ = ["ContourInfo", "ContourPanel", "draw_panels", "fill_surface", "plot_contour"]

_DEFAULT_POINTS = 500


@dataclass(frozen=True)
class ContourPanel:
    """``z[j, i]``: mean target of the trials with x in ``x_edges[i:i+2]`` and y in ``y_edges[j:j+2]``
    (NaN where there is none); ``x``/``y`` are the cell centres (categorical: choice indices)."""

    x_param: str
    y_param: str
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    counts: np.ndarray
    x_log: bool
    y_log: bool
    x_labels: tuple[str, ...] | None
    y_labels: tuple[str, ...] | None
    points_x: np.ndarray
    points_y: np.ndarray
    surface: np.ndarray | None = None  # ``z`` with its empty cells filled (see the module); None: draw ``z``


@dataclass(frozen=True)
class ContourInfo:
    params: list[str]
    panels: list[ContourPanel]  # every ordered pair (x, y) of params with x != y, by x then y
    target_name: str
    n_trials: int


def _axis(col: np.ndarray, log: bool, labels: tuple[str, ...] | None, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """Bin edges and centres for one parameter."""
    if labels is not None:
        edges = np.arange(len(labels) + 1) - 0.5
        return edges, np.arange(len(labels), dtype=float)
    finite = col[~np.isnan(col)]
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    if log and lo > 0:
        edges = np.geomspace(lo, hi if hi > lo else lo * 10, resolution + 1)
        return edges, np.sqrt(edges[:-1] * edges[1:])
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, resolution + 1)
    return edges, (edges[:-1] + edges[1:]) / 2


def _contour_info(
    study: Any, params: Sequence[str] | None = None, target: Target | None = None,
    target_name: str = "Objective Value", resolution: int = 30, max_trials: int | None = _DEFAULT_POINTS,
    fill: bool = True,
) -> ContourInfo:
    view = read_study(study)
    max_trials = check_max_trials(max_trials)
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"resolution must be an int >= 2, got resolution={resolution!r}")
    trials = [t for t in view.trials if t.state == TrialState.COMPLETE]
    values, maximize = target_values(view, trials, target, "plot_contour")
    names = param_names(trials, params)
    if len(names) < 2:
        raise ValueError(f"plot_contour needs at least 2 parameters, got params={names!r}")
    ok = np.flatnonzero(~np.isnan(values))
    trials = [trials[int(i)] for i in ok]
    values = values[ok]
    sample = limit_trials(values, maximize, max_trials)
    cols = {}
    for name in names:
        col, labels = param_column(trials, name)
        log = is_log(distribution_of(trials, name))
        edges, centres = _axis(col, log, labels, resolution)
        # each trial's cell on this axis, once per parameter (-1 where the trial lacks it)
        cell = np.clip(np.searchsorted(edges, col, side="right") - 1, 0, len(centres) - 1)
        cols[name] = (col, labels, log, centres, np.where(np.isnan(col), -1, cell))
    panels = []
    for x_name in names:
        for y_name in names:
            if x_name == y_name:
                continue
            xc, xl, xlog, xm, xi = cols[x_name]
            yc, yl, ylog, ym, yi = cols[y_name]
            both = (xi >= 0) & (yi >= 0)
            flat = yi[both] * len(xm) + xi[both]
            shape = (len(ym), len(xm))
            counts = np.bincount(flat, minlength=shape[0] * shape[1]).reshape(shape)
            sums = np.bincount(flat, weights=values[both], minlength=shape[0] * shape[1]).reshape(shape)
            with np.errstate(invalid="ignore", divide="ignore"):
                z = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
            panels.append(ContourPanel(
                x_name, y_name, xm, ym, z, counts.astype(np.int64), xlog, ylog, xl, yl,
                xc[sample], yc[sample], fill_surface(z) if fill else None,
            ))
    return ContourInfo(names, panels, target_name, len(trials))


def fill_surface(z: np.ndarray) -> np.ndarray:
    """``z`` with its NaN cells filled from the others (all NaN stays all NaN; see the module)."""
    known = ~np.isnan(z)
    if known.all() or not known.any():
        return z.copy()
    from scipy.interpolate import LinearNDInterpolator
    from scipy.spatial import QhullError, cKDTree

    pts = np.argwhere(known).astype(float)  # (row, col) of the filled cells
    vals = z[known]
    holes = np.argwhere(~known).astype(float)
    out = z.copy()
    filled = np.full(len(holes), np.nan)
    if len(pts) >= 3:
        try:
            filled = LinearNDInterpolator(pts, vals)(holes)
        except QhullError:  # all filled cells in one row, column or line: no triangle
            pass
    rest = np.isnan(filled)
    if rest.any():
        _, nearest = cKDTree(pts).query(holes[rest])
        filled[rest] = vals[nearest]
    out[~known] = filled
    return out


def plot_contour(
    study: Any, params: Sequence[str] | None = None, *, target: Target | None = None,
    target_name: str = "Objective Value", resolution: int = 30, max_trials: int | None = _DEFAULT_POINTS,
) -> Any:
    """The target over each pair of parameters: a grid of binned means, trials sampled on top (plotly).

    Args:
        resolution: cells per axis of each grid.
        max_trials: trials drawn as points on each panel (the best half of them, a sample of the rest).

    >>> import tunesmith
    >>> study = tunesmith.create_study()
    >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2 + t.suggest_float("y", -1, 1), n_trials=20)
    >>> [trace.type for trace in plot_contour(study).data]
    ['contour', 'scattergl']
    """
    info = _contour_info(study, params, target, target_name, resolution, max_trials)
    return draw_panels(info, "Contour Plot", contour=True)


def draw_panels(info: ContourInfo, title: str, contour: bool) -> Any:
    """The panels as a matrix (or one panel for two parameters): contours, or heatmaps of the cells."""
    go = import_plotly()
    n = len(info.params)
    panels = info.panels[:1] if n == 2 else info.panels  # two parameters: x against y only
    cells = 1 if n == 2 else n
    index = {p: i for i, p in enumerate(info.params)}
    gap = 0.2 / cells
    size = (1.0 - gap * (cells - 1)) / cells
    # The matrix is laid out by hand: make_subplots and per-panel update_*axes cost seconds at 8x8.
    layout: dict[str, Any] = {"title": {"text": title}, "showlegend": False}
    traces: list[Any] = []
    for k, panel in enumerate(panels):
        row, col = (0, 0) if n == 2 else (index[panel.y_param], index[panel.x_param])
        a = row * cells + col + 1
        xa, ya = ("x", "y") if a == 1 else (f"x{a}", f"y{a}")
        common = {
            "x": panel.x, "y": panel.y, "z": panel.z if panel.surface is None else panel.surface,
            "colorscale": "Blues", "reversescale": True,
            "showscale": k == 0, "colorbar": {"title": {"text": info.target_name}}, "xaxis": xa, "yaxis": ya,
        }
        if contour:
            traces.append(go.Contour(connectgaps=True, contours_coloring="heatmap", **common))
        else:
            traces.append(go.Heatmap(**common))
        traces.append(go.Scattergl(
            x=panel.points_x, y=panel.points_y, mode="markers", xaxis=xa, yaxis=ya,
            marker={"color": "black", "size": 3, "opacity": 0.5},
        ))
        x0, y0 = col * (size + gap), max(0.0, 1.0 - (row + 1) * size - row * gap)
        suffix = "" if a == 1 else str(a)
        x_domain, y_domain = [x0, min(1.0, x0 + size)], [y0, min(1.0, y0 + size)]
        layout[f"xaxis{suffix}"] = _axis_layout(panel.x_param, panel.x_log, panel.x_labels, x_domain, ya)
        layout[f"yaxis{suffix}"] = _axis_layout(panel.y_param, panel.y_log, panel.y_labels, y_domain, xa)
    return go.Figure(data=traces, layout=layout)


def _axis_layout(
    name: str, log: bool, labels: tuple[str, ...] | None, domain: list[float], anchor: str,
) -> dict[str, Any]:
    axis: dict[str, Any] = {"title": {"text": name}, "domain": domain, "anchor": anchor}
    if log:
        axis["type"] = "log"
    if labels is not None:
        axis.update(tickvals=list(range(len(labels))), ticktext=list(labels))
    return axis

"""The ``plot`` command: draw one of a study's plots to an HTML (plotly) or PNG (matplotlib) file. It only reads."""

from __future__ import annotations

import math
import os
from typing import Any

import click

from tunesmith.cli._open import command_storage_option, open_storage, open_study, storage_url

__all__ = ["KINDS", "plot_command"]

#: --kind -> the plot function's name in tunesmith.visualization (and .matplotlib)
KINDS = {
    "history": "plot_optimization_history",
    "intermediate": "plot_intermediate_values",
    "parallel": "plot_parallel_coordinate",
    "slice": "plot_slice",
    "importance": "plot_param_importances",
    "contour": "plot_contour",
    "rank": "plot_rank",
    "timeline": "plot_timeline",
    "pareto": "plot_pareto_front",
    "hypervolume": "plot_hypervolume_history",
    "edf": "plot_edf",
}
_TAKES_PARAMS = {"parallel", "slice", "importance", "contour", "rank"}
_NO_TARGET = {"timeline", "pareto", "hypervolume"}  # they draw every objective, or none


@click.command("plot")
@click.argument("study_name", metavar="STUDY")
@click.option("--kind", type=click.Choice(sorted(KINDS)), default="history", show_default=True, help="Which plot.")
@click.option(
    "-o", "--output", default=None, metavar="FILE",
    help="FILE.html (plotly, works offline) or FILE.png (matplotlib); default STUDY-KIND.html.",
)
@click.option(
    "--params", default=None, metavar="A,B", help="Parameters to plot (parallel, slice, importance, contour, rank).",
)
@click.option("--target", default=None, metavar="METRIC", help="Objective or reported metric to plot.")
@click.option(
    "--max-trials", type=click.IntRange(min=1), default=None, metavar="N",
    help="Show at most N trials (each plot's own default otherwise).",
)
@click.option(
    "--reference-point", default=None, metavar="A,B",
    help="hypervolume: one value per objective, worse than every trial (default: past the worst trial).",
)
@command_storage_option
@click.pass_context
def plot_command(
    ctx: click.Context, study_name: str, kind: str, output: str | None, params: str | None, target: str | None,
    max_trials: int | None, reference_point: str | None, storage: str | None,
) -> None:
    """Draw a plot of STUDY's trials to an .html or .png file."""
    output = output or f"{study_name}-{kind}.html"
    ext = os.path.splitext(output)[1].lower()
    if ext not in (".html", ".png"):
        raise click.BadParameter(f"the output must end in .html or .png, got {output!r}", param_hint="'-o'")
    names = [p.strip() for p in params.split(",") if p.strip()] if params else None
    if names is not None and kind not in _TAKES_PARAMS:
        raise click.BadParameter(f"--kind {kind} takes no parameters", param_hint="'--params'")
    if target is not None and kind in _NO_TARGET:
        raise click.BadParameter(f"--kind {kind} takes no target", param_hint="'--target'")
    if reference_point is not None and kind != "hypervolume":
        raise click.BadParameter("only --kind hypervolume takes one", param_hint="'--reference-point'")
    url = storage_url(ctx, storage)
    study = open_study(open_storage(url), url, study_name)
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    if names is not None:
        kwargs["params"] = names
    if target is not None:
        kwargs.update(target=target, target_name=target)
    if max_trials is not None:
        kwargs["max_trials"] = max_trials
    if kind == "hypervolume":
        args.append(_reference_point(study, reference_point))
    try:
        if ext == ".png":
            try:
                import matplotlib
            except ImportError as e:
                raise ImportError("a .png needs matplotlib: pip install 'tunesmith[plot]'") from e
            matplotlib.use("Agg")
            from tunesmith.visualization import matplotlib as mpl_plots

            backend: Any = mpl_plots
        else:
            from tunesmith import visualization

            backend = visualization
        drawn = getattr(backend, KINDS[kind])(study, *args, **kwargs)
    except ImportError as e:
        hint = "" if "tunesmith[plot]" in str(e) else "; pip install 'tunesmith[plot]'"
        raise click.ClickException(f"{e}{hint}") from e
    except ValueError as e:
        raise click.ClickException(f"{kind}: {e}") from e
    if ext == ".png":
        figure = (drawn.flat[0] if hasattr(drawn, "flat") else drawn).figure
        figure.savefig(output, dpi=120, bbox_inches="tight")
    else:
        drawn.write_html(output, include_plotlyjs=True)
    click.echo(f"wrote {output}")


def _reference_point(study: Any, given: str | None) -> list[float]:
    """``--reference-point`` as numbers, or one past the worst COMPLETE trial in every objective
    (by a tenth of the objective's span, or 1 where it has none)."""
    n = len(study.directions)
    if given is not None:
        try:
            point = [float(v) for v in given.split(",")]
        except ValueError:
            point = []
        if len(point) != n:
            raise click.BadParameter(
                f"give {n} numbers (one per objective) separated by commas, got {given!r}",
                param_hint="'--reference-point'",
            )
        return point
    from tunesmith.trial import TrialState

    rows = [
        t.values for t in study.trials
        if t.state == TrialState.COMPLETE and t.values and len(t.values) == n and all(map(math.isfinite, t.values))
    ]
    if n < 2 or not rows:
        raise click.ClickException(
            f"hypervolume: the study has {n} objective(s) and {len(rows)} finished trials with all of them; "
            "it needs several objectives and at least one finished trial"
        )
    point = []
    for i, d in enumerate(study.directions):
        column = [float(r[i]) for r in rows]
        lo, hi = min(column), max(column)
        pad = (hi - lo) / 10 or 1.0
        point.append(lo - pad if str(getattr(d, "name", d)).lower().startswith("max") else hi + pad)
    click.echo(f"reference point: {','.join(f'{v:g}' for v in point)}")
    return point

"""The ``plot`` command: draw one of a study's plots to an HTML (plotly) or PNG (matplotlib) file. It only reads."""

from __future__ import annotations

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
    "edf": "plot_edf",
}
_TAKES_PARAMS = {"parallel", "slice", "importance", "contour", "rank"}


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
@command_storage_option
@click.pass_context
def plot_command(
    ctx: click.Context, study_name: str, kind: str, output: str | None, params: str | None, target: str | None,
    storage: str | None,
) -> None:
    """Draw a plot of STUDY's trials to an .html or .png file."""
    output = output or f"{study_name}-{kind}.html"
    ext = os.path.splitext(output)[1].lower()
    if ext not in (".html", ".png"):
        raise click.BadParameter(f"the output must end in .html or .png, got {output!r}", param_hint="'-o'")
    names = [p.strip() for p in params.split(",") if p.strip()] if params else None
    if names is not None and kind not in _TAKES_PARAMS:
        raise click.BadParameter(f"--kind {kind} takes no parameters", param_hint="'--params'")
    url = storage_url(ctx, storage)
    study = open_study(open_storage(url), url, study_name)
    kwargs: dict[str, Any] = {}
    if names is not None:
        kwargs["params"] = names
    if target is not None:
        if kind not in ("timeline", "pareto"):
            kwargs.update(target=target, target_name=target)
    try:
        if ext == ".png":
            import matplotlib

            matplotlib.use("Agg")
            from tunesmith.visualization import matplotlib as mpl_plots

            backend: Any = mpl_plots
        else:
            from tunesmith import visualization

            backend = visualization
        drawn = getattr(backend, KINDS[kind])(study, **kwargs)
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

"""Cost of tracker logging as the objective sees it: per report, with each logger against none, and against
calling the tracker inside the objective (the peers' way: ``wandb.log`` / ``mlflow.log_metric`` per report,
as in Ray Tune's ``setup_wandb`` tutorial and Optuna's removed callbacks' users).

Run from the repository root::

    python benchmarks/tracker_overhead.py                       # 8 trials x 50 reports, serial and 4 workers
    python benchmarks/tracker_overhead.py --trials 16 --reports 100 --workers 1

Each trial reports ``--reports`` times; the objective times each report call (and,
for the in-objective variants, the tracker call next to it) and keeps the mean in a
user attribute. ``loggers=[...]`` variants feed the trackers from the driver's thread,
so the objective pays only ``trial.report`` (the storage write it pays anyway); the
in-objective variants pay the tracker's call per report, and a run's start per trial
(shown apart, "setup/trial"). "end drain" is the wall time of ``optimize`` over the
no-logger run: what the final read and the trackers' closing add at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from _common import git_commit

import tunesmith
from tunesmith.samplers import RandomSampler

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")


def make_objective(n_reports: int, peer: str | None, root: str) -> Callable[[tunesmith.Trial], float]:
    def objective(trial: tunesmith.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        t_setup = time.perf_counter()
        run: Any = None
        if peer == "wandb":
            import wandb

            run = wandb.init(project="bench", group=trial.study.name if trial.study else None,
                             name=f"trial-{trial.number}", config=trial.params, dir=root, reinit="create_new")
        elif peer == "mlflow":
            import mlflow

            mlflow.set_tracking_uri(f"sqlite:///{root}/mlflow-peer.db")
            mlflow.set_experiment("bench")
            mlflow.start_run(run_name=f"trial-{trial.number}")
            mlflow.log_params(trial.params)
        setup = time.perf_counter() - t_setup
        spent = 0.0
        for step in range(1, n_reports + 1):
            loss = x / step
            t0 = time.perf_counter()
            trial.report(step, loss=loss, acc=1 - loss)
            if peer == "wandb":
                run.log({"loss": loss, "acc": 1 - loss}, step=step)
            elif peer == "mlflow":
                import mlflow

                mlflow.log_metrics({"loss": loss, "acc": 1 - loss}, step=step)
            spent += time.perf_counter() - t0
        if run is not None:
            run.finish()
        elif peer == "mlflow":
            import mlflow

            mlflow.end_run()
        trial.set_user_attr("report_s", spent / n_reports)
        trial.set_user_attr("setup_s", setup)
        return x

    return objective


def loggers_for(name: str, root: str) -> list[Any]:
    from tunesmith.integration import trackers

    return {
        "none": [], "wandb (in objective)": [], "mlflow (in objective)": [],
        "CSVLogger": [trackers.CSVLogger(root)], "JSONLogger": [trackers.JSONLogger(root)],
        "TensorBoardLogger": [trackers.TensorBoardLogger(root)],
        "MLflowLogger": [trackers.MLflowLogger(f"sqlite:///{root}/mlflow.db")],
        "WandbLogger": [trackers.WandbLogger(project="bench", dir=root)],
    }[name]


VARIANTS = ["none", "CSVLogger", "JSONLogger", "TensorBoardLogger", "MLflowLogger", "WandbLogger",
            "wandb (in objective)", "mlflow (in objective)"]


def prepare(root: str) -> None:
    """Imports, and MLflow's SQLite tables (made on first use: seconds, racy across processes), before timing."""
    import mlflow
    import tensorboardX  # noqa: F401
    import wandb  # noqa: F401

    for db in ("mlflow.db", "mlflow-peer.db"):
        mlflow.MlflowClient(f"sqlite:///{root}/{db}").search_experiments()


def run_one(variant: str, n_trials: int, n_reports: int, workers: int) -> dict[str, float]:
    root = tempfile.mkdtemp(prefix="tracker-bench-")
    try:
        prepare(root)
        peer = {"wandb (in objective)": "wandb", "mlflow (in objective)": "mlflow"}.get(variant)
        study = tunesmith.create_study(storage=f"sqlite:///{root}/s.db", sampler=RandomSampler(seed=0))
        t0 = time.perf_counter()
        study.optimize(make_objective(n_reports, peer, root), n_trials=n_trials, n_workers=workers,
                       loggers=loggers_for(variant, root), catch=())
        wall = time.perf_counter() - t0
        trials = study.trials
        assert all(t.state.name == "COMPLETE" for t in trials), [t.error for t in trials if t.error]
        return {
            "report_ms": 1000 * statistics.median(t.user_attrs["report_s"] for t in trials),
            "setup_ms": 1000 * statistics.median(t.user_attrs["setup_s"] for t in trials),
            "wall_s": wall,
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--reports", type=int, default=50)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--variants", nargs="+", default=VARIANTS)
    args = ap.parse_args()
    print(f"commit {git_commit()}, load average {os.getloadavg()[0]:.2f} at start, "
          f"{args.trials} trials x {args.reports} reports, SQLite", file=sys.stderr)
    rows = []
    for workers in args.workers:
        base = None
        for variant in args.variants:
            r = run_one(variant, args.trials, args.reports, workers)
            if variant == "none":
                base = r
            extra = r["report_ms"] - base["report_ms"] if base else float("nan")
            drain = r["wall_s"] - base["wall_s"] if base else float("nan")
            rows.append((workers, variant, r["report_ms"], extra, r["setup_ms"], r["wall_s"], drain))
            print(f"  {workers} worker(s) {variant:24s} {r['report_ms']:7.3f} ms/report", file=sys.stderr)
    print("| workers | logging | per report (objective) | over none | setup/trial (objective) | optimize wall | "
          "over none |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for workers, variant, rep, extra, setup, wall, drain in rows:
        print(f"| {workers} | {variant} | {rep:.3f} ms | {extra:+.3f} ms | {setup:.1f} ms | {wall:.2f} s | "
              f"{drain:+.2f} s |")
    print(f"\nload average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

"""scikit-learn searches: TuneSearchCV with early stopping vs RandomizedSearchCV and HalvingRandomSearchCV.

Run from the repository root::

    python benchmarks/sklearn_search.py                  # the training case: 3 data sets x seeds 0 1 2
    python benchmarks/sklearn_search.py --case sgd       # the per-call-overhead case (SGDClassifier everywhere)
    python benchmarks/sklearn_search.py --quick          # smoke run: 1 seed, 12 candidates

Two cases. ``train`` (the default) gives each data set a model whose training is what a user
tuning it would want to save, trained in ``steps`` steps by tunesmith:

* digits: ``MLPClassifier`` (hidden layer, ``alpha``, ``learning_rate_init``, ``batch_size``), 27 epochs
  (``max_iter=27``; tunesmith: one ``partial_fit`` epoch per step);
* breast_cancer: ``GradientBoostingClassifier`` with 100 trees (``learning_rate``, ``max_depth``, ``subsample``,
  ``max_features``); tunesmith: ``warm_start``, 9 steps of ~11 trees;
* wine: ``HistGradientBoostingClassifier`` with 100 boosting rounds (``learning_rate``, ``max_leaf_nodes``,
  ``min_samples_leaf``, ``l2_regularization``); tunesmith: ``warm_start``, 9 steps of ~11 rounds.

``sgd`` is the earlier yardstick: ``SGDClassifier`` (elastic net) for 27 epochs on all three, where
one ``partial_fit`` call costs about as much as a whole fit on the two small sets.

Every method searches the same space with the same candidate budget (``--candidates``), the
same 3-fold stratified CV, seed and ``n_jobs``, on features standardised once up front (a
quarter of each data set held out), with BLAS/OpenMP limited to one thread (``n_jobs`` decides
the parallelism; set ``OMP_NUM_THREADS`` to override):

* ``random``: ``RandomizedSearchCV``, every candidate trained its full budget;
* ``halving``: ``HalvingRandomSearchCV`` (factor 3): its resource is the model's own budget
  (epochs, trees, rounds: ``min_resources`` = budget / 27 or / 9, the same rungs as tunesmith's ASHA);
  ``n_samples`` in the ``sgd`` case;
* ``tunesmith``: ``TuneSearchCV(early_stopping=True, max_iters=steps)``: ASHA (rungs at 1, 3, 9... steps,
  the top third goes on), the default AutoSampler.

Per data set and seed: the wall time of ``fit`` (refit included), the best CV accuracy
(``best_score_``), the refit model's held-out accuracy, and the time from the start of
tunesmith's ``fit`` until a candidate that ran its whole budget first scored at least
RandomizedSearchCV's best CV score ("to equal"; also to within 0.5 point; printed per seed).
The table gives medians over seeds ("n/3": seeds where tunesmith reached it); ratios are
medians of per-seed ratios: "random / ts" of whole fits, "random / ts to equal" of
RandomizedSearchCV's search without its refit to tunesmith's time to equal ("-": not reached).
Target: >= 2x faster than ``RandomizedSearchCV`` at <= 0.5 point lower score. The load average is printed: the machine
may be shared, so the figures are a yardstick.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before NumPy loads: one thread per process, as n_jobs=1 means

import argparse  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import git_commit, table_lines  # noqa: E402

DATASETS = ("digits", "breast_cancer", "wine")


@dataclass
class Setup:
    """One data set's model: ``make(seed, full)`` builds it (``full``: trained its whole budget)."""

    name: str
    steps: int  # tunesmith's max_iters
    resource: str  # HalvingRandomSearchCV's resource
    max_resources: int | None
    min_resources: int | None

    def make(self, seed: int, full: bool) -> Any:
        from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier
        from sklearn.linear_model import SGDClassifier
        from sklearn.neural_network import MLPClassifier

        if self.name == "sgd":
            extra = {"max_iter": self.steps, "tol": None} if full else {}
            return SGDClassifier(penalty="elasticnet", random_state=seed, **extra)
        if self.name == "mlp":
            return MLPClassifier(max_iter=self.steps, random_state=seed)
        if self.name == "gb":
            return GradientBoostingClassifier(n_estimators=100, random_state=seed)
        return HistGradientBoostingClassifier(max_iter=100, random_state=seed)

    def space(self) -> dict[str, Any]:
        import scipy.stats as st

        if self.name == "sgd":
            return {"alpha": st.loguniform(1e-6, 1e-1), "l1_ratio": st.uniform(0, 1),
                    "loss": ["hinge", "log_loss", "modified_huber"], "average": [False, True]}
        if self.name == "mlp":
            return {"hidden_layer_sizes": [(32,), (64,), (128,)], "alpha": st.loguniform(1e-6, 1e-1),
                    "learning_rate_init": st.loguniform(1e-4, 3e-2), "batch_size": [32, 64, 200]}
        if self.name == "gb":
            return {"learning_rate": st.loguniform(1e-2, 1.0), "max_depth": [2, 3, 4, 5],
                    "subsample": st.uniform(0.5, 0.5), "max_features": ["sqrt", None]}
        return {"learning_rate": st.loguniform(1e-2, 1.0), "max_leaf_nodes": [7, 15, 31],
                "min_samples_leaf": [5, 10, 20], "l2_regularization": st.loguniform(1e-6, 10.0)}


def setups(case: str, epochs: int) -> dict[str, Setup]:
    if case == "sgd":
        return {d: Setup("sgd", epochs, "n_samples", None, None) for d in DATASETS}
    return {
        "digits": Setup("mlp", epochs, "max_iter", epochs, max(1, epochs // 27)),
        "breast_cancer": Setup("gb", 9, "n_estimators", 100, 11),
        "wine": Setup("hgb", 9, "max_iter", 100, 11),
    }


def load(name: str, seed: int) -> tuple[Any, Any, Any, Any]:
    from sklearn import datasets
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
    return X_train, X_test, y_train, y_test


def search(method: str, setup: Setup, seed: int, candidates: int, n_jobs: int) -> Any:
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV, RandomizedSearchCV, StratifiedKFold

    from tunesmith.sklearn import TuneSearchCV

    cv = StratifiedKFold(3, shuffle=True, random_state=seed)
    if method == "tunesmith":
        return TuneSearchCV(setup.make(seed, full=False), setup.space(), n_trials=candidates, cv=cv,
                            early_stopping=True, max_iters=setup.steps, random_state=seed, n_jobs=n_jobs)
    if method == "random":
        return RandomizedSearchCV(setup.make(seed, full=True), setup.space(), n_iter=candidates, cv=cv,
                                  random_state=seed, n_jobs=n_jobs)
    extra: dict[str, Any] = {}
    if setup.max_resources is not None:
        extra = {"max_resources": setup.max_resources, "min_resources": setup.min_resources}
    return HalvingRandomSearchCV(setup.make(seed, full=True), setup.space(), n_candidates=candidates, factor=3,
                                 resource=setup.resource, cv=cv, random_state=seed, n_jobs=n_jobs, **extra)


def time_to_reach(est: Any, started: float, target: float) -> float:
    """Seconds from the start of ``fit`` until a candidate that ran its whole budget scored >= ``target``."""
    from tunesmith.sklearn._objective import RESULT_ATTR

    finishes = []
    for t in est.study_.trials:
        record = t.user_attrs.get(RESULT_ATTR)
        if record is None or t.finished_at is None or record.get("n_iters", est.max_iters) < est.max_iters:
            continue
        finishes.append((t.finished_at - started, statistics.fmean(record["test"]["score"])))
    reached = [s for s, score in sorted(finishes) if score >= target - 1e-12]
    return reached[0] if reached else math.inf


def run_one(method: str, dataset: str, setup: Setup, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    X_train, X_test, y_train, y_test = load(dataset, seed)
    est = search(method, setup, seed, args.candidates, args.n_jobs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wall = time.time()
        start = time.perf_counter()
        est.fit(X_train, y_train)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "search": seconds - est.refit_time_, "cv": 100 * float(est.best_score_),
            "test": 100 * float(est.score(X_test, y_test)), "est": est, "wall": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", choices=("train", "sgd"), default="train")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--candidates", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=27, help="epochs of the partial_fit models (MLP, SGD)")
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="1 seed, 12 candidates, 9 epochs")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.candidates, args.epochs = [0], 12, 9
    import sklearn

    load0 = os.getloadavg()[0]
    began = time.perf_counter()
    methods = ("random", "halving", "tunesmith")
    plan = setups(args.case, args.epochs)
    rows = []
    for dataset in args.datasets:
        setup = plan[dataset]
        runs: dict[str, list[dict[str, Any]]] = {m: [] for m in methods}
        for seed in args.seeds:
            for method in methods:
                out = run_one(method, dataset, setup, seed, args)
                runs[method].append(out)
            best = runs["random"][-1]["cv"] / 100
            ts = runs["tunesmith"][-1]
            ts["equal"] = time_to_reach(ts["est"], ts["wall"], best)
            ts["near"] = time_to_reach(ts["est"], ts["wall"], best - 0.005)
            for method in methods:
                out = runs[method][-1]
                more = f"  to equal {out['equal']:.2f} s, within 0.5 pt {out['near']:.2f} s" if "equal" in out else ""
                print(f"{dataset:14s} {setup.name:4s} seed {seed} {method:9s} {out['seconds']:7.2f} s  "
                      f"cv {out['cv']:.2f}  test {out['test']:.2f}{more}", flush=True)

        def med(method: str, key: str) -> float:
            return statistics.median(r[key] for r in runs[method])  # noqa: B023

        def ratio(method: str, key: str, runs: dict[str, list[dict[str, Any]]] = runs) -> float:
            mine = "search" if key == "equal" else "seconds"  # to equal: both without their refit
            return statistics.median(a[mine] / b[key] for a, b in zip(runs[method], runs["tunesmith"], strict=True))

        def reach(key: str, runs: dict[str, list[dict[str, Any]]] = runs) -> str:
            reached, value = sum(r[key] < math.inf for r in runs["tunesmith"]), med("tunesmith", key)
            return f"{value:.2f} s ({reached}/{len(args.seeds)})" if value < math.inf else f"not reached ({reached}/" \
                f"{len(args.seeds)})"

        rows.append([
            f"{dataset} ({setup.name})",
            *(f"{med(m, 'seconds'):.2f} s" for m in methods),
            reach("equal"), reach("near"),
            f"{ratio('random', 'seconds'):.2f}x",
            f"{ratio('random', 'equal'):.2f}x" if med("tunesmith", "equal") < math.inf else "-",
            f"{ratio('halving', 'seconds'):.2f}x",
            *(f"{med(m, 'cv'):.2f}" for m in methods),
            f"{med('tunesmith', 'cv') - med('random', 'cv'):+.2f}",
            *(f"{med(m, 'test'):.2f}" for m in methods),
            f"{med('tunesmith', 'test') - med('random', 'test'):+.2f}",
        ])
    head = ["data set (model)", "random fit", "halving fit", "tunesmith fit", "ts to equal random's best",
            "ts to within 0.5 pt", "random / ts", "random / ts to equal", "halving / ts", "random cv %", "halving cv %",
            "ts cv %", "ts - random cv", "random test %", "halving test %", "ts test %", "ts - random test"]
    print()
    print(f"case {args.case}; commit {git_commit()}, scikit-learn {sklearn.__version__}, {os.cpu_count()} CPUs, "
          f"n_jobs={args.n_jobs}, seeds {args.seeds}, {args.candidates} candidates, {args.epochs} epochs; load "
          f"average at start {load0:.2f}, at end {os.getloadavg()[0]:.2f}; {time.perf_counter() - began:.0f} s in all")
    print("\n".join(table_lines(head, rows)))


if __name__ == "__main__":
    main()

"""scikit-learn searches: TuneSearchCV with early stopping vs RandomizedSearchCV and HalvingRandomSearchCV.

Run from the repository root::

    python benchmarks/sklearn_search.py                  # 3 data sets x 3 seeds (a few minutes on 2 busy cores)
    python benchmarks/sklearn_search.py --quick          # smoke run: 1 seed, a smaller budget
    python benchmarks/sklearn_search.py --n-jobs 2 --seeds 0 1 2 3 4

Every method searches the same space for the same ``SGDClassifier`` with the same
candidate budget (``--candidates``), the same 3-fold stratified CV, the same seed and
``n_jobs``, on features standardised once up front (a quarter of each data set held out):

* ``random``: ``RandomizedSearchCV``, each candidate trained ``--epochs`` epochs (``max_iter``, ``tol=None``);
* ``halving``: ``HalvingRandomSearchCV`` (factor 3; its resource is the number of samples, its default),
  each fit ``--epochs`` epochs as well;
* ``tunesmith``: ``TuneSearchCV(early_stopping=True, max_iters=--epochs)``: one ``partial_fit`` epoch per
  step on every fold, ASHA (rungs 1, 3, 9... epochs, the top third goes on), the default AutoSampler.

Per data set and seed: the wall time of ``fit`` (refit included), the best CV accuracy
(``best_score_``) and the refit model's accuracy on the held-out quarter. The table gives
medians over seeds, the time ratio ``random / tunesmith`` (and ``halving / tunesmith``) and the
score differences in points (tunesmith minus the other). Target: >= 2x faster than
``RandomizedSearchCV`` at <= 0.5 point lower score. The load average is printed: the machine
is shared, so the figures are a yardstick.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import git_commit, table_lines

DATASETS = ("digits", "breast_cancer", "wine")


def load(name: str, seed: int) -> tuple[Any, Any, Any, Any]:
    from sklearn import datasets
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
    return X_train, X_test, y_train, y_test


def space() -> dict[str, Any]:
    import scipy.stats as st

    return {
        "alpha": st.loguniform(1e-6, 1e-1),
        "l1_ratio": st.uniform(0, 1),
        "loss": ["hinge", "log_loss", "modified_huber"],
        "average": [False, True],
    }


def search(method: str, seed: int, candidates: int, epochs: int, n_jobs: int) -> Any:
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.linear_model import SGDClassifier
    from sklearn.model_selection import HalvingRandomSearchCV, RandomizedSearchCV, StratifiedKFold

    from tunesmith.sklearn import TuneSearchCV

    cv = StratifiedKFold(3, shuffle=True, random_state=seed)
    if method == "tunesmith":
        sgd = SGDClassifier(penalty="elasticnet", random_state=seed)
        return TuneSearchCV(sgd, space(), n_trials=candidates, cv=cv, early_stopping=True, max_iters=epochs,
                            random_state=seed, n_jobs=n_jobs)
    sgd = SGDClassifier(penalty="elasticnet", max_iter=epochs, tol=None, random_state=seed)
    if method == "random":
        return RandomizedSearchCV(sgd, space(), n_iter=candidates, cv=cv, random_state=seed, n_jobs=n_jobs)
    return HalvingRandomSearchCV(sgd, space(), n_candidates=candidates, factor=3, cv=cv, random_state=seed,
                                 n_jobs=n_jobs)


def run_one(method: str, dataset: str, seed: int, args: argparse.Namespace) -> dict[str, float]:
    X_train, X_test, y_train, y_test = load(dataset, seed)
    est = search(method, seed, args.candidates, args.epochs, args.n_jobs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        est.fit(X_train, y_train)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "cv": 100 * float(est.best_score_), "test": 100 * float(est.score(X_test, y_test))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--candidates", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=27)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="1 seed, 12 candidates, 9 epochs")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.candidates, args.epochs = [0], 12, 9
    import sklearn

    load0 = os.getloadavg()[0]
    began = time.perf_counter()
    methods = ("random", "halving", "tunesmith")
    rows = []
    for dataset in args.datasets:
        runs: dict[str, list[dict[str, float]]] = {m: [] for m in methods}
        for seed in args.seeds:
            for method in methods:
                out = run_one(method, dataset, seed, args)
                runs[method].append(out)
                print(f"{dataset:14s} seed {seed} {method:9s} {out['seconds']:7.2f} s  cv {out['cv']:.2f}  "
                      f"test {out['test']:.2f}", flush=True)

        def med(method: str, key: str) -> float:
            return statistics.median(r[key] for r in runs[method])  # noqa: B023

        ratios = {m: statistics.median(a["seconds"] / b["seconds"] for a, b in
                                       zip(runs[m], runs["tunesmith"], strict=True)) for m in ("random", "halving")}
        rows.append([
            dataset,
            *(f"{med(m, 'seconds'):.2f} s" for m in methods),
            f"{ratios['random']:.2f}x", f"{ratios['halving']:.2f}x",
            *(f"{med(m, 'cv'):.2f}" for m in methods),
            f"{med('tunesmith', 'cv') - med('random', 'cv'):+.2f}",
            *(f"{med(m, 'test'):.2f}" for m in methods),
            f"{med('tunesmith', 'test') - med('random', 'test'):+.2f}",
        ])
    head = ["data set", "random fit", "halving fit", "tunesmith fit", "random / ts", "halving / ts",
            "random cv %", "halving cv %", "ts cv %", "ts - random cv", "random test %", "halving test %",
            "ts test %", "ts - random test"]
    print()
    print(f"commit {git_commit()}, scikit-learn {sklearn.__version__}, {os.cpu_count()} CPUs, n_jobs={args.n_jobs}, "
          f"seeds {args.seeds}, {args.candidates} candidates, {args.epochs} epochs; load average at start "
          f"{load0:.2f}, at end {os.getloadavg()[0]:.2f}; {time.perf_counter() - began:.0f} s in all")
    print("\n".join(table_lines(head, rows)))


if __name__ == "__main__":
    main()

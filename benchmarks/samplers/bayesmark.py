"""A port of Bayesmark's scikit-learn tuning tasks (Uber's ``bayesmark``, ``sklearn_funcs.py``).

The ``bayesmark`` package no longer imports with current scikit-learn and numpy, so its
task definitions are restated here: the nine models, their search spaces (``api_config``)
and fixed parameters, the scikit-learn data sets (without ``boston``, which scikit-learn
removed), the metrics, and the evaluation: the data are shuffled and split 80/20 with
seed 0 (``train_test_split(test_size=0.2, random_state=0)``), and the loss is minus the
mean 5-fold ``cross_val_score`` on the 80 % part (Bayesmark's ``CV_SPLITS = 5``).

Differences from Bayesmark, forced by scikit-learn >= 1.8 or by the libraries compared:

- ``"logit"`` parameters are searched as uniform floats on the logit scale and mapped
  back with the logistic function, which is what Bayesmark's space warping gives an
  optimizer; neither tunesmith nor Optuna has a logit scale of its own.
- ``lasso``/``linear`` classifiers: ``LogisticRegression(solver="liblinear")`` no longer
  fits several classes, and ``multi_class="ovr"`` is gone; a ``OneVsRestClassifier``
  around it is the same one-versus-rest model. ``penalty`` is spelled ``l1_ratio``.
- ``lasso``/``linear`` regressors: ``normalize`` was removed from scikit-learn (1.2), so
  that boolean parameter is dropped.

Task names are ``bayesmark-{model}-{dataset}-{metric}``, e.g. ``bayesmark-SVM-digits-acc``.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from benchmarks.samplers.problems import Categorical, Float, Int, Param, Problem, Space

CV_SPLITS = 5
DATASETS = {"breast": "clf", "digits": "clf", "iris": "clf", "wine": "clf", "diabetes": "reg"}
METRICS = {"clf": ("acc", "nll"), "reg": ("mae", "mse")}
_SCORERS = {"nll": "neg_log_loss", "acc": "accuracy", "mae": "neg_mean_absolute_error",
            "mse": "neg_mean_squared_error"}
MODELS = ("DT", "MLP-adam", "MLP-sgd", "RF", "SVM", "ada", "kNN", "lasso", "linear")


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _real(name: str, space: str, low: float, high: float) -> Param:
    """A Bayesmark ``real`` parameter; ``logit`` becomes a float on the logit scale (see the module doc)."""
    if space == "logit":
        return Float(f"logit_{name}", _logit(low), _logit(high))
    return Float(name, low, high, log=space == "log")


def _bool(name: str) -> Param:
    return Categorical(name, (False, True))


# Search spaces, as in Bayesmark's sklearn_funcs.py (the same ranges and scales).
KNN: Space = (Int("n_neighbors", 1, 25), Int("p", 1, 4))
SVM: Space = (_real("C", "log", 1.0, 1e3), _real("gamma", "log", 1e-4, 1e-3), _real("tol", "log", 1e-5, 1e-1))
DT: Space = (
    Int("max_depth", 1, 15),
    _real("min_samples_split", "logit", 0.01, 0.99),
    _real("min_samples_leaf", "logit", 0.01, 0.49),
    _real("min_weight_fraction_leaf", "logit", 0.01, 0.49),
    _real("max_features", "logit", 0.01, 0.99),
    _real("min_impurity_decrease", "linear", 0.0, 0.5),
)
RF: Space = DT  # the same six parameters (Bayesmark lists them in another order)
MLP_ADAM: Space = (
    Int("hidden_layer_sizes", 50, 200),
    _real("alpha", "log", 1e-5, 1e1),
    Int("batch_size", 10, 250),
    _real("learning_rate_init", "log", 1e-5, 1e-1),
    _real("tol", "log", 1e-5, 1e-1),
    _real("validation_fraction", "logit", 0.1, 0.9),
    _real("beta_1", "logit", 0.5, 0.99),
    _real("beta_2", "logit", 0.9, 1.0 - 1e-6),
    _real("epsilon", "log", 1e-9, 1e-6),
)
MLP_SGD: Space = (
    Int("hidden_layer_sizes", 50, 200),
    _real("alpha", "log", 1e-5, 1e1),
    Int("batch_size", 10, 250),
    _real("learning_rate_init", "log", 1e-5, 1e-1),
    _real("power_t", "logit", 0.1, 0.9),
    _real("tol", "log", 1e-5, 1e-1),
    _real("momentum", "logit", 0.001, 0.999),
    _real("validation_fraction", "logit", 0.1, 0.9),
)
ADA: Space = (Int("n_estimators", 10, 100), _real("learning_rate", "log", 1e-4, 1e1))
LOGISTIC: Space = (_real("C", "log", 1e-2, 1e2), _real("intercept_scaling", "log", 1e-2, 1e2))  # lasso and linear
LASSO_REG: Space = (
    _real("alpha", "log", 1e-2, 1e2), _bool("fit_intercept"), Int("max_iter", 10, 5000, log=True),
    _real("tol", "log", 1e-5, 1e-1), _bool("positive"),
)
RIDGE_REG: Space = (
    _real("alpha", "log", 1e-2, 1e2), _bool("fit_intercept"), Int("max_iter", 10, 5000, log=True),
    _real("tol", "log", 1e-4, 1e-1),
)


def _estimator(model: str, kind: str, params: Mapping[str, Any]) -> Any:
    """The scikit-learn estimator with Bayesmark's fixed parameters plus ``params``."""
    from sklearn import ensemble, linear_model, multiclass, neighbors, neural_network, svm, tree

    p = {k: v for k, v in params.items() if not k.startswith("logit_")}
    p.update({k[len("logit_"):]: 1.0 / (1.0 + math.exp(-v)) for k, v in params.items() if k.startswith("logit_")})
    clf = kind == "clf"
    if model == "kNN":
        return (neighbors.KNeighborsClassifier if clf else neighbors.KNeighborsRegressor)(**p)
    if model == "SVM":
        return svm.SVC(kernel="rbf", probability=True, **p) if clf else svm.SVR(kernel="rbf", **p)
    if model == "DT":
        return (tree.DecisionTreeClassifier if clf else tree.DecisionTreeRegressor)(max_leaf_nodes=None, **p)
    if model == "RF":
        cls = ensemble.RandomForestClassifier if clf else ensemble.RandomForestRegressor
        return cls(n_estimators=10, max_leaf_nodes=None, **p)
    if model in ("MLP-adam", "MLP-sgd"):
        fixed: dict[str, Any] = {"solver": "adam", "early_stopping": True}
        if model == "MLP-sgd":
            fixed = {"solver": "sgd", "early_stopping": True, "learning_rate": "invscaling", "nesterovs_momentum": True}
            if not clf:
                fixed["activation"] = "tanh"  # Bayesmark: "regression crashes often with relu"
        return (neural_network.MLPClassifier if clf else neural_network.MLPRegressor)(**fixed, **p)
    if model == "ada":
        return (ensemble.AdaBoostClassifier if clf else ensemble.AdaBoostRegressor)(**p)
    if model in ("lasso", "linear"):
        if clf:
            l1 = 1.0 if model == "lasso" else 0.0
            return multiclass.OneVsRestClassifier(
                linear_model.LogisticRegression(l1_ratio=l1, solver="liblinear", fit_intercept=True, **p))
        if model == "lasso":
            return linear_model.Lasso(**p)
        return linear_model.Ridge(solver="auto", **p)
    raise ValueError(f"unknown Bayesmark model {model!r}; expected one of {MODELS}")


def _space(model: str, kind: str) -> Space:
    spaces: dict[str, Space] = {
        "kNN": KNN, "SVM": SVM, "DT": DT, "RF": RF, "MLP-adam": MLP_ADAM, "MLP-sgd": MLP_SGD, "ada": ADA,
        "lasso": LOGISTIC if kind == "clf" else LASSO_REG, "linear": LOGISTIC if kind == "clf" else RIDGE_REG,
    }
    return spaces[model]


@functools.cache
def _data(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    loader: Callable[..., Any] = getattr(datasets, "load_breast_cancer" if dataset == "breast" else f"load_{dataset}")
    X, y = loader(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.2, random_state=0, shuffle=True)
    return X_train, y_train


def evaluate(model: str, dataset: str, metric: str, params: Mapping[str, Any]) -> float:
    """Minus the mean 5-fold cross-validation score (a loss: lower is better)."""
    from sklearn.metrics import get_scorer
    from sklearn.model_selection import cross_val_score

    X, y = _data(dataset)
    estimator = _estimator(model, DATASETS[dataset], params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings: "we expect BO to try weird stuff"
        scores = cross_val_score(estimator, X, y, scoring=get_scorer(_SCORERS[metric]), cv=CV_SPLITS,
                                 error_score="raise")
    loss = -float(np.mean(scores))
    if not math.isfinite(loss):
        raise ValueError(f"{model}-{dataset}-{metric}: non-finite loss {loss} for {dict(params)}")
    return loss


def task_names(models: tuple[str, ...] = MODELS, datasets: tuple[str, ...] = tuple(DATASETS)) -> list[str]:
    """Every model x data set x metric task (the full Bayesmark sklearn set here: 9 x 5 x 2 = 90)."""
    return [f"bayesmark-{m}-{d}-{metric}" for m in models for d in datasets for metric in METRICS[DATASETS[d]]]


def bayesmark_problem(name: str) -> Problem:
    model, dataset, metric = name[len("bayesmark-"):].rsplit("-", 2)
    if model not in MODELS or dataset not in DATASETS or metric not in METRICS[DATASETS[dataset]]:
        raise ValueError(f"unknown Bayesmark task {name!r}: models {MODELS}, data sets {tuple(DATASETS)}, "
                         f"metrics {METRICS}")
    return Problem(name, "bayesmark", _space(model, DATASETS[dataset]),
                   functools.partial(evaluate, model, dataset, metric), None)

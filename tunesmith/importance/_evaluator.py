"""What every importance evaluator is: a function of the encoded trials to one number per parameter."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

import numpy as np

from tunesmith.importance._encoding import ParamTable
from tunesmith.importance._trials import Target, read_table

__all__ = ["BaseImportanceEvaluator", "ranked"]


class BaseImportanceEvaluator(abc.ABC):
    """An importance evaluator; subclasses implement ``_importances(table)``.

    ``_importances`` receives the COMPLETE trials as a ``ParamTable`` (parameters in the unit
    interval of their own measure, NaN where absent; a lower-is-better ``loss``) and returns one
    non-negative number per parameter, in the table's order.
    """

    def evaluate(
        self,
        study: Any,
        params: Sequence[str] | None = None,
        *,
        target: Target | None = None,
        directions: str | Sequence[Any] | None = None,
    ) -> dict[str, float]:
        """Unnormalised importances of ``study``'s parameters, highest first (Optuna's method).

        Prefer :func:`~tunesmith.importance.get_param_importances`, which takes the same arguments.
        """
        table = read_table(study, params=params, target=target, directions=directions)
        return ranked(table.names, self._importances(table))

    @abc.abstractmethod
    def _importances(self, table: ParamTable) -> np.ndarray:
        """One non-negative importance per column of ``table``."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k.lstrip('_')}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


def ranked(names: Sequence[str], importances: np.ndarray) -> dict[str, float]:
    """``{name: importance}``, highest first; ties keep the order of ``names``."""
    order = np.argsort(-np.asarray(importances, dtype=float), kind="stable")
    return {names[i]: float(importances[i]) for i in order}

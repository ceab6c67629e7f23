"""scikit-learn's searches as tunesmith studies: ``TuneSearchCV`` and ``TuneGridSearchCV``.

Change ``from sklearn.model_selection import RandomizedSearchCV`` to
``from tunesmith.sklearn import TuneSearchCV`` (``GridSearchCV``: ``TuneGridSearchCV``); the
attributes (``best_params_``, ``cv_results_``...) are the same, plus ``study_``. See
``docs/migration-sklearn.md`` for every difference.
"""

from __future__ import annotations

from tunesmith.sklearn._search import TuneGridSearchCV, TuneSearchCV

__all__ = ["TuneGridSearchCV", "TuneSearchCV"]

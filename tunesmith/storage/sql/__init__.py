"""SQL storage (SQLAlchemy Core): SQLite, the embedded default, and PostgreSQL.

One access layer (:mod:`._storage`, :mod:`._session`, :mod:`._statements`,
:mod:`._schema`, :mod:`._database`) and one strategy per backend for what differs
(:mod:`.sqlite`, :mod:`.postgres`, behind :class:`._strategy.Strategy`), chosen once
from the URL. Importing this package imports SQLAlchemy; ``tunesmith.storage`` does
not until an SQL storage is asked for.
"""

from __future__ import annotations

from tunesmith.storage.sql._storage import SQLStorage

__all__ = ["SQLStorage"]

"""Tables of the SQL storage (portable: SQLite and PostgreSQL), the schema check and its migrations.

JSON is kept in TEXT columns written by Python's json (NaN and infinities survive,
which a JSON column type would reject). The first objective is copied to a DOUBLE
column ``value`` so that the best trial is an index lookup.

Schema versions:

1. The study row holds the counters: ``next_number`` (the next trial number) and
   ``version`` (stamped on every trial a write changes). Writers of a study take
   turns on that row.
2. On PostgreSQL the counters are gone from the study row (see :mod:`.postgres`): a trial's
   ``version`` is the id of the transaction that last wrote it and its number is the
   study's largest plus one. The two columns stay 0, pinned by a CHECK, so that a
   tunesmith of schema 1 still running against a migrated database fails on its first
   write instead of writing versions that readers would skip. SQLite is unchanged.
3. Trials carry ``attempt`` (the lease token: every write of a running trial must name
   the attempt that holds it) and ``owner`` (the process that started it). Trials of
   an older database have attempt 0.

Opening a database read-only never creates, migrates or otherwise writes anything; a
database of another schema version is then refused with :class:`SchemaVersionError`.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    select,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.schema import AddConstraint

from tunesmith.exceptions import SchemaVersionError, StorageError

SCHEMA_VERSION = 3

metadata = MetaData()

_NO_COUNTERS = "ck_tunesmith_studies_no_counters"

studies = Table(
    "tunesmith_studies", metadata,
    Column("study_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(512), nullable=False, unique=True),
    Column("directions", Text, nullable=False),
    Column("metric_names", Text, nullable=False),
    Column("next_number", Integer, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("attrs", Text, nullable=False),
    # PostgreSQL keeps no counters on the study row (schema 2); see the module docstring.
    CheckConstraint("next_number = 0 AND version = 0", name=_NO_COUNTERS).ddl_if(dialect="postgresql"),
)

study_params = Table(
    "tunesmith_study_params", metadata,
    Column("study_id", Integer, ForeignKey("tunesmith_studies.study_id"), primary_key=True),
    Column("name", String(512), primary_key=True),
    Column("distribution", Text, nullable=False),
)

trials = Table(
    "tunesmith_trials", metadata,
    Column("trial_id", Integer, primary_key=True, autoincrement=True),
    Column("study_id", Integer, ForeignKey("tunesmith_studies.study_id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("state", SmallInteger, nullable=False),
    Column("params", Text, nullable=False),
    Column("value", Double, nullable=True),
    Column("values_json", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("user_attrs", Text, nullable=False),
    Column("system_attrs", Text, nullable=False),
    Column("started_at", Double, nullable=True),
    Column("finished_at", Double, nullable=True),
    Column("heartbeat_at", Double, nullable=True),
    Column("last_step", BigInteger, nullable=True),
    Column("last_result", Text, nullable=True),
    Column("version", BigInteger, nullable=False),
    Column("attempt", Integer, nullable=False, server_default="0"),  # schema 3
    Column("owner", String(512), nullable=True),  # schema 3
    UniqueConstraint("study_id", "number", name="uq_tunesmith_trials_number"),
    Index("ix_tunesmith_trials_version", "study_id", "version"),
    Index("ix_tunesmith_trials_state_value", "study_id", "state", "value"),
    # The queue: the oldest WAITING trial, looked up at every start_trial.
    Index("ix_tunesmith_trials_state_number", "study_id", "state", "number"),
)

reports = Table(
    "tunesmith_reports", metadata,
    Column("report_id", Integer, primary_key=True, autoincrement=True),
    Column("trial_id", Integer, ForeignKey("tunesmith_trials.trial_id"), nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("metrics", Text, nullable=False),
    Column("reported_at", Double, nullable=False),
    Index("ix_tunesmith_reports_trial", "trial_id", "report_id"),
)

meta = Table(
    "tunesmith_meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)


def check_schema(engine: Engine, url: str) -> None:
    """Read-only: StorageError unless the database holds tunesmith tables of this schema version.

    Nothing is created or migrated, and no lock is taken.
    """
    with engine.connect().execution_options(tunesmith_read=True) as conn:
        names = set(inspect(conn).get_table_names())
        if not names:
            raise StorageError(f"{url} has no tunesmith tables (it holds no studies; nothing was created)")
        if meta.name not in names:
            raise StorageError(
                f"{url} is not a tunesmith database: it holds other tables ({', '.join(sorted(names)[:5])})"
            )
        row = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).first()
    found = int(row[0]) if row else 0
    if found > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{url} was written by a newer tunesmith (schema version {found}; this version "
            f"reads {SCHEMA_VERSION}); upgrade tunesmith to read it"
        )
    if found < SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{url} has schema version {found}, older than this tunesmith's {SCHEMA_VERSION}; it is "
            "migrated when opened for writing (e.g. by a run or a worker), never by a read"
        )


def ensure_schema(engine: Engine, url: str) -> None:
    """Create the tables in an empty database, migrate an older one; refuse foreign or newer ones.

    Nothing is written unless the database holds no tables at all or is a tunesmith
    database of an older schema, so a file that is not ours is left untouched (an empty
    SQLite file becomes a tunesmith database).
    """
    try:
        with engine.begin() as conn:  # SQLite: BEGIN IMMEDIATE, so creators take turns
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(74201)")
            names = set(inspect(conn).get_table_names())
            if not names:
                metadata.create_all(conn)
                conn.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
                return
            if meta.name not in names:
                raise StorageError(
                    f"{url!r} holds other tables ({', '.join(sorted(names)[:5])}) and is not a "
                    "tunesmith database; point tunesmith at a new file or database"
                )
            row = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).first()
            found = int(row[0]) if row else 0
            if found in _MIGRATIONS:  # under the lock above: one opener migrates, the others wait
                for version in range(found, SCHEMA_VERSION):
                    _MIGRATIONS[version](conn)
                conn.execute(meta.update().where(meta.c.key == "schema_version").values(value=str(SCHEMA_VERSION)))
                return
    except StorageError:
        raise
    except Exception as e:  # e.g. "file is not a database"
        raise StorageError(f"cannot open {url!r} as a tunesmith database: {e}") from e
    if found > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{url!r} was written by a newer tunesmith (schema version {found}; this version "
            f"reads {SCHEMA_VERSION}); upgrade tunesmith to use it"
        )
    if found < SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{url!r} has schema version {found}, older than this tunesmith's {SCHEMA_VERSION}, "
            "and no migration exists for it"
        )


def _migrate_1_to_2(conn: Connection) -> None:
    """PostgreSQL: take the counters off the study row (SQLite: nothing changes)."""
    if conn.dialect.name != "postgresql":
        return
    # Versions become transaction ids from now on, all above 1 (the first normal xid is 3):
    # every existing trial is "changed at version 1", so a reader starting at 0 sees it once.
    conn.execute(trials.update().where(trials.c.version != 1).values(version=1))
    conn.execute(studies.update().values(next_number=0, version=0))
    conn.execute(AddConstraint(next(c for c in studies.constraints if c.name == _NO_COUNTERS)))


def _migrate_2_to_3(conn: Connection) -> None:
    """Both dialects: the lease token and the owner of each trial (see the module docstring)."""
    conn.exec_driver_sql(f"ALTER TABLE {trials.name} ADD COLUMN attempt INTEGER DEFAULT 0 NOT NULL")
    conn.exec_driver_sql(f"ALTER TABLE {trials.name} ADD COLUMN owner VARCHAR(512)")


# schema version -> the step that brings a database of that version to the next one
_MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _migrate_1_to_2, 2: _migrate_2_to_3}

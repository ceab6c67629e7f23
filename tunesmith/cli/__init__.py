"""The ``tunesmith`` command: look at, export and delete studies, and run workers on them.

Commands (``--storage URL`` before or after the command, or ``TUNESMITH_STORAGE``;
default ``sqlite:///tunesmith.db`` in the current directory)::

    tunesmith ls                                  # studies, trials per state, best values
    tunesmith show STUDY --state failed --limit 20
    tunesmith best STUDY --json
    tunesmith export STUDY --format csv -o trials.csv
    tunesmith diagnose STUDY [--trial N]          # what the learning curves say
    tunesmith plot STUDY --kind history -o h.html # or .png (matplotlib)
    tunesmith rm STUDY                            # asks first; --yes does not
    tunesmith worker --study STUDY --objective module:function

``ls``, ``show``, ``best``, ``export``, ``diagnose`` and ``plot`` open the storage read-only: they write
nothing, and a SQLite file that does not exist is reported (exit status 2), never
created. ``rm`` and ``worker`` write. Ctrl-C ends any command with ``interrupted``
and exit status 130.
"""

from __future__ import annotations

from tunesmith.cli._main import cli, main

__all__ = ["cli", "main"]

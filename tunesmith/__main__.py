"""``python -m tunesmith``: the same as the ``tunesmith`` command."""

from __future__ import annotations

from tunesmith.cli import main

if __name__ == "__main__":
    main()

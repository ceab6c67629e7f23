"""The columns of ConsoleReporter's table: which fit the console, how wide, under which header.

Numbers are never cut: a column is shown at the width its widest cell needs or not at
all. Columns are kept by priority (trial, state, the objective, then parameters and other
metrics in turn, the time last) while they fit; what width is left widens the headers,
which are abbreviated word by word (never cut to ``…``) where it runs short.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from rich import box
from rich.console import JustifyMethod
from rich.table import Table
from rich.text import Text

from tunesmith.trial import TrialState

STATE_STYLE: dict[TrialState, str] = {
    TrialState.WAITING: "dim", TrialState.RUNNING: "cyan", TrialState.COMPLETE: "green",
    TrialState.PRUNED: "yellow", TrialState.FAILED: "red", TrialState.PAUSED: "blue",
}
# Every state is drawn (table rows, counts): a state added to TrialState must get a style here.
if set(STATE_STYLE) != set(TrialState):
    raise RuntimeError(f"STATE_STYLE lacks {sorted(s.name for s in set(TrialState) - set(STATE_STYLE))}")

#: Shorter headers for Ray Tune's well-known result names, used when the full name does not fit.
HEADER_ALIASES = {"training_iteration": "iter", "timesteps_total": "ts", "episode_reward_mean": "reward"}
HEADER_MIN = 8  # headers are abbreviated down to this many characters (or their column's data width)
_EDGE = 0  # characters of a row besides its cells (box.SIMPLE_HEAD, show_edge=False, pad_edge=False) ...
_SEP = 2  # ... and between two cells (padding and separator, collapse_padding=True)
_WORD = re.compile(r"([^A-Za-z0-9]+)")  # separators between the words of a header


@dataclass(eq=False)
class Column:
    """One column: its full header, its cells, and how much it matters when width runs short."""

    key: str  # identifies the column across redraws (``param:lr``, ``metric:loss``, ``trial``)
    header: str
    cells: list[Text]
    priority: float  # lower is kept first
    required: bool = False  # shown even if the console is too narrow
    min_width: int = 0  # data width to reserve however narrow the cells are (the widest seen before)
    width: int = field(default=0, init=False)  # set by fit_columns

    @property
    def data_width(self) -> int:
        return max([self.min_width, 1, *(c.cell_len for c in self.cells)])

    def floor(self) -> int:
        """The narrowest this column may be: its data, under a header of at least HEADER_MIN characters."""
        alias = HEADER_ALIASES.get(self.header, self.header)
        return max(self.data_width, min(len(self.header), len(alias), HEADER_MIN))

    def title(self) -> str:
        """The header as it fits the column's width."""
        return abbreviate(self.header, self.width)


def fit_columns(columns: Sequence[Column], width: int) -> list[Column]:
    """The columns that fit in ``width`` characters, in their order, with ``Column.width`` set.

    Columns are taken by priority at their floor width (those that do not fit are left
    out); the width left over then goes to headers: first to those it makes whole (the
    cheapest first, an alias before the full name), the rest spread over abbreviated ones.
    """
    budget = width - _EDGE + _SEP
    chosen: list[Column] = []
    for col in sorted(columns, key=lambda c: (not c.required, c.priority)):
        col.width = col.floor()
        if col.required or col.width + _SEP <= budget:
            chosen.append(col)
            budget -= col.width + _SEP
    shown = [c for c in columns if c in chosen]
    while budget > 0:  # whole headers, cheapest first
        steps = [(w - c.width, i, w) for i, c in enumerate(shown) for w in _whole_widths(c) if w > c.width]
        steps = [s for s in steps if s[0] <= budget]
        if not steps:
            break
        cost, i, w = min(steps)
        shown[i].width = w
        budget -= cost
    short = [c for c in shown if c.title() not in (c.header, HEADER_ALIASES.get(c.header))]
    while budget > 0 and short:  # one character at a time to the abbreviated headers, in turn
        for c in short[:budget]:
            c.width += 1
            budget -= 1
        short = [c for c in short if c.title() not in (c.header, HEADER_ALIASES.get(c.header))]
    return shown


def _whole_widths(col: Column) -> list[int]:
    alias = HEADER_ALIASES.get(col.header)
    widths = [len(col.header)] if alias is None else [len(alias), len(col.header)]
    return [max(w, col.data_width) for w in widths]


def abbreviate(header: str, width: int) -> str:
    """``header`` in at most ``width`` characters: whole, its alias, or each word shortened.

    The longest words lose letters first, so ``batch_size`` becomes ``bat_siz`` and
    ``value_1`` keeps its ``1``; a header with more words than fit is cut.
    """
    if len(header) <= width:
        return header
    alias = HEADER_ALIASES.get(header)
    if alias is not None and len(alias) <= width:
        return alias
    parts = _WORD.split(header)  # words at even indexes, separators between them
    words = parts[0::2]
    letters = width - sum(len(p) for p in parts[1::2])
    lengths = [len(w) for w in words]
    if letters < sum(1 for n in lengths if n):
        return header[:width]
    while sum(lengths) > letters:
        longest = max(lengths)
        i = len(lengths) - 1 - lengths[::-1].index(longest)  # the last of the longest: first words stay readable
        lengths[i] -= 1
    parts[0::2] = [w[:n] for w, n in zip(words, lengths, strict=True)]
    return "".join(parts)


def build_table(title: Text, caption: Text, columns: Sequence[Column], row_styles: Sequence[str | None]) -> Table:
    """A rich Table of ``columns`` (as fitted) whose rows take ``row_styles``."""
    table = Table(
        title=title, title_justify="left", caption=caption, caption_justify="left", box=box.SIMPLE_HEAD,
        show_edge=False, pad_edge=False, collapse_padding=True,
    )
    for col in columns:
        justify: JustifyMethod = "left" if col.key == "state" else "right"
        table.add_column(Text(col.title()), justify=justify, width=col.width, no_wrap=True)
    for r, style in enumerate(row_styles):
        table.add_row(*(c.cells[r] for c in columns), style=style)
    return table

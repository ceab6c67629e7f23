"""Reading a W&B sweep YAML file with the line of every field, so errors name ``file:line`` and the field.

Numbers such as ``1e-5`` are floats, as W&B reads them (PyYAML alone, by YAML 1.1, makes
them strings: W&B's client sends the file on as YAML text and its service reads them as
numbers, so ``min: 1e-5`` and ``values: [1e-5, 1e-6]`` are numbers in W&B's own examples).

>>> text = "method: random\\nparameters:\\n  lr:\\n    min: 0.1\\n    max: 0.01\\n"
>>> doc = SweepDocument.from_text(text, "sweep.yaml")
>>> doc.error(("parameters", "lr", "min"), "parameters.lr.min must be < max").args[0]
'sweep.yaml:4: parameters.lr.min must be < max'
>>> SweepDocument.from_text("lr: {min: 1e-5, max: 1E+2, values: [3e-4, '1e-3']}").data
{'lr': {'min': 1e-05, 'max': 100.0, 'values': [0.0003, '1e-3']}}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SweepConfigError", "SweepDocument", "dotted"]

Path = tuple[Any, ...]


class SweepConfigError(ValueError):
    """A sweep configuration that cannot run; the message starts with ``file:line:`` when the line is known."""


def dotted(path: Sequence[Any]) -> str:
    """``("parameters", "lr", "min")`` -> ``parameters.lr.min`` (list indexes as ``[i]``)."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass
class SweepDocument:
    """A sweep configuration (plain data) and the 1-based line each field was written on."""

    data: dict[str, Any]
    source: str = "<sweep>"
    lines: dict[Path, int] = field(default_factory=dict)

    @classmethod
    def from_text(cls, text: str, source: str = "<sweep>") -> SweepDocument:
        """Parse YAML (safe: plain data only, never objects); a syntax error names the line."""
        import yaml

        loader = _loader()
        try:
            node = yaml.compose(text, Loader=loader)
            data = yaml.load(text, Loader=loader)  # a SafeLoader subclass: plain data only
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            where = f"{source}:{mark.line + 1}" if mark is not None else source
            raise SweepConfigError(f"{where}: invalid YAML: {e.problem or e.context}") from None
        except yaml.YAMLError as e:
            raise SweepConfigError(f"{source}: invalid YAML: {e}") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise SweepConfigError(f"{source}:1: a sweep configuration is a mapping, got {type(data).__name__}")
        lines: dict[Path, int] = {}
        if node is not None:
            _collect(node, (), lines)
        return cls(data, source, lines)

    @classmethod
    def from_file(cls, path: str) -> SweepDocument:
        with open(path, encoding="utf-8") as f:
            return cls.from_text(f.read(), path)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<sweep>") -> SweepDocument:
        """A configuration given as a dict (a stored sweep, or W&B's ``wandb.sweep(config)`` dict)."""
        return cls(dict(data), source)

    def line(self, path: Sequence[Any]) -> int | None:
        """The line of ``path``, else of its nearest written parent."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), None)

    def where(self, path: Sequence[Any]) -> str:
        line = self.line(path)
        return f"{self.source}:{line}" if line is not None else self.source

    def error(self, path: Sequence[Any], message: str) -> SweepConfigError:
        """An error located at ``path`` (the message names the field itself)."""
        return SweepConfigError(f"{self.where(path)}: {message}")


_LOADER: Any = None
#: YAML 1.2 floats without a dot (``1e-5``, ``-2E+3``), which YAML 1.1 (PyYAML) leaves as strings
_EXP_FLOAT = r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"


def _loader() -> Any:
    """PyYAML's SafeLoader, plus floats written ``1e-5`` (built once, on first use)."""
    global _LOADER
    if _LOADER is None:
        import re

        import yaml

        class SweepLoader(yaml.SafeLoader):
            pass

        SweepLoader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(_EXP_FLOAT), list("-+.0123456789"))
        _LOADER = SweepLoader
    return _LOADER


def _collect(node: Any, path: Path, lines: dict[Path, int]) -> None:
    import yaml

    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            here = (*path, key)
            lines[here] = key_node.start_mark.line + 1
            _collect(value_node, here, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _collect(item, (*path, i), lines)

"""The command a run executes: W&B's ``command`` list with its macros filled in.

The macros are W&B's: ``${env}`` (``/usr/bin/env``, not on Windows), ``${interpreter}``
(the agent's own Python, where W&B says ``python``), ``${program}``, ``${args}``
(``--name=value``), ``${args_no_hyphens}`` (``name=value``), ``${args_no_boolean_flags}``
(``--flag`` for True, nothing for False), ``${args_json}`` (one JSON argument),
``${args_json_file}`` (the path of a JSON file holding it) and ``${envvar:NAME}``
(the agent's environment variable, left as ``NAME`` when unset). A list macro replaces a
whole item; ``${envvar:...}`` may sit inside one. Values are written as W&B writes them
(Python's ``str``: ``True``, ``0.1``, a nested dict as ``{'lr': 0.1}``).

>>> build_command(None, "train.py", {"lr": 0.1, "amp": True}, interpreter="python", env_path="/usr/bin/env")
['/usr/bin/env', 'python', 'train.py', '--lr=0.1', '--amp=True']
>>> build_command(["${program}", "${args_no_boolean_flags}"], "t.py", {"amp": True, "cpu": False, "n": 2})
['t.py', '--amp', '--n=2']
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["DEFAULT_COMMAND", "MACROS", "build_command", "command_args"]

DEFAULT_COMMAND = ["${env}", "${interpreter}", "${program}", "${args}"]
MACROS = ("env", "interpreter", "program", "args", "args_no_hyphens", "args_no_boolean_flags", "args_json",
          "args_json_file")
_ENVVAR = re.compile(r"\$\{envvar:([A-Za-z0-9_]*)\}")


def command_args(config: Mapping[str, Any]) -> dict[str, list[str]]:
    """The argument macros for a run's ``config`` (name order, as W&B's agent receives them)."""
    flags, no_hyphens, no_booleans = [], [], []
    for name, value in config.items():
        flag = f"{name}={value}"
        flags.append(f"--{flag}")
        no_hyphens.append(flag)
        if isinstance(value, bool):
            if value:
                no_booleans.append(f"--{name}")
        else:
            no_booleans.append(f"--{flag}")
    return {
        "args": flags, "args_no_hyphens": no_hyphens, "args_no_boolean_flags": no_booleans,
        "args_json": [json.dumps(dict(config))],
    }


def build_command(
    command: Sequence[Any] | None, program: str | None, config: Mapping[str, Any], *,
    json_file: str | None = None, interpreter: str | None = None, env_path: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[str]:
    """The argv of one run. ``json_file``: where ``${args_json_file}`` points (the caller writes it)."""
    environ = os.environ if environ is None else environ
    macros: dict[str, list[str]] = command_args(config)
    macros["interpreter"] = [interpreter or sys.executable]
    macros["program"] = [program] if program else []
    macros["env"] = [] if sys.platform == "win32" else [env_path or "/usr/bin/env"]
    macros["args_json_file"] = [json_file] if json_file else []
    out: list[str] = []
    for item in command or DEFAULT_COMMAND:
        text = _ENVVAR.sub(lambda m: environ.get(m.group(1), m.group(1)), str(item))
        if text.startswith("${") and text.endswith("}") and text[2:-1] in macros:
            out += macros[text[2:-1]]
        else:
            out.append(text)
    return out


def uses_json_file(command: Sequence[Any] | None) -> bool:
    return any(str(c) == "${args_json_file}" for c in command or ())

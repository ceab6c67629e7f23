"""Sweep YAML: W&B files accepted as written; mistakes named by file:line and field."""

from __future__ import annotations

import pytest

from tunesmith.sweeps import SweepConfig, SweepConfigError, SweepDocument, build_command, command_args
from tunesmith.sweeps._hyperband import HyperbandRule


def parse(text: str) -> SweepConfig:
    return SweepConfig.parse(SweepDocument.from_text(text, "sweep.yaml"))


def error_of(text: str) -> str:
    with pytest.raises(SweepConfigError) as info:
        parse(text)
    return str(info.value)


WANDB_FILE = """\
program: train.py
method: bayes
entity: my-team
project: my-project
metric:
  name: val_loss
  goal: minimize
  target: 0.1
parameters:
  lr:
    min: 0.0001
    max: 0.1
    distribution: log_uniform_values
  batch_size:
    values: [16, 32, 64]
  epochs:
    value: 10
early_terminate:
  type: hyperband
  min_iter: 3
command:
  - ${env}
  - ${interpreter}
  - ${program}
  - ${args}
"""


def test_a_wandb_file_parses_and_notes_the_ignored_keys() -> None:
    config = parse(WANDB_FILE)
    assert config.method == "bayes" and config.metric == "val_loss" and config.target == 0.1
    assert [n.split(": ", 1)[1] for n in config.notes] == ["'entity' is a W&B service setting; ignored offline",
                                                             "'project' is a W&B service setting; ignored offline"]
    assert config.notes[0].startswith("sweep.yaml:3:")
    assert config.hyperband is not None and config.hyperband.bands[:3] == [3, 9, 27]


def test_min_not_below_max_names_line_and_field() -> None:
    text = "program: t.py\nmethod: random\nparameters:\n  a:\n    values: [1]\n  lr:\n    min: 0.1\n    max: 0.01\n"
    assert error_of(text) == "sweep.yaml:7: parameters.lr.min must be < max, got min=0.1 max=0.01"


def test_unknown_distribution_lists_the_valid_ones() -> None:
    text = "program: t.py\nmethod: random\nparameters:\n  lr:\n    distribution: loguniform\n    min: 1\n    max: 2\n"
    message = error_of(text)
    assert message.startswith("sweep.yaml:5: parameters.lr.distribution: unknown distribution 'loguniform'; valid:")
    assert "log_uniform_values" in message and "q_beta" in message


@pytest.mark.parametrize(("text", "expected"), [
    ("program: t.py\nparameters:\n  a: {values: [1]}\n", "sweep.yaml:1: method is required"),
    ("program: t.py\nmethod: annealing\nparameters:\n  a: {values: [1]}\n", "sweep.yaml:2: method: unknown method"),
    ("program: t.py\nmethod: bayes\nparameters:\n  a: {values: [1]}\n", "sweep.yaml:2: method bayes needs a metric"),
    ("program: t.py\nmethod: random\nparameters:\n  a: {values: [1], probabilities: [0.5, 0.5]}\n",
     "sweep.yaml:4: parameters.a.probabilities must be a list as long as values (1)"),
    ("program: t.py\nmethod: random\nparameters:\n  a:\n    distribution: uniform\n    min: 0\n    max: 1\n    q: 2\n",
     "sweep.yaml:8: parameters.a.q: not a field of distribution uniform"),
    ("program: t.py\nmethod: random\nparameters:\n  a:\n    distribution: log_uniform_values\n    min: 0\n    max: 1\n",
     "sweep.yaml:6: parameters.a.min must be > 0 for log_uniform_values"),
    ("program: t.py\nmethod: random\nparameters:\n  a:\n    foo: 1\n", "sweep.yaml:4: parameters.a: cannot tell"),
    ("program: t.py\nmethod: random\nmetric: {name: l}\nparameters:\n  a: {values: [1]}\nearly_terminate:\n"
     "  type: hyperband\n  eta: 3\n", "sweep.yaml:6: early_terminate (hyperband) needs min_iter, or max_iter and s"),
    ("program: t.py\nmethod: random\nparameters:\n  a: {values: [1]}\nrun_cap: 0\n", "sweep.yaml:5: run_cap must be"),
    ("program: t.py\nmethod: random\nparameters:\n  a: {values: [1]}\ncommand: [python, '${prog}']\n",
     "sweep.yaml:5: command[1]: unknown macro ${prog}"),
    ("program: t.py\nmethod: random\nparameters:\n  a: {values: [1]}\nfoo: 1\n", "sweep.yaml:5: unknown field 'foo'"),
    ("program: t.py\nmethod: random\nparameters:\n  a: {values: [1]\n", "sweep.yaml:5: invalid YAML"),
])
def test_mistakes_are_named(text: str, expected: str) -> None:
    assert error_of(text).startswith(expected)


def test_macros_expand_as_wandb_agent_does() -> None:
    config = {"a": 1, "flag": True, "off": False, "opt": {"lr": 0.1}}
    args = command_args(config)
    assert args["args"] == ["--a=1", "--flag=True", "--off=False", "--opt={'lr': 0.1}"]
    assert args["args_no_hyphens"] == ["a=1", "flag=True", "off=False", "opt={'lr': 0.1}"]
    assert args["args_no_boolean_flags"] == ["--a=1", "--flag", "--opt={'lr': 0.1}"]
    assert args["args_json"] == ['{"a": 1, "flag": true, "off": false, "opt": {"lr": 0.1}}']
    argv = build_command(
        ["${env}", "${interpreter}", "${program}", "--data=${envvar:DATA_DIR}/x", "${args_json_file}",
         "${envvar:NOPE}"],
        "train.py", {"a": 1}, json_file="/tmp/a.json", interpreter="py", environ={"DATA_DIR": "/d"},
    )
    assert argv == ["/usr/bin/env", "py", "train.py", "--data=/d/x", "/tmp/a.json", "NOPE"]
    assert build_command(["${program}", "${args_no_hyphens}"], "t.py", {"x": 2}) == ["t.py", "x=2"]


# A recorded set of curves (val_loss per epoch) and the decisions W&B's hyperband rule gives for them.
CURVES = {
    "r1": [1.00, 0.80, 0.60, 0.50, 0.45, 0.40, 0.38, 0.36, 0.35, 0.34],  # finished, best
    "r2": [1.00, 0.90, 0.85, 0.80, 0.78, 0.77, 0.76, 0.75, 0.74, 0.73],  # finished
    "r3": [1.00, 0.95, 0.93, 0.92],                                       # running, bad at band 3
    "r4": [1.00, 0.70, 0.55, 0.48],                                       # running, good at band 3
    "r5": [1.00, 0.99],                                                   # running, no band reached yet
    "r6": [1.00, 0.85, 0.70, 0.60, 0.55, 0.50, 0.47, 0.45, 0.44, 0.43],  # running, passes band 3, fails band 9
}


def test_hyperband_stops_exactly_the_runs_the_bands_say() -> None:
    rule = HyperbandRule.from_config({"type": "hyperband", "min_iter": 3, "eta": 3})
    assert rule.bands[:2] == [3, 9]
    # band 3: values 0.50 0.80 0.92 0.48 0.60 -> sorted [.48 .5 .6 .8 .92], index int(5/3)=1 -> 0.50
    # band 9: values 0.34 0.73 0.43 -> sorted, index int(3/3)=1 -> 0.43
    assert rule.thresholds(CURVES)[:2] == [0.50, 0.43]
    assert sorted(rule.to_stop(CURVES, running={"r3", "r4", "r5", "r6"})) == ["r3"]
    # r6 worse at band 9: values 0.34 0.73 0.80 -> threshold 0.73, and 0.80 > 0.73
    worse = {**CURVES, "r6": [*CURVES["r6"][:9], 0.80]}
    assert sorted(rule.to_stop(worse, running={"r3", "r4", "r5", "r6"})) == ["r3", "r6"]
    # strict keeps only the top ceil(n/eta): band 3 threshold becomes the best of 5 -> 0.48, so r6 (0.60) stops
    strict = HyperbandRule.from_config({"type": "hyperband", "min_iter": 3, "eta": 3, "strict": True})
    assert sorted(strict.to_stop(CURVES, running={"r3", "r4", "r5", "r6"})) == ["r3", "r6"]


def test_hyperband_max_iter_bands_and_maximize() -> None:
    rule = HyperbandRule.from_config({"type": "hyperband", "max_iter": 27, "s": 3, "eta": 3})
    assert rule.bands == [1, 3, 9]
    with pytest.raises(ValueError, match="no hyperband band"):
        HyperbandRule.from_config({"type": "hyperband", "max_iter": 2, "s": 2, "eta": 3})

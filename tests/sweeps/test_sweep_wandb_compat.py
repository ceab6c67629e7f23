"""W&B compatibility found by running public sweep files: ``1e-5`` numbers, dotted parameter names,
``metric.impute`` / ``impute_while_running``."""

from __future__ import annotations

import json

import pytest
from sweep_support import SweepDir

import tunesmith
from tunesmith.record import FrozenTrial, TrialState
from tunesmith.sweeps import SweepConfig, SweepConfigError, SweepDocument, build_command, load_sweep
from tunesmith.sweeps._impute import ImputingSampler


def parse(text: str) -> SweepConfig:
    return SweepConfig.parse(SweepDocument.from_text(text, "sweep.yaml"))


# -- numbers written 1e-5 ----------------------------------------------------------------
def test_exponent_numbers_are_floats_as_wandb_reads_them() -> None:
    config = parse("program: t.py\nmethod: random\nparameters:\n  lr:\n    distribution: log_uniform_values\n"
                   "    min: 1e-5\n    max: 1E-1\n  wd:\n    values: [1e-4, 3e-4, '1e-3']\n  n:\n    value: 1e5\n")
    lr = config.space.parameters[0]
    assert (lr.config["min"], lr.config["max"]) == (1e-5, 0.1)
    assert config.space.parameters[1].config["values"] == [1e-4, 3e-4, "1e-3"]  # quoted: a string
    argv = build_command(["${args}"], None, config.space.config_for({"lr": 0.001, "wd": 3e-4}))
    assert argv == ["--lr=0.001", "--n=100000.0", "--wd=0.0003"]


def test_exponent_bounds_still_checked() -> None:
    with pytest.raises(SweepConfigError, match=r"sweep.yaml:5: parameters.lr.min must be < max"):
        parse("program: t.py\nmethod: random\nparameters:\n  lr:\n    min: 1e-1\n    max: 1e-5\n")


# -- dotted names ------------------------------------------------------------------------
def test_dotted_names_are_flat_keys_and_nested_blocks_dicts() -> None:
    config = parse("program: t.py\nmethod: random\nparameters:\n  model.depth:\n    values: [2]\n"
                   "  model:\n    values: [mlp]\n  opt:\n    parameters:\n      lr:\n        value: 0.1\n")
    run = config.space.config_for({"model.depth": 2, "model": "mlp"})
    assert run == {"model": "mlp", "model.depth": 2, "opt": {"lr": 0.1}}
    assert build_command(["${args_no_hyphens}"], None, run) == ["model=mlp", "model.depth=2", "opt={'lr': 0.1}"]


def test_a_dotted_name_and_a_nested_block_naming_the_same_value_is_an_error() -> None:
    with pytest.raises(SweepConfigError, match=r"sweep.yaml:\d+: parameters.opt.parameters.lr: parameter 'opt.lr' "
                                                r"is written twice"):
        parse("program: t.py\nmethod: random\nparameters:\n  opt.lr:\n    value: 1\n"
              "  opt:\n    parameters:\n      lr:\n        value: 2\n")


def test_hydra_overrides_reach_the_program(sweep_dir: SweepDir) -> None:
    sweep_dir.write("main.py", """
        import json, sys
        print(json.dumps({"argv": sys.argv[1:]}), file=sys.stderr)
        open("argv.json", "a").write(json.dumps(sys.argv[1:]) + "\\n")
        print("test/accuracy=0.5")
    """)
    sid = sweep_dir.create("""
        program: main.py
        method: random
        metric: {goal: maximize, name: test/accuracy}
        parameters:
          model.num_groups: {values: [2, 4]}
          normalization: {values: [batch]}
        command: ["${env}", "${interpreter}", "${program}", "${args_no_hyphens}"]
    """)
    proc = sweep_dir.agent(sid, "--count", "1", "--config", "sweep.yaml")  # a custom command: confirmed
    proc.communicate(timeout=60)
    assert proc.returncode == 0
    argv = json.loads((sweep_dir.path / "argv.json").read_text())
    assert argv[1] == "normalization=batch" and argv[0] in ("model.num_groups=2", "model.num_groups=4")


# -- metric.impute -----------------------------------------------------------------------
def test_impute_settings_are_checked_with_wandb_values() -> None:
    base = "program: t.py\nmethod: bayes\nparameters:\n  x: {min: 0.0, max: 1.0}\nmetric:\n  name: loss\n"
    config = parse(base + "  impute: best\n  impute_while_running: false\n")
    assert (config.impute, config.impute_while_running) == ("best", "false")
    assert parse(base).impute == "worst"
    with pytest.raises(SweepConfigError, match=r"sweep.yaml:7: metric.impute_while_running must be one of false, "
                                                r"worst, best, latest, got 'sometimes'"):
        parse(base + "  impute_while_running: sometimes\n")
    sampler = parse(base + "  impute: latest\n").make_sampler(seed=0)
    assert isinstance(sampler, ImputingSampler) and sampler.impute == "latest"
    assert not isinstance(parse(base.replace("bayes", "random")).make_sampler(), ImputingSampler)


def _trial(number: int, state: TrialState, values: list[float] | None = None, last: float | None = None,
           ) -> FrozenTrial:
    return FrozenTrial(number, state, values=values, trial_id=number + 1,
                       last_result={} if last is None else {"loss": last})


def test_imputed_values_follow_wandb_bayes_rules() -> None:
    from tunesmith.record import Report

    reports = [Report(1, 1, 1, {"loss": 3.0}), Report(2, 1, 2, {"loss": 2.0}),  # trial 0: COMPLETE at 2.0
               Report(3, 2, 1, {"loss": 5.0}), Report(4, 2, 2, {"loss": 1.0}), Report(5, 2, 3, {"loss": 4.0}),
               Report(6, 4, 1, {"loss": 0.5})]  # trial ids: number + 1
    trials = [_trial(0, TrialState.COMPLETE, [2.0]), _trial(1, TrialState.FAILED), _trial(2, TrialState.FAILED),
              _trial(3, TrialState.RUNNING), _trial(4, TrialState.RUNNING)]

    def values(impute: str, running: str, direction: str = "minimize") -> list[object]:
        s = ImputingSampler({"class": "tunesmith.samplers.RandomSampler", "kwargs": {}}, "loss", impute, running)
        s.attach(lambda after: [r for r in reports if r.report_id > after])
        s._sync()
        return [t.values[0] if t.state == TrialState.COMPLETE and t.values else t.state.name
                for t in s.imputed(trials, direction)]

    # trial 1 failed after 5, 1, 4; trial 2 failed with no report; worst over ended runs: 5
    assert values("worst", "false") == [2.0, 5.0, 5.0, "RUNNING", "RUNNING"]
    assert values("best", "false") == [2.0, 1.0, 0.0, "RUNNING", "RUNNING"]
    assert values("latest", "false") == [2.0, 4.0, 0.0, "RUNNING", "RUNNING"]
    # running runs: their best so far; before any report, the strategy's value
    assert values("worst", "best") == [2.0, 5.0, 5.0, 0.5, 0.0]
    assert values("worst", "worst") == [2.0, 5.0, 5.0, 0.5, 5.0]
    # maximize: worst is the lowest value an ended run reached, best the highest
    assert values("worst", "false", "maximize")[:3] == [2.0, 1.0, 1.0]
    assert values("best", "false", "maximize")[:3] == [2.0, 5.0, 0.0]


def test_a_failed_run_counts_for_the_sampler_but_stays_failed(sweep_dir: SweepDir) -> None:
    sweep_dir.write("train.py", """
        import os, sys
        first = not os.path.exists("ran")
        open("ran", "a").close()
        for v in (3.0, 1.0, 2.0):
            print(f"loss={v}", flush=True)
        sys.exit(1 if first else 0)
    """)
    sid = sweep_dir.create("""
        program: train.py
        method: tpe
        metric: {name: loss, goal: minimize, impute: best}
        parameters:
          x: {min: 0.0, max: 1.0}
    """)
    proc = sweep_dir.agent(sid, "--count", "2", "--no-flapping-guard")
    proc.communicate(timeout=60)
    assert proc.returncode == 0
    study, _ = load_sweep(sid, sweep_dir.url)
    assert [t.state for t in study.trials] == [TrialState.FAILED, TrialState.COMPLETE]
    assert study.best_value == 2.0 and study.best_trial.number == 1
    sampler = study.sampler
    assert isinstance(sampler, ImputingSampler) and sampler.impute == "best"  # rebuilt from the record
    sampler.attach(lambda after: study.storage.get_study_reports(study.study_id, after=after))
    sampler._sync()
    seen = sampler.imputed(study.trials, "minimize")
    assert [(t.state, t.values) for t in seen] == [(TrialState.COMPLETE, [1.0]), (TrialState.COMPLETE, [2.0])]


def test_imputing_sampler_drives_a_model_based_sampler() -> None:
    inner = tunesmith.samplers.TPESampler(seed=0, n_startup_trials=3)
    study = tunesmith.create_study(sampler=ImputingSampler(inner, "loss", "worst"))

    def objective(trial: tunesmith.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        if x > 0.7:
            raise RuntimeError("diverged")
        return (x - 0.3) ** 2

    study.optimize(objective, n_trials=12, catch=(RuntimeError,))
    states = {t.state for t in study.trials}
    assert len(study.trials) == 12 and TrialState.COMPLETE in states
    assert study.best_value < 0.1

from __future__ import annotations

import os

import numpy as np
import pytest

import tunesmith
from tunesmith.schedulers import Exploit, PopulationBasedTraining, scheduler_from_spec
from tunesmith.trial import TrialState


def _pbt(**kw):
    defaults = dict(time_attr="training_iteration", metric="score", mode="max", perturbation_interval=2,
                    hyperparam_mutations={"lr": tunesmith.uniform(0.0, 1.0), "opt": ["a", "b", "c"]},
                    quantile_fraction=0.5, resample_probability=0.0, seed=0)
    defaults.update(kw)
    return PopulationBasedTraining(**defaults)


def test_explore_perturbs_numbers_and_moves_along_lists():
    pbt = _pbt()
    rng = np.random.default_rng(0)
    seen_lr, seen_opt = set(), set()
    for _ in range(50):
        new = pbt.explore({"lr": 0.5, "opt": "b", "other": 7}, rng)
        seen_lr.add(round(new["lr"], 6))
        seen_opt.add(new["opt"])
        assert new["other"] == 7
    assert seen_lr == {0.4, 0.6} and seen_opt == {"a", "c"}
    clipped = _pbt(hyperparam_mutations={"lr": tunesmith.uniform(0.0, 0.55)}).explore({"lr": 0.5}, rng)
    assert clipped["lr"] <= 0.55
    resampled = _pbt(resample_probability=1.0).explore({"lr": 0.5, "opt": "b"}, np.random.default_rng(1))
    assert 0 <= resampled["lr"] <= 1 and resampled["opt"] in "abc"
    ints = _pbt(hyperparam_mutations={"n": tunesmith.randint(1, 10)}).explore({"n": 5}, rng)
    assert ints["n"] in (4, 6) and isinstance(ints["n"], int)


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="hyperparam_mutations"):
        PopulationBasedTraining()
    with pytest.raises(ValueError, match="quantile_fraction"):
        _pbt(quantile_fraction=0.7)
    with pytest.raises(TypeError, match="hyperparam_mutations\\['lr'\\]"):
        _pbt(hyperparam_mutations={"lr": 3})
    with pytest.raises(ValueError, match="empty"):
        _pbt(hyperparam_mutations={"opt": []})


def _trainable(config, checkpoint_dir=None):
    """The score grows by lr (times 1 + x if the config has x) per step; the score so far is checkpointed each step.

    With ``x`` in the config it is Ray's ``pbt_function`` shape and also reports the ``lr`` it trained with.
    """
    score, start = 0.0, 0
    if checkpoint_dir is not None:
        with open(os.path.join(checkpoint_dir, "state")) as f:
            start, score = f.read().split()
            start, score = int(start), float(score)
    for step in range(start + 1, 9):
        score += config["lr"] * (1 + config.get("x", 0.0))
        with tunesmith.checkpoint_dir(step) as d:
            with open(os.path.join(d, "state"), "w") as f:
                f.write(f"{step} {score}")
        tunesmith.report(score=score, **({"lr": config["lr"]} if "x" in config else {}))


def test_weak_trials_continue_from_a_strong_trial_checkpoint(tmp_path):
    pbt = _pbt(hyperparam_mutations={"lr": tunesmith.uniform(0.0, 1.0)})
    # No search_alg: under PBT the default is a random population, as in Ray Tune.
    result = tunesmith.run(
        _trainable, {"lr": tunesmith.uniform(0.0, 1.0)}, num_samples=6, seed=2, scheduler=pbt, verbose=0,
        storage=f"sqlite:///{tmp_path / 'pbt.db'}", local_dir=str(tmp_path / "art"), name="pbt",
    )
    assert type(result.study.sampler) is tunesmith.samplers.RandomSampler
    trials = result.study.trials
    continuations = [t for t in trials if t.continues is not None]
    assert continuations, "some weak trial must have exploited"
    for t in continuations:
        restore = t.restore
        assert restore is not None and restore.path is not None
        donor = trials[restore.trial]
        assert donor.continues is not None or donor.params["lr"] > min(trials[n].params["lr"] for n in range(6))
        assert restore.path.startswith(str(tmp_path / "art"))
        assert np.isclose(t.params["lr"], donor.params["lr"] * 1.2) or np.isclose(
            t.params["lr"], donor.params["lr"] * 0.8) or t.params["lr"] == 1.0
        # It went on from the donor's step: its reports start after the checkpoint's.
        reports = result.study.storage.get_reports(result.study.study_id, t.trial_id)
        if reports[0][0] == restore.step:  # cloned at the last step: it ends with the donor's result
            assert len(reports) == 1 and reports[0][1]["score"] == trials[restore.trial].last_result["score"]
        else:
            assert reports[0][0] == restore.step + 1
    exploited = {t.continues for t in continuations}
    for t in trials:  # every line either ran to the end or goes on in another trial
        assert (t.state == TrialState.COMPLETE and t.last_result["training_iteration"] == 8) or t.number in exploited
    assert all(trials[n].state == TrialState.PRUNED for n in exploited)
    # Six lines end; the weak ones were replaced by clones of the strong.
    finals = [t.last_result["score"] for t in trials if t.state == TrialState.COMPLETE]
    assert len(finals) == 6 and all(t.state != TrialState.FAILED for t in trials)
    worst_start = min(trials[n].params["lr"] for n in range(6)) * 8
    assert min(finals) > worst_start


def test_pbt_draws_its_population_at_random_unless_given_a_sampler():
    """PBT changes parameters as trials train, so a model of them would be fitted to the wrong points;
    a small population from Auto would also be GP picks after its first d + 1 trials."""
    from tunesmith.samplers import AutoSampler, RandomSampler, TPESampler

    study = tunesmith.create_study(scheduler=_pbt(hyperparam_mutations={"lr": [0.1, 0.2]}), seed=3)
    assert type(study.sampler) is RandomSampler and study.sampler.seed == 3
    given = TPESampler(seed=1)
    assert tunesmith.create_study(scheduler=_pbt(hyperparam_mutations={"lr": [0.1]}), sampler=given).sampler is given
    assert type(tunesmith.create_study(scheduler=tunesmith.schedulers.ASHAScheduler()).sampler) is AutoSampler
    assert type(tunesmith.create_study().sampler) is AutoSampler


def _two_trials(study):
    a, b = study.ask(), study.ask()
    for t in (a, b):
        t.suggest_float("lr", 0, 1)
        t.suggest_categorical("opt", ["a", "b", "c"])
    return a, b


def test_exploit_decision_needs_a_donor_checkpoint():
    pbt = _pbt()
    study = tunesmith.create_study(metric="score", mode="max", scheduler=pbt)
    a, b = _two_trials(study)
    a.report(2, score=5.0)
    b.report(2, score=1.0)  # bottom half, but a has no checkpoint: carry on
    assert not b.should_stop()
    with a.checkpoint_dir(4) as d:
        open(os.path.join(d, "w"), "w").write("x")
    a.report(4, score=9.0)
    b.report(4, score=2.0)
    assert b.should_stop() and b._end_state == TrialState.PRUNED
    (queued,) = [t for t in study.trials if t.state == TrialState.WAITING]
    assert queued.system_attrs["restore"]["trial"] == a.number and queued.system_attrs["continues"] == b.number
    nxt = study.ask()
    assert nxt.get_checkpoint().step == 4 and nxt.last_step == 4
    assert os.path.exists(os.path.join(nxt.get_checkpoint().path, "w"))


def test_a_donor_checkpoint_without_its_report_yet_gives_way_to_the_last_reported_one():
    # The donor runs in another worker: it has written step 4's checkpoint, not yet step 4's report.
    pbt = _pbt()
    study = tunesmith.create_study(metric="score", mode="max", scheduler=pbt)
    a, b = _two_trials(study)
    for step in (2, 4):
        with a.checkpoint_dir(step) as d:
            open(os.path.join(d, "w"), "w").write(str(step))
        if step == 2:
            a.report(2, score=5.0)
    b.report(4, score=2.0)
    assert b.should_stop()
    (queued,) = [t for t in study.trials if t.state == TrialState.WAITING]
    assert queued.system_attrs["restore"]["step"] == 2 and queued.system_attrs["restore"]["result"] == {"score": 5.0}


def test_a_continuation_with_nothing_left_to_train_ends_with_its_source_result():
    # Cloned at the trainable's last step (possible while no line has finished yet, e.g. under
    # load): the clone restores the donor's last checkpoint and has no step left to report.
    pbt = _pbt()
    study = tunesmith.create_study(metric="score", mode="max", scheduler=pbt)
    a, b = _two_trials(study)
    with a.checkpoint_dir(2) as d:
        open(os.path.join(d, "w"), "w").write("x")
    a.report(2, score=5.0, training_iteration=2)
    b.report(2, score=1.0, training_iteration=2)
    assert b.should_stop()
    (queued,) = [t for t in study.trials if t.state == TrialState.WAITING]
    assert queued.system_attrs["restore"]["result"] == {"score": 5.0, "training_iteration": 2}
    study.optimize(lambda trial: None, n_trials=1)  # resumes at step 2 and reports nothing
    (clone,) = [t for t in study.trials if t.system_attrs.get("continues") == b.number]
    assert clone.state == TrialState.COMPLETE and clone.value == 5.0
    assert clone.last_result["training_iteration"] == 2


def test_spec_with_functions_is_not_stored_but_workers_get_a_copy():
    pbt = _pbt(custom_explore_fn=lambda p: p)
    study = tunesmith.create_study(metric="score", mode="max", scheduler=pbt)
    assert "scheduler" not in study.storage.get_study(study.name).attrs
    plain = _pbt()
    assert isinstance(scheduler_from_spec(plain.spec()), PopulationBasedTraining)
    assert isinstance(Exploit({}, 0, None, 0), Exploit)


def test_pbt_mutates_a_key_whose_config_value_is_a_constant(tmp_path):
    """Ray mutates every key in hyperparam_mutations, constants of the config included."""
    pbt = _pbt(hyperparam_mutations={"lr": tunesmith.uniform(0.0001, 1.0)}, resample_probability=0.0)
    result = tunesmith.run(
        _trainable, {"lr": 0.01, "x": tunesmith.uniform(0, 1)}, num_samples=6, seed=1, scheduler=pbt,
        verbose=0, storage=f"sqlite:///{tmp_path / 'pbt.db'}", max_concurrent_trials=1,
    )
    trials = result.trials
    continuations = [t for t in trials if t.frozen.continues is not None]
    assert continuations
    lrs = {round(t.config["lr"], 8) for t in continuations}
    assert lrs - {0.01}, "explored values of a constant must reach the trial's config"
    for t in continuations:
        # The trainable got the explored value: it reported it.
        reported = result.study.storage.get_reports(result.study.study_id, t.frozen.trial_id)
        assert all(m["lr"] == t.config["lr"] for step, m in reported if step > t.frozen.restore.step)
        # Perturbed from the donor's own value (its line's constant, or its explored value).
        donor = trials[t.frozen.restore.trial]
        assert any(np.isclose(t.config["lr"], donor.config["lr"] * f) for f in (1.2, 0.8))
    # The first generation keeps the constant.
    assert all(t.config["lr"] == 0.01 for t in trials if t.frozen.continues is None)

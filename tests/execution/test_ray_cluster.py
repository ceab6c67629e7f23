"""A simulated multi-node Ray cluster: a node is removed mid-study, its trials are retried elsewhere."""

from __future__ import annotations

import time

import pytest

import tunesmith
from tunesmith import TrialState

ray = pytest.importorskip("ray")
cluster_utils = pytest.importorskip("ray.cluster_utils")


@pytest.mark.slow
@pytest.mark.parametrize("storage", ["memory", "sqlite"])
def test_node_removed_mid_study_trials_retried_on_other_nodes(storage: str, sqlite_url: str) -> None:
    cluster = cluster_utils.Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    keep = cluster.add_node(num_cpus=1)
    doomed = cluster.add_node(num_cpus=1)
    ray.init(address=cluster.address, log_to_driver=False)
    try:
        doomed_id = doomed.node_id

        def objective(trial: tunesmith.Trial) -> float:
            import ray as ray_

            node = ray_.get_runtime_context().get_node_id()
            trial.set_user_attr("node", node)
            x = trial.suggest_float("x", 0, 1)
            trial.report(0, value=x)  # params stored before the node goes
            time.sleep(3.0 if (node == doomed_id and trial.number >= 2) else 0.2)
            return x

        removed: list[float] = []

        def remove_node_once(study: tunesmith.Study, trial: tunesmith.FrozenTrial) -> None:
            if not removed and trial.number >= 2:
                removed.append(time.time())
                cluster.remove_node(doomed)

        study = tunesmith.create_study(storage=sqlite_url if storage == "sqlite" else None, seed=1)
        study.optimize(objective, n_trials=12, executor="ray", max_retries=2, callbacks=[remove_node_once])
        trials = study.trials
        assert removed, "the node was never removed"
        assert sorted(t.number for t in trials) == list(range(12))
        assert all(t.state == TrialState.COMPLETE for t in trials), [(t.number, t.state, t.error) for t in trials]
        retried = [t for t in trials if t.system_attrs.get("retries")]
        assert retried, "the trial running on the removed node was not retried"
        assert all(t.user_attrs["node"] == keep.node_id for t in retried)  # finished on the surviving node
    finally:
        ray.shutdown()
        cluster.shutdown()

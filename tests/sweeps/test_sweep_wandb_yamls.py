"""Public W&B sweep YAML files (tests/sweeps/wandb_yamls/, origin at the top of each) are accepted
unchanged, and every parameter samples within W&B's definition of its distribution."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tunesmith.sweeps import SweepConfig, SweepDocument
from tunesmith.sweeps._params import SweepParameter, sample_values

HERE = Path(__file__).parent / "wandb_yamls"
CORPUS = sorted(HERE.glob("*.yaml"))


def test_corpus_is_there() -> None:
    assert len(CORPUS) >= 5
    for path in CORPUS:
        assert path.read_text().startswith("# origin: "), path.name


def _within(p: SweepParameter, v: object) -> bool:
    """Whether ``v`` is a value W&B's ``p`` could give (its sampling code's range and type)."""
    c, k = p.config, p.kind
    if k == "constant":
        return v == c["value"]
    if k in ("categorical", "categorical_w_probabilities"):
        return v in c["values"] and type(v) in {type(x) for x in c["values"]}
    assert isinstance(v, (int, float)) and not isinstance(v, bool)
    if k == "int_uniform":
        return isinstance(v, int) and c["min"] <= v <= c["max"]
    lo, hi = {
        "uniform": (c.get("min"), c.get("max")), "q_uniform": (c.get("min"), c.get("max")),
        "log_uniform": (math.exp(c.get("min", 0)), math.exp(c.get("max", 0))),
        "q_log_uniform": (math.exp(c.get("min", 0)), math.exp(c.get("max", 0))),
        "log_uniform_values": (c.get("min"), c.get("max")), "q_log_uniform_values": (c.get("min"), c.get("max")),
        "inv_log_uniform_values": (c.get("min"), c.get("max")),
    }.get(k, (-math.inf, math.inf))
    q = c.get("q")
    slack = q / 2 if q else 1e-12 * max(1.0, abs(hi))
    if not lo - slack <= v <= hi + slack:
        return False
    if q:
        return math.isclose(v / q, round(v / q), abs_tol=1e-9) and isinstance(v, int) == isinstance(q, int)
    return True


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_public_sweep_yaml_is_accepted_and_samples_within_wandb_definitions(path: Path) -> None:
    config = SweepConfig.parse(SweepDocument.from_file(str(path)))
    assert config.space.parameters
    for p in config.space.parameters:
        for v in sample_values(p, 200, seed=1):
            assert _within(p, v), f"{path.name}: {p.name} ({p.kind} {p.config}) gave {v!r}"
    if config.method == "grid":
        assert config.space.grid_lists()


def test_scientific_notation_in_the_corpus_is_numbers() -> None:
    doc = SweepDocument.from_file(str(HERE / "wandb_examples_keras_bayes_hyperband.yaml"))
    assert doc.data["parameters"]["decay"]["values"] == [1e-5, 1e-6, 1e-7]
    hydra = SweepDocument.from_file(str(HERE / "wandb_examples_minimal_hydra.yaml"))
    assert hydra.data["parameters"]["optimizer.config.learning_rate"]["min"] == 1e-5


def test_dotted_top_level_names_stay_flat_keys_as_in_wandb() -> None:
    config = SweepConfig.parse(SweepDocument.from_file(
        str(HERE / "wandb_examples_minimal_hydra.yaml")))
    run = config.space.config_for({"optimizer.config.learning_rate": 0.01, "experiment": "expt001",
                                   "optimizer": "adam"})
    assert run == {"experiment": "expt001", "optimizer": "adam", "optimizer.config.learning_rate": 0.01}

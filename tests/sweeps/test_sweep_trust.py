"""The storage is a trust boundary: a command read from it runs only as the default one or once confirmed."""

from __future__ import annotations

import pytest
from sweep_support import SweepDir

PROGRAM = """
    print("val_loss=0.5")
"""
CUSTOM = """
    program: train.py
    method: random
    metric: {goal: minimize, name: val_loss}
    parameters:
      lr: {values: [0.1]}
    command: ["${env}", "${interpreter}", "${program}", "${args_no_hyphens}"]
"""


def _run(sweep_dir: SweepDir, sweep_id: str, *args: str) -> tuple[int, str]:
    proc = sweep_dir.agent(sweep_id, "--count", "1", *args)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


def test_the_default_command_on_a_program_below_the_agent_runs_as_stored(sweep_dir: SweepDir) -> None:
    sweep_dir.write("train.py", PROGRAM)
    default = CUSTOM.replace('    command: ["${env}", "${interpreter}", "${program}", "${args_no_hyphens}"]\n', "")
    sid = sweep_dir.create(default)
    code, err = _run(sweep_dir, sid)
    assert code == 0, err


def test_a_stored_custom_command_needs_the_agents_confirmation(sweep_dir: SweepDir) -> None:
    sweep_dir.write("train.py", PROGRAM)
    sid = sweep_dir.create(CUSTOM)
    code, err = _run(sweep_dir, sid)
    assert code != 0 and "runs only once you confirm it" in err and "--trust-stored-command" in err
    assert sweep_dir.trials(sid) == []  # refused before any run was created
    sweep_dir.write("mine.yaml", CUSTOM.replace("${args_no_hyphens}", "${args}"))  # not the stored command
    code, err = _run(sweep_dir, sid, "--config", "mine.yaml")
    assert code != 0 and "does not hold the stored command" in err
    code, err = _run(sweep_dir, sid, "--config", "sweep.yaml")
    assert code == 0, err
    code, err = _run(sweep_dir, sid, "--trust-stored-command")
    assert code == 0, err


@pytest.mark.parametrize("program", ["/bin/true", "../elsewhere.py"])
def test_a_program_outside_the_agents_directory_needs_confirmation(sweep_dir: SweepDir, program: str) -> None:
    (sweep_dir.path.parent / "elsewhere.py").write_text("print('val_loss=0.5')\n")
    sid = sweep_dir.create(f"""
        program: {program}
        method: random
        metric: {{goal: minimize, name: val_loss}}
        parameters:
          lr: {{values: [0.1]}}
    """)
    code, err = _run(sweep_dir, sid)
    assert code != 0 and "runs only once you confirm it" in err

"""The live console in a real (pseudo-)terminal, where piped runs and captured tests never draw it."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import tunesmith

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")

# ASHA with checkpoints: trials pause at rungs (PAUSED) and some are resumed, while the live
# table redraws every 0.25 s; each step takes 40 ms so that redraws see paused trials.
_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    import tunesmith
    from tunesmith.reporting import ConsoleReporter
    from tunesmith.samplers import RandomSampler
    from tunesmith.schedulers import ASHAScheduler

    def trainable(trial):
        q = trial.suggest_float("q", 0.1, 1.0)
        trial.suggest_float("learning_rate", 1e-5, 1e-1, log=True)
        trial.suggest_int("batch_size", 8, 512, log=True)
        checkpoint = trial.get_checkpoint()
        for step in range(1 if checkpoint is None else checkpoint.step + 1, 5):
            time.sleep(0.04)
            with trial.checkpoint_dir(step) as d:
                open(os.path.join(d, "step"), "w").write(str(step))
            trial.report(step, loss=q * 1e-5 / step, accuracy=1 - q / step / 10, training_iteration=step)
            if trial.should_stop():
                return

    study = tunesmith.create_study(
        name="pty", metric="loss", artifact_dir=sys.argv[1], sampler=RandomSampler(seed=0),
        scheduler=ASHAScheduler(max_t=4, grace_period=1, reduction_factor=2),
    )
    reporter = ConsoleReporter()
    assert reporter.console.is_terminal
    study.optimize(trainable, n_trials=12, reporter=reporter)
    print("states:", " ".join(f"{s.name}={n}" for s, n in study.count().items()))
    """
)
_CSI = re.compile(r"\x1b\[[0-9;?]*([A-Za-z])")  # colours (m), cursor moves and erasures (A, K, ...)


def _run_in_terminal(args: list[str], columns: int, limit_s: float) -> tuple[int, str]:
    """Run ``args`` with a pseudo-terminal as stdin, stdout and stderr; its exit status and output."""
    master, slave = os.openpty()
    env = {**os.environ, "COLUMNS": str(columns), "LINES": "40", "TERM": "xterm-256color", "PYTHONWARNINGS": "ignore"}
    # The child imports the tunesmith this test runs on, wherever that is.
    env["PYTHONPATH"] = os.pathsep.join([str(Path(tunesmith.__file__).parents[1]), env.get("PYTHONPATH", "")])
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "JUPYTER_COLUMNS"):
        env.pop(name, None)
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    out = bytearray()
    deadline = time.monotonic() + limit_s  # a guard against a hang, not a timing assertion
    try:
        while time.monotonic() < deadline:
            if not select.select([master], [], [], 0.2)[0]:
                continue
            try:
                chunk = os.read(master, 1 << 16)  # drain it: a full terminal would block the child
            except OSError:  # EIO: every process holding the terminal has exited
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return proc.wait(timeout=30), out.decode("utf-8", errors="replace")


def _screen_lines(text: str) -> list[str]:
    """The lines the terminal showed, one by one: colours dropped, cursor moves read as line breaks."""
    plain = _CSI.sub(lambda m: "" if m.group(1) == "m" else "\n", text)
    return [ln.rstrip() for ln in re.split(r"\r\n|\n|\r", plain)]


def test_live_table_in_a_real_terminal_survives_paused_trials_and_fits_80_columns(tmp_path: Path) -> None:
    script = tmp_path / "run.py"
    script.write_text(_SCRIPT)
    rc, text = _run_in_terminal([sys.executable, str(script), str(tmp_path / "artifacts")], 80, 120)
    lines = _screen_lines(text)
    assert rc == 0 and "Traceback" not in text, "\n".join(lines[-40:])
    assert "\x1b[" in text  # a live display drew (cursor moves, colours), not plain lines
    assert any(ln.startswith("states:") for ln in lines)  # the script ran to its end
    summary = next(i for i, ln in enumerate(lines) if ln.startswith("study pty:"))
    # The live table showed paused trials before the end (redraws, not only the final table).
    title = max(i for i, ln in enumerate(lines[:summary]) if ln == "study pty")
    assert any(re.match(r" *\d+ +PAUSED ", ln) for ln in lines[:title]), "\n".join(lines[:title])
    # At the end, trials still paused are stopped trials (PRUNED): the final table and the counts say so.
    assert not any(re.match(r" *\d+ +PAUSED ", ln) for ln in lines[title:summary])
    assert any(re.match(r" *\d+ +PRUNED ", ln) for ln in lines[title:summary])
    assert "PAUSED" not in lines[summary] and "PAUSED=0" in next(ln for ln in lines if ln.startswith("states:"))
    too_wide = [ln for ln in lines if len(ln) > 80]
    assert not too_wide, too_wide
    table = lines[title:summary]
    header = next(ln for ln in table if ln.startswith("trial"))
    assert header.split()[:2] == ["trial", "state"] and "loss" in header and "…" not in "".join(table)

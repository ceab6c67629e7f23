"""``tunesmith agent``: run a sweep's program once per trial, as child processes, until the sweep ends.

Each run: the agent asks the study for a trial (the study's sampler fills the parameters;
a grid hands each point out once however many agents share the storage), builds the
command from the sweep's ``program``/``command`` (the only code it ever runs, printed
before it runs), starts it with the trial named in its environment, and follows it:

- metrics come from the program's ``tunesmith.log``/``tunesmith.report`` (written to the
  storage by the program itself), or from its stdout: a JSON object per line, or
  ``name=value`` pairs, on lines that carry the sweep's metric;
- ``early_terminate`` (W&B's hyperband, or tunesmith's ``asha``/``median``) is decided
  after each report; a stopped run gets SIGTERM, then SIGKILL after ``kill_grace``
  seconds, and ends PRUNED with its last values;
- its exit code ends it: 0 is COMPLETE with the metric's last value, anything else
  FAILED with the tail of its stderr.

The agent renews its trial's lease (a heartbeat thread) and takes back the trials of
agents that were lost; W&B's flapping guard stops it after 3 failed runs within its
first 60 seconds. Ctrl-C (or SIGTERM) ends the running child and re-queues its trial.
"""

from __future__ import annotations

import collections
import json
import math
import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from tunesmith.execution._heartbeat import Heartbeat
from tunesmith.execution._recovery import recover_lost_trials, release
from tunesmith.record import TrialState
from tunesmith.session import ENV_SWEEP_ATTEMPT, ENV_SWEEP_STORAGE, ENV_SWEEP_STUDY, ENV_SWEEP_TRIAL
from tunesmith.study import Study
from tunesmith.sweeps._command import DEFAULT_COMMAND, build_command, uses_json_file
from tunesmith.sweeps._controller import SweepConfig, get_state, load_sweep, next_action, run_limit
from tunesmith.sweeps._impute import ImputingSampler
from tunesmith.sweeps._yaml import SweepConfigError, SweepDocument
from tunesmith.trial import Trial

__all__ = ["ENV_ATTEMPT", "ENV_STORAGE", "ENV_STUDY", "ENV_TRIAL", "Agent", "FlappingGuard", "parse_metrics"]

ENV_STORAGE, ENV_STUDY, ENV_TRIAL, ENV_ATTEMPT = ENV_SWEEP_STORAGE, ENV_SWEEP_STUDY, ENV_SWEEP_TRIAL, ENV_SWEEP_ATTEMPT
_STDERR_TAIL = 30  # lines of a failed run's stderr kept as its error
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf|infinity)"
_PAIR = re.compile(r"([A-Za-z_][\w./-]*)\s*[=:]\s*(" + _NUMBER + r")(?![\w.])", re.IGNORECASE)


def parse_metrics(line: str, metric: str) -> dict[str, float] | None:
    """The numeric metrics of a stdout line that carries ``metric`` (None for other lines).

    >>> parse_metrics("epoch=3 val_loss=0.25 acc=0.9", "val_loss")
    {'epoch': 3.0, 'val_loss': 0.25, 'acc': 0.9}
    >>> parse_metrics('{"val_loss": 0.5, "note": "x"}', "val_loss")
    {'val_loss': 0.5}
    >>> parse_metrics("loading lr=0.1", "val_loss") is None
    True
    """
    text = line.strip()
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            out = {k: float(v) for k, v in obj.items()
                   if isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)}
            return out if metric in out else None
    if metric not in text:
        return None
    found = {name: float(value) for name, value in _PAIR.findall(text)}
    return found if metric in found else None


class FlappingGuard:
    """W&B's: stop when 3 runs failed within the agent's first 60 s (or every run so far failed, 3 or more)."""

    def __init__(self, max_failures: int = 3, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self.start = clock()
        self.failed = 0
        self.finished = 0
        self._lock = threading.Lock()

    def record(self, failed: bool) -> None:
        with self._lock:
            if failed:
                self.failed += 1
            else:
                self.finished += 1

    def flapping(self) -> bool:
        if not self.max_failures:
            return False
        with self._lock:
            if self.clock() < self.start + self.window_s:
                return self.failed >= self.max_failures
            return self.finished == 0 and self.failed >= self.max_failures


@dataclass
class AgentOptions:
    count: int | None = None
    gpus: list[str] | None = None
    poll_s: float = 1.0
    kill_grace_s: float = 10.0
    heartbeat_interval_s: float = 5.0
    heartbeat_grace_s: float = 30.0
    max_retries: int = 1
    flapping_failures: int = 3
    forward_output: bool = True
    #: the agent user's own copy of the sweep file: a stored custom command runs only if it is the same
    confirm_config: str | None = None
    #: run whatever command the storage holds (whoever can write it can then run code on this machine)
    trust_stored_command: bool = False


@dataclass
class _Child:
    """A running program: its process, its stdout lines as they come, its stderr tail."""

    proc: subprocess.Popen[bytes]
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)
    stderr_tail: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=_STDERR_TAIL))
    threads: list[threading.Thread] = field(default_factory=list)

    def terminate(self, grace_s: float) -> None:
        """SIGTERM (its process group), then SIGKILL after ``grace_s`` seconds."""
        if self.proc.poll() is not None:
            return
        _signal_group(self.proc, signal.SIGTERM)
        try:
            self.proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            _signal_group(self.proc, signal.SIGKILL)
            self.proc.wait()

    def join(self) -> None:
        for t in self.threads:
            t.join(timeout=5)


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError, AttributeError):
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass


def _parent_death_prefix() -> list[str]:
    """``setpriv --pdeathsig TERM --`` where util-linux has it: the child gets SIGTERM when the agent dies
    (killed -9 too), so no run outlives its agent. (Not a ``preexec_fn``: Python code between fork and exec
    can deadlock on a lock another thread of the agent holds.) Elsewhere, none: a run whose agent died
    cannot write any more (its lease is taken back) and ends by itself."""
    if not sys.platform.startswith("linux"):
        return []
    import shutil

    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", "--"] if setpriv else []


_PDEATHSIG_PREFIX = _parent_death_prefix()


def _pump(stream: IO[bytes], sink: Callable[[str], None], forward: IO[str] | None) -> None:
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace")
        if forward is not None:
            try:
                forward.write(line)
                forward.flush()
            except (OSError, ValueError):
                pass
        sink(line.rstrip("\n"))
    stream.close()


def _pump_lines(stream: IO[bytes], lines: queue.Queue[str | None], forward: IO[str] | None) -> None:
    try:
        _pump(stream, lines.put, forward)
    finally:
        lines.put(None)  # end of output


class _Curves:
    """Every trial's metric curve, read from the study's reports as they are written (for hyperband)."""

    def __init__(self, study: Study, metric: str, maximize: bool) -> None:
        self.study = study
        self.metric = metric
        self.sign = -1.0 if maximize else 1.0
        self.after = 0
        self.curves: dict[int, list[float]] = collections.defaultdict(list)
        self.last: dict[int, dict[str, Any]] = {}
        self.count: dict[int, int] = collections.defaultdict(int)

    def refresh(self) -> list[tuple[int, int, dict[str, Any]]]:
        """Read new reports; returns them as (trial id, step, metrics)."""
        new = self.study.storage.get_study_reports(self.study.study_id, after=self.after)
        out = []
        for r in new:
            self.after = max(self.after, r.report_id)
            self.count[r.trial_id] += 1
            self.last[r.trial_id] = {**self.last.get(r.trial_id, {}), **r.metrics}
            v = r.metrics.get(self.metric)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                self.curves[r.trial_id].append(self.sign * float(v))
            out.append((r.trial_id, r.step, r.metrics))
        return out


class Agent:
    """Runs a sweep's trials one after another (or one per GPU slot) until the sweep or ``count`` ends."""

    def __init__(self, sweep_id: str, storage_url: str, options: AgentOptions | None = None,
                 echo: Callable[[str], None] | None = None) -> None:
        self.sweep_id = sweep_id
        self.url = storage_url
        self.options = options or AgentOptions()
        self.echo = echo or (lambda text: print(text, file=sys.stderr, flush=True))
        self.guard = FlappingGuard(self.options.flapping_failures)
        self.stop_event = threading.Event()
        self.ran = 0
        self.counts: collections.Counter[str] = collections.Counter()
        self.ended_by: str | None = None
        self._lock = threading.Lock()
        self.study, self.config = load_sweep(sweep_id, storage_url)
        self._check_program()
        self._check_trusted()

    def _check_trusted(self) -> None:
        """The storage is a trust boundary: what is read from it may not choose code to run here.

        The default command (this Python running the sweep's program, a file below the agent's
        directory, with the run's values as arguments) runs as it is. A custom ``command``, or a
        program elsewhere, runs only when the agent's user confirms it: ``--config`` with their own
        copy of the sweep file (the same program and command), or ``--trust-stored-command``.
        """
        config, options = self.config, self.options
        program = config.program or ""
        inside = bool(program) and not os.path.isabs(program) and not os.path.relpath(
            os.path.realpath(program), os.getcwd()).startswith(os.pardir)
        if (config.command is None or list(config.command) == DEFAULT_COMMAND) and inside:
            return
        if options.trust_stored_command:
            return
        what = (f"command {shlex.join(map(str, config.command or DEFAULT_COMMAND))}"
                + (f" with program {program!r}" if program else ""))
        if options.confirm_config is not None:
            mine = SweepConfig.parse(SweepDocument.from_file(options.confirm_config))
            if (mine.command or DEFAULT_COMMAND) == (config.command or DEFAULT_COMMAND) and mine.program == program:
                return
            raise SweepConfigError(
                f"sweep {self.sweep_id}: {options.confirm_config} does not hold the stored {what}; "
                "the agent runs only a command its user confirms")
        raise SweepConfigError(
            f"sweep {self.sweep_id} stores {what}, which is not this Python running a file below "
            f"{os.getcwd()}: a command read from the storage runs only once you confirm it, with "
            "--config SWEEP.yaml (your copy of the sweep file) or --trust-stored-command")

    def _check_program(self) -> None:
        program = self.config.program
        if program and not os.path.exists(program):
            raise SweepConfigError(
                f"sweep {self.sweep_id}: program {program!r} not found in {os.getcwd()} (agents run it from their "
                "current directory, as W&B's do)")

    # -- the loop ---------------------------------------------------------------------
    def run(self) -> int:
        """Run until the sweep ends; returns the exit status (0, 1 when flapping stopped it, 130 on Ctrl-C)."""
        recover_lost_trials(self.study, self.options.max_retries, self.options.heartbeat_grace_s)
        slots: Sequence[str | None] = self.options.gpus or [None]
        errors: list[BaseException] = []

        done = [threading.Event() for _ in slots]

        def slot_main(gpu: str | None, finished: threading.Event) -> None:
            try:
                self._slot(gpu)
            except BaseException as e:  # re-raised by the main thread
                errors.append(e)
                self.stop_event.set()
            finally:
                finished.set()

        threads = [threading.Thread(target=slot_main, args=(g, e), name=f"sweep-slot-{g}", daemon=True)
                   for g, e in zip(slots, done, strict=True)]
        for t in threads:
            t.start()
        # Sleep, not Thread.join: a join interrupted by Ctrl-C can leave the thread looking finished.
        try:
            while not all(e.is_set() for e in done):
                time.sleep(0.05)
        except KeyboardInterrupt:
            self.ended_by = "interrupted"
            self.stop_event.set()
            while not all(e.is_set() for e in done):
                time.sleep(0.05)
            return 130
        if errors:
            raise errors[0]
        if self.ended_by == "flapping":
            return 1
        return 0

    def _take_slot(self) -> bool:
        with self._lock:
            if self.options.count is not None and self.ran >= self.options.count:
                return False
            self.ran += 1
            return True

    def _slot(self, gpu: str | None) -> None:
        first = gpu is None or gpu == (self.options.gpus or [""])[0]
        study, config = (self.study, self.config) if first else load_sweep(self.sweep_id, self.url)
        study.set_space(config.space.distributions)
        if isinstance(study.sampler, ImputingSampler):  # metric.impute reads the runs' curves
            study.sampler.attach(lambda after: study.storage.get_study_reports(study.study_id, after=after))
        opts = self.options
        curves = _Curves(study, config.metric, config.goal == "maximize")
        if config.hyperband is None:  # only this agent's runs' reports are read; else every run's (hyperband)
            reports = study.storage.get_study_reports(study.study_id)
            curves.after = reports[-1].report_id if reports else 0
        with Heartbeat(study.storage, study.study_id, opts.heartbeat_interval_s, opts.heartbeat_grace_s,
                       opts.max_retries) as heartbeat:
            while not self.stop_event.is_set():
                action, why = next_action(study, config)
                if action == "end":
                    self._end(why)
                    return
                if action == "wait":
                    self.stop_event.wait(opts.poll_s)
                    continue
                if not self._take_slot():
                    self._end(f"--count {opts.count} run(s) done")
                    return
                state = self._run_one(study, config, heartbeat, gpu, curves)
                with self._lock:
                    self.counts[state] += 1
                if self.guard.flapping():
                    self.ended_by = "flapping"
                    self.echo(
                        f"agent: {self.guard.failed} runs failed within its first {self.guard.window_s:g} s; "
                        "it stops (W&B's flapping guard) instead of failing the whole sweep")
                    self.stop_event.set()
                    return

    def _end(self, why: str) -> None:
        if self.ended_by is None:
            self.ended_by = why
            self.echo(f"agent: {why}; it stops")
        self.stop_event.set()

    # -- one run ----------------------------------------------------------------------
    def _run_one(
        self, study: Study, config: SweepConfig, heartbeat: Heartbeat, gpu: str | None, curves: _Curves,
    ) -> str:
        trial = study.ask()
        heartbeat.running(trial.trial_id, trial.attempt)
        try:
            return self._follow(study, config, trial, gpu, curves)
        except BaseException:
            release(study, [trial.trial_id], interrupted=True)
            raise
        finally:
            heartbeat.running(None)

    def _follow(self, study: Study, config: SweepConfig, trial: Trial, gpu: str | None, curves: _Curves) -> str:
        limit = run_limit(study, config)
        if limit is not None and trial.number >= limit and trial.retries == 0:
            # Another agent created the last run between our check and our ask: this one never runs.
            trial.set_user_attr("sweep_not_run", True)
            why = f"not run: the sweep had all {limit} run(s) when it started"
            study.tell(trial, state=TrialState.PRUNED, error=why)
            return "not_run"
        config.space.suggest_conditionals(trial.suggest, trial.params)
        run_config = config.space.config_for(trial.params)
        trial.set_user_attr("sweep_config", run_config)
        trial.store()
        tmpdir = tempfile.mkdtemp(prefix="tunesmith-sweep-")
        json_file = os.path.join(tmpdir, "args.json")
        if uses_json_file(config.command):
            with open(json_file, "w", encoding="utf-8") as f:
                json.dump(run_config, f)
        argv = build_command(config.command, config.program, run_config, json_file=json_file)
        trial.set_user_attr("command", shlex.join(argv))
        shown = shlex.join(argv) + (f" (CUDA_VISIBLE_DEVICES={gpu})" if gpu else "")
        self.echo(f"agent: trial {trial.number}: {shown}")
        env = dict(os.environ)
        env.update({ENV_STORAGE: self.url, ENV_STUDY: study.name, ENV_TRIAL: str(trial.trial_id),
                    ENV_ATTEMPT: str(trial.attempt)})
        if gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = gpu
            trial.set_user_attr("cuda_visible_devices", gpu)
        started = time.monotonic()
        try:
            child = self._start(argv, env)
        except OSError as e:
            self.guard.record(failed=True)
            study.tell(trial, state=TrialState.FAILED, error=f"could not start {shlex.join(argv)}: {e}")
            self._cleanup(tmpdir)
            return "failed"
        try:
            state, values, error = self._watch(study, config, trial, child, curves)
        except BaseException:
            child.terminate(self.options.kill_grace_s)
            child.join()
            self._cleanup(tmpdir)
            raise
        self._cleanup(tmpdir)
        runtime = time.monotonic() - started
        if state == TrialState.COMPLETE and not config.has_metric:
            values = [runtime]
        if state == TrialState.COMPLETE and values is None:
            state, error = TrialState.FAILED, (
                f"the program exited 0 but reported no {config.metric!r} (print {config.metric}=... or call "
                f"tunesmith.log({{{config.metric!r}: ...}}))")
        self.guard.record(failed=state == TrialState.FAILED)
        frozen = study.tell(trial, values, state=state, error=error)
        shown = "" if not frozen.values else f" {config.metric}={frozen.values[0]:g}"
        self.echo(f"agent: trial {trial.number} {frozen.state.name}{shown} ({runtime:.1f}s)")
        return frozen.state.name.lower()

    @staticmethod
    def _cleanup(tmpdir: str) -> None:
        import shutil

        shutil.rmtree(tmpdir, ignore_errors=True)

    def _start(self, argv: list[str], env: Mapping[str, str]) -> _Child:
        proc = subprocess.Popen(
            [*_PDEATHSIG_PREFIX, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(env),
            start_new_session=True,
        )
        child = _Child(proc)
        forward = self.options.forward_output
        assert proc.stdout is not None and proc.stderr is not None
        out = threading.Thread(target=_pump_lines, args=(proc.stdout, child.lines, sys.stdout if forward else None),
                               daemon=True)
        err = threading.Thread(target=_pump, args=(proc.stderr, child.stderr_tail.append,
                                                   sys.stderr if forward else None), daemon=True)
        out.start()
        err.start()
        child.threads = [out, err]
        return child

    def _watch(
        self, study: Study, config: SweepConfig, trial: Trial, child: _Child, curves: _Curves,
    ) -> tuple[TrialState, list[float] | None, str | None]:
        """Follow the child until it exits or is stopped; returns how the trial ends."""
        rule = config.hyperband
        curves.refresh()
        # Reports this agent wrote from stdout, counted from those the trial had (a retried one's):
        # once the store holds more, the program reports itself (tunesmith.log) and stdout is only echoed.
        written = curves.count.get(trial.trial_id, 0)
        step = trial.last_step or 0
        last: dict[str, Any] = dict(trial.last_result)
        stop: list[str] = []  # why the run is stopped (empty: it goes on)

        def absorb() -> None:
            """Read new reports; ours update the last values and go to the scheduler / hyperband."""
            nonlocal step
            for trial_id, rstep, metrics in curves.refresh():
                if trial_id != trial.trial_id:
                    continue
                step = max(step, rstep)
                last.update(metrics)
                if not stop and study.scheduler is not None:
                    end = study.supervisor.decide(trial.number, trial.trial_id, rstep, metrics)
                    if end == TrialState.COMPLETE:  # the scheduler's budget (max_t) is spent: a full run
                        stop.append("budget")
                    elif end is not None:
                        stop.append(f"early_terminate ({config.early and config.early['type']})")
            if not stop and rule is not None and rule.should_stop(curves.curves, trial.trial_id):
                stop.append("early_terminate (hyperband)")

        def from_stdout(line: str) -> None:
            nonlocal step, written
            parsed = parse_metrics(line, config.metric)
            if parsed is None:
                return
            absorb()
            if written != curves.count.get(trial.trial_id, 0) or stop:
                return  # the program reports through tunesmith.log: its stdout is not counted twice
            step += 1
            study.storage.append_report(study.study_id, trial.trial_id, step, {**parsed, "training_iteration": step},
                                        attempt=trial.attempt)
            written += 1
            absorb()

        next_poll = time.monotonic() + self.options.poll_s
        eof = False
        while True:
            wait = max(0.0, min(next_poll - time.monotonic(), self.options.poll_s))
            if not eof:
                try:
                    line = child.lines.get(timeout=wait)
                except queue.Empty:
                    line = ""
                if line is None:
                    eof = True
                elif line:
                    from_stdout(line)
            else:
                try:  # the output ended: the process is exiting
                    child.proc.wait(wait)
                except subprocess.TimeoutExpired:
                    pass
            exited = eof and child.proc.poll() is not None
            if time.monotonic() >= next_poll:
                next_poll = time.monotonic() + self.options.poll_s
                absorb()
                if not stop and get_state(study) == "cancelled":
                    stop.append("cancelled")
            if self.stop_event.is_set() and self.ended_by == "interrupted":
                raise KeyboardInterrupt
            if stop and not exited:
                self.echo(f"agent: trial {trial.number}: {stop[0]}: SIGTERM")
                child.terminate(self.options.kill_grace_s)
                exited = True
            if exited:
                child.join()
                while not child.lines.empty():  # lines read after the last poll
                    rest = child.lines.get()
                    if rest:
                        from_stdout(rest)
                absorb()
                break
        value = last.get(config.metric)
        values = [float(value)] if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        if stop and stop[0] == "budget" and values is not None:
            return TrialState.COMPLETE, values, None
        if stop:
            return TrialState.PRUNED, values, None if stop[0].startswith("early") else stop[0]
        code = child.proc.returncode
        if code != 0:
            tail = "\n".join(child.stderr_tail)
            return TrialState.FAILED, None, f"the program exited with status {code}" + (
                f"; its stderr ended with:\n{tail}" if tail else "")
        return TrialState.COMPLETE, values, None

"""``tunesmith sweep`` (create, stop, cancel, pause, resume) and ``tunesmith agent``: W&B sweeps, offline."""

from __future__ import annotations

import os
import shlex
import signal
import sys
import threading
from types import FrameType

import click

from tunesmith.cli._open import command_storage_option, open_storage, storage_url

__all__ = ["agent_command", "sweep_command"]

_ACTIONS = {"stop": "stopped", "cancel": "cancelled", "pause": "paused", "resume": "running"}


@click.command("sweep")
@click.argument("config_file", required=False, type=click.Path(dir_okay=False))
@click.option("--name", default=None, metavar="NAME", help="The sweep's id (default: the YAML's name, else a new one).")
@click.option("--seed", type=int, default=None, help="Seed of the sweep's sampler.")
@click.option("--stop", "stop", metavar="SWEEP_ID", default=None,
              help="Start no new run; running ones finish (agents end).")
@click.option("--cancel", "cancel", metavar="SWEEP_ID", default=None,
              help="Start no new run and stop the running ones (PRUNED).")
@click.option("--pause", "pause", metavar="SWEEP_ID", default=None,
              help="Start no new run until --resume; running ones go on, agents wait.")
@click.option("--resume", "resume", metavar="SWEEP_ID", default=None, help="Undo --pause (or --stop).")
@command_storage_option
@click.pass_context
def sweep_command(
    ctx: click.Context, config_file: str | None, name: str | None, seed: int | None, stop: str | None,
    cancel: str | None, pause: str | None, resume: str | None, storage: str | None,
) -> None:
    """Create a sweep from a W&B sweep YAML file, or change a sweep's state.

    The sweep is a study in the storage (SQLite on one machine, PostgreSQL for many; no
    internet, no W&B account). It prints the sweep id and the command that starts an
    agent. Agents run only the YAML's program/command, which is stored with the sweep.
    """
    url = storage_url(ctx, storage)
    actions = {k: v for k, v in (("stop", stop), ("cancel", cancel), ("pause", pause), ("resume", resume)) if v}
    if actions:
        if config_file is not None or len(actions) > 1:
            raise click.UsageError("give one of --stop/--cancel/--pause/--resume SWEEP_ID, or a sweep YAML file")
        (action, sweep_id), = actions.items()
        from tunesmith.sweeps import load_sweep, set_state

        study, _ = load_sweep(sweep_id, open_storage(url, read_only=False))
        set_state(study, _ACTIONS[action])
        click.echo(f"sweep {sweep_id}: {_ACTIONS[action]}")
        return
    if config_file is None:
        raise click.UsageError("give a sweep YAML file (tunesmith sweep sweep.yaml), or --stop/--cancel/... SWEEP_ID")
    from tunesmith.exceptions import DuplicatedStudyError
    from tunesmith.storage import get_storage
    from tunesmith.sweeps import SweepConfig, SweepConfigError, SweepDocument, create_sweep

    try:
        doc = SweepDocument.from_file(config_file)
        config = SweepConfig.parse(doc)
    except OSError as e:
        raise click.BadParameter(f"cannot read {config_file}: {e.strerror}", param_hint="CONFIG_FILE") from None
    except SweepConfigError as e:
        raise click.ClickException(str(e)) from None
    if config.program and not os.path.exists(config.program):
        raise click.ClickException(
            f"{doc.where(('program',))}: program {config.program!r} not found in {os.getcwd()} "
            "(agents run it from their current directory, as W&B's do)")
    for note in config.notes:
        click.echo(f"note: {note}", err=True)
    try:
        study, config = create_sweep(doc, get_storage(url), name or doc.data.get("name"), seed)
    except (SweepConfigError, DuplicatedStudyError, ValueError) as e:
        raise click.ClickException(f"cannot create the sweep: {e}") from None
    agent = f"tunesmith agent {shlex.quote(study.name)} --storage {shlex.quote(url)}"
    click.echo(f"created sweep {study.name} ({config.method}, {len(config.space.parameters)} parameter(s)) in {url}",
               err=True)
    click.echo(f"sweep id: {study.name}")
    click.echo(f"run an agent with: {agent}")


def _interrupt_on_signals() -> None:
    """SIGINT and SIGTERM end an agent: its child is stopped and its run re-queued.

    SIGINT too, explicitly: an agent started in the background by a shell inherits SIGINT ignored.
    """
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


@click.command("agent")
@click.argument("sweep_id")
@click.option("--count", type=click.IntRange(min=1), default=None, help="Runs this agent starts (default: until done).")
@click.option("--gpus", default=None, metavar="0,1",
              help="Run one trial per GPU at once, each with CUDA_VISIBLE_DEVICES set to its GPU.")
@click.option("--poll", "poll_s", type=click.FloatRange(min=0.01), default=1.0, show_default=True,
              help="Seconds between checks of the sweep's state and other runs' reports.")
@click.option("--kill-grace", "kill_grace_s", type=click.FloatRange(min=0), default=10.0, show_default=True,
              help="Seconds between SIGTERM and SIGKILL when a run is stopped.")
@click.option("--heartbeat-interval", "hb_interval", type=click.FloatRange(min=0.01), default=5.0, show_default=True,
              help="Seconds between renewals of the running trial's lease.")
@click.option("--heartbeat-grace", "hb_grace", type=click.FloatRange(min=0.02), default=30.0, show_default=True,
              help="A run with no heartbeat for this long (its agent was lost) is re-queued by any agent.")
@click.option("--max-retries", type=click.IntRange(min=0), default=1, show_default=True,
              help="Times a run whose agent was lost runs again before it is FAILED.")
@click.option("--no-flapping-guard", is_flag=True, help="Do not stop after 3 failed runs in the first 60 s.")
@click.option("-q", "--quiet", is_flag=True, help="Do not pass the program's output through.")
@click.option("--config", "confirm_config", type=click.Path(dir_okay=False, exists=True), default=None,
              metavar="SWEEP.yaml",
              help="Your copy of the sweep file: confirms a custom command stored with the sweep.")
@click.option("--trust-stored-command", is_flag=True,
              help="Run the sweep's stored command whatever it is (whoever can write the storage can then run code "
                   "here).")
@command_storage_option
@click.pass_context
def agent_command(
    ctx: click.Context, sweep_id: str, count: int | None, gpus: str | None, poll_s: float, kill_grace_s: float,
    hb_interval: float, hb_grace: float, max_retries: int, no_flapping_guard: bool, quiet: bool,
    confirm_config: str | None, trust_stored_command: bool, storage: str | None,
) -> None:
    """Run SWEEP_ID's program, one trial after another (or one per GPU), until the sweep ends.

    Start agents on any machine that reaches the storage, at any time. Each prints the
    command of each run before it starts it: only the sweep's program/command is run. The
    default command (this Python running a program file below the current directory) runs
    as stored; a custom ``command`` needs --config (your copy of the sweep file) or
    --trust-stored-command, since whoever can write the storage would otherwise choose it.
    Ctrl-C stops the running program and re-queues its trial (exit status 130).
    """
    from tunesmith.sweeps import Agent, AgentOptions, SweepConfigError

    url = storage_url(ctx, storage)
    store = open_storage(url, read_only=False)
    if store.url is None:
        raise click.BadParameter("agents need a shared storage (sqlite:///... or postgresql://...)",
                                 param_hint="'--storage'")
    if not hb_grace > hb_interval:
        raise click.BadParameter(f"must exceed --heartbeat-interval ({hb_interval:g})",
                                 param_hint="'--heartbeat-grace'")
    slots = [g.strip() for g in gpus.split(",") if g.strip()] if gpus else None
    options = AgentOptions(
        count=count, gpus=slots, poll_s=poll_s, kill_grace_s=kill_grace_s, heartbeat_interval_s=hb_interval,
        heartbeat_grace_s=hb_grace, max_retries=max_retries, flapping_failures=0 if no_flapping_guard else 3,
        forward_output=not quiet, confirm_config=confirm_config, trust_stored_command=trust_stored_command,
    )
    try:
        agent = Agent(sweep_id, url, options)
    except SweepConfigError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"agent {os.uname().nodename}/{os.getpid()} joins sweep {sweep_id} in {url} "
               f"({f'{count} run(s)' if count else 'until the sweep ends'}; Ctrl-C stops it)", err=True)
    _interrupt_on_signals()
    code = agent.run()
    click.echo(f"agent ran {sum(agent.counts.values())} run(s): "
               + (", ".join(f"{n} {s}" for s, n in sorted(agent.counts.items())) or "none"), err=True)
    if code == 130:
        click.echo("interrupted", err=True)
    if code:
        sys.exit(code)

"""Who holds a running trial: an identity for this process that outlives a reused pid.

A worker stamps its identity on every trial it starts. A driver that restarts (after
``kill -9`` or a crash) tells from it, without waiting for a lease to expire, which
RUNNING trials were held by a process of this machine that no longer exists.

The identity is ``host/pid/start/space``: ``start`` is the process's start time (so a
reused pid is not mistaken for it) and ``space`` names the boot and the pid namespace
(containers that share a host name but not their pids are not judged by each other).

>>> owner = identity()
>>> is_gone(owner)
False
>>> host, pid, start, space = owner.split("/")
>>> is_gone(f"{host}/999999999/0/{space}")
True
>>> is_gone(f"{host}/999999999/0/another-boot")   # not ours to judge: only its lease can tell
False
"""

from __future__ import annotations

import functools
import os
import socket

__all__ = ["identity", "is_gone"]


def _stat_fields(pid: int) -> list[bytes] | None:
    """Fields 3... of ``/proc/<pid>/stat`` (state first), or None where unreadable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    return stat[stat.rfind(b")") + 2:].split()


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), or None where unknown."""
    fields = _stat_fields(pid)
    return fields[19].decode() if fields is not None and len(fields) > 19 else None


@functools.cache
def _space() -> str:
    """This boot and pid namespace (empty where /proc does not tell)."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot = f.read().strip()[:8]
        return f"{boot}-{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        return ""


@functools.cache
def _cached(pid: int) -> str:
    return f"{socket.gethostname()}/{pid}/{_start_ticks(pid) or 0}/{_space()}"


def identity() -> str:
    """Unique to this process on this machine (forked children get their own)."""
    return _cached(os.getpid())


def is_gone(owner: str | None) -> bool:
    """True if ``owner`` names a process of this machine (and pid namespace) that has exited.

    Its pid is free, reused by a later process, or held by a zombie. An owner elsewhere,
    or in an unknown format, is never judged gone here: only its lease (the heartbeat) can tell.
    """
    if not owner:
        return False
    parts = owner.split("/")
    if len(parts) != 4 or not parts[1].isdigit():
        return False
    host, pid_text, start, space = parts
    if host != socket.gethostname() or not space or space != _space():
        return False
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, another user's
    fields = _stat_fields(pid)
    if fields is None:
        return True  # exited between the two looks
    if fields[0] == b"Z":
        return True  # exited, not yet reaped by its parent
    now = fields[19].decode() if len(fields) > 19 else None
    return now is not None and start not in ("", "0") and now != start

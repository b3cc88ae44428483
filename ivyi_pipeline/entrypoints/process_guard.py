"""The guard of `ivyi ui`: stops every process of its children's sessions once ivyi is gone.

`ivyi ui` starts it first (`python -m ivyi_pipeline.entrypoints.process_guard`, in a session of
its own) and writes the session id of each child it starts to the guard's stdin, one a line. The
guard reads until end of file, which comes when ivyi ends, however it ends (a normal exit, a
signal, SIGKILL, an OOM kill): the kernel closes the pipe. It then sends SIGTERM to every
process in those sessions (the webserver, the daemon, their code servers and run workers:
Dagster starts them without a session of their own), waits a few seconds, and sends SIGKILL
to what is left. SIGTERM to the guard itself does the same at once; SIGINT and SIGHUP (a
terminal's Ctrl-C or hang-up, which reach ivyi) are left to ivyi.

A session id stays reserved while any process is in the session, so it never names an
unrelated process. Linux only (/proc).
"""

import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterable
from pathlib import Path

GRACE_SECONDS = 5.0
"""How long the processes get to stop after SIGTERM before SIGKILL."""


class _Terminated(Exception):
    """SIGTERM arrived: stop the sessions now."""


_reading = True


def _terminated(_signum, _frame) -> None:
    if _reading:
        raise _Terminated


def members(sessions: Iterable[int]) -> set[int]:
    """The living processes (not zombies) of these sessions, except this one."""
    wanted, found = set(sessions), set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, _ppid, _pgrp, session = stat[stat.rindex(")") + 2 :].split()[:4]
        if state not in ("Z", "X") and int(session) in wanted:
            found.add(int(entry.name))
    return found


def _signal(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def stop_sessions(sessions: set[int], grace: float = GRACE_SECONDS) -> None:
    """SIGTERM every process of the sessions, then SIGKILL what is left after `grace` seconds."""
    if not sessions:
        return
    _signal(members(sessions), signal.SIGTERM)
    deadline = time.monotonic() + grace
    while members(sessions) and time.monotonic() < deadline:
        time.sleep(0.1)
    for _ in range(20):  # a process may still fork while its session is being killed
        left = members(sessions)
        if not left:
            return
        _signal(left, signal.SIGKILL)
        time.sleep(0.05)


def read_sessions(stream) -> set[int]:
    """Session ids, one a line, until end of file or SIGTERM."""
    sessions: set[int] = set()
    try:
        for line in stream:
            if line.strip().isdigit():
                sessions.add(int(line))
    except _Terminated:
        pass
    return sessions


def main() -> None:
    """Wait for ivyi to end, then stop what it started."""
    global _reading
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _terminated)
    sessions = read_sessions(sys.stdin)
    _reading = False
    stop_sessions(sessions)


if __name__ == "__main__":
    main()

"""`ivyi ui`: the Dagster webserver and daemon on this data, bound to 127.0.0.1.

On an empty database the demo data is first driven through the pipeline by `ivyi demo`'s
code, which ends with the funnel materialized as of every simulated instant, so the UI opens on
runs, partitions, check results and a funnel with a history to plot.
"""

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.locks import flock
from ivyi_pipeline.entrypoints.demo import run_demo
from ivyi_pipeline.entrypoints.process_guard import GRACE_SECONDS as GUARD_GRACE_SECONDS
from ivyi_pipeline.errors import EnvironmentProblem
from ivyi_pipeline.settings import DATA_CLOCK_ENV, Settings
from ivyi_pipeline.workflows.gifting_process.data_clock import data_now

HOST = "127.0.0.1"
LOCATION = "ivyi_pipeline"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
GRACE_SECONDS = 20
"""How long the children get to shut down (and stop their code servers) before SIGKILL."""
PR_SET_PDEATHSIG = 1
DAEMON_LOCK = ".ivyi-daemon.lock"
"""In DAGSTER_HOME: held by `ivyi ui` and its daemon, so one instance has one daemon."""
WORKSPACE = f"""load_from:
  - python_module:
      module_name: ivyi_pipeline.definitions
      location_name: {LOCATION}
"""


def is_empty(engine: sa.Engine) -> bool:
    """True when no domain table holds a row yet."""
    from ivyi_pipeline.data.origin import holds_data

    with engine.connect() as conn:
        return not holds_data(conn)


def prepare(
    settings: Settings,
    instance: dg.DagsterInstance,
    as_of: datetime,
    echo: Callable[[str], None],
    seed: int = 7,
    days: int = 45,
) -> bool:
    """Drive the demo through the pipeline if the database is empty; True when it did."""
    engine = get_engine(settings.database_url)
    if not is_empty(engine):
        echo("the database already holds data; opening the UI on it as it is")
        return False
    run_demo(settings, instance, as_of, days, seed, echo)  # ends with the funnel materialized
    return True


def write_workspace(settings: Settings) -> Path:
    """A workspace file that loads the code location from the installed package."""
    from ivyi_pipeline.atomic_files import write_text_atomically

    path = settings.home / "workspace.yaml"
    if not path.is_file() or path.read_text() != WORKSPACE:
        write_text_atomically(path, WORKSPACE)
    return path


class _Stopped(Exception):
    """A stop signal arrived."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_stopped(signum, _frame) -> None:
    raise _Stopped(signum)


def _child_setup(parent: int, die_with_parent: bool = True) -> Callable[[], None]:
    """What a child does before exec: default stop signals and an empty signal mask (ivyi
    blocks them while it starts children, and the mask is inherited), and on Linux SIGTERM
    when ivyi dies, even by SIGKILL (PR_SET_PDEATHSIG), or no start at all if it already has."""

    prctl = None
    if die_with_parent:
        with contextlib.suppress(OSError, AttributeError):
            prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here, not after fork

    def setup() -> None:
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, ())
        if die_with_parent:
            if prctl is not None:
                prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGKILL)

    return setup


@contextlib.contextmanager
def daemon_lock(dagster_home: Path) -> Iterator[int]:
    """Hold DAGSTER_HOME's daemon lock (an flock, gone with the last process holding it);
    refuse, in one line, while another `ivyi ui` or the daemon it started holds it.

    Yields the lock's file descriptor, which the daemon inherits: the lock lives as long as
    `ivyi ui` or its daemon does, and a lock left by a dead process blocks nothing.
    """
    path = dagster_home / DAEMON_LOCK
    with open(path, "a+") as handle:
        try:
            flock(handle, wait=False)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise EnvironmentProblem(
                f"another `ivyi ui` (pid {holder}) already runs the Dagster daemon on "
                f"DAGSTER_HOME={dagster_home}; one daemon per instance: stop that one first, "
                "or open this UI on another DAGSTER_HOME"
            ) from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield handle.fileno()


def _start_guard(env: dict[str, str]) -> subprocess.Popen:
    """The process guard (process_guard.py): it stops the children's sessions once ivyi ends."""
    return subprocess.Popen(
        [sys.executable, "-m", "ivyi_pipeline.entrypoints.process_guard"],
        env=env,
        stdin=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_child_setup(os.getpid(), die_with_parent=False),
    )


def _guard_session(guard: subprocess.Popen, session: int) -> None:
    with contextlib.suppress(OSError):
        guard.stdin.write(f"{session}\n")
        guard.stdin.flush()


def _release_guard(guard: subprocess.Popen) -> None:
    with contextlib.suppress(OSError):
        guard.stdin.close()
    try:
        guard.wait(timeout=GUARD_GRACE_SECONDS + 5)
    except subprocess.TimeoutExpired:
        guard.kill()
        guard.wait()


def check_port_free(port: int) -> None:
    """Refuse a port another program already listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            raise EnvironmentProblem(
                f"port {port} on {HOST} is not free ({exc.strerror}); pick another with --port"
            ) from None


def descendants(pid: int) -> set[int]:
    """Every living process below pid, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"


def _signal_all(groups: Iterable[int], pids: Iterable[int], sig: int) -> None:
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, sig)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _stop(
    processes: list[subprocess.Popen],
    spare: set[int],
    grace: float = GRACE_SECONDS,
    first: subprocess.Popen | None = None,
) -> None:
    """SIGTERM every child's process group (their code servers and runs are in it), wait, then
    SIGKILL whatever is left, including descendants that left the group; `spare` (the guard)
    is left alone. `first` (the daemon) gets SIGTERM alone before the rest, so it stops its
    sensor threads before the code server they are talking to goes away (a sensor tick cut
    off by its code server's end logs a gRPC traceback)."""

    def below() -> set[int]:
        return descendants(os.getpid()) - spare

    deadline = time.monotonic() + grace
    if first is not None and first.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            first.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            first.wait(timeout=grace / 2)
    started = below()
    groups = [process.pid for process in processes]
    _signal_all(groups, started, signal.SIGTERM)
    while time.monotonic() < deadline:
        for process in processes:
            process.poll()
        if not any(_alive(pid) for pid in started | below()):
            break
        time.sleep(0.2)
    _signal_all(groups, started | below(), signal.SIGKILL)
    for process in processes:
        process.wait()


def serve(
    settings: Settings, port: int, echo: Callable[[str], None], lock_fd: int | None = None
) -> int:
    """Run dagster-webserver (127.0.0.1:port) and dagster-daemon until one stops or a signal.

    SIGINT, SIGTERM and SIGHUP stop both and everything they started; the exit status is
    128 + the signal (130 for Ctrl-C), or the status of the child that stopped first. However
    ivyi ends, even by SIGKILL, both get SIGTERM from the kernel and the process guard stops
    everything in their sessions. The daemon inherits `lock_fd` (daemon_lock's).
    """
    check_port_free(port)
    workspace = str(write_workspace(settings))
    env = {
        **os.environ,
        "DAGSTER_HOME": os.environ.get("DAGSTER_HOME") or str(settings.dagster_home),
        "IVYI_HOME": str(settings.home),
        "IVYI_DATABASE_URL": settings.database_url,
        DATA_CLOCK_ENV: data_now(get_engine(settings.database_url)).isoformat(),
    }
    bin_dir = Path(sys.executable).parent
    commands = [
        ([str(bin_dir / "dagster-webserver"), "-h", HOST, "-p", str(port), "-w", workspace], ()),
        (
            [str(bin_dir / "dagster-daemon"), "run", "-w", workspace],
            () if lock_fd is None else (lock_fd,),
        ),
    ]
    previous = {sig: signal.signal(sig, _raise_stopped) for sig in STOP_SIGNALS}
    processes: list[subprocess.Popen] = []
    guard: subprocess.Popen | None = None
    status = 0
    try:
        # A signal arriving while a child starts is held until the child is in the list (the
        # children start with an empty mask).
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            guard = _start_guard(env)
            for command, kept in commands:
                process = subprocess.Popen(
                    command,
                    env=env,
                    start_new_session=True,
                    pass_fds=kept,
                    preexec_fn=_child_setup(os.getpid()),
                )
                processes.append(process)
                _guard_session(guard, process.pid)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        echo(f"Dagster UI on http://{HOST}:{port} (daemon running; Ctrl-C stops both)")
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        status = next(p.returncode for p in processes if p.returncode is not None) or 1
        echo("the webserver or the daemon stopped; stopping the other")
    except _Stopped as stopped:
        status = 128 + stopped.signum
        echo(f"{signal.Signals(stopped.signum).name}: stopping the webserver and the daemon")
    finally:
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        try:
            daemon = processes[1] if len(processes) > 1 else None
            _stop(processes, spare={guard.pid} if guard else set(), first=daemon)
        finally:
            if guard is not None:
                _release_guard(guard)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    return status

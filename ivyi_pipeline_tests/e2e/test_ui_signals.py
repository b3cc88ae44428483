"""`ivyi ui` listens on the loopback interface only, and it stops the webserver, the daemon and
the code servers they start on SIGTERM, SIGINT and SIGHUP, and exits 128 + the signal; its
children start with no signal blocked, nothing it started outlives a SIGKILL of it, and a second
`ivyi ui` on the same DAGSTER_HOME is refused."""

import datetime as dt
import os
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from ivyi_pipeline.data import generate_dataset, seed_database
from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.migrate import upgrade
from ivyi_pipeline_tests.conftest import IVYI_COMMAND

pytestmark = pytest.mark.integration

MARKER = "IVYI_UI_SIGNAL_TEST"


def _marked(token: str) -> dict[int, str]:
    """Living processes whose environment carries the token: every descendant of the run."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if f"{MARKER}={token}".encode() in environ.split(b"\0") and not _zombie(stat):
            found[int(entry.name)] = command
    return found


def _blocked_signals(pid: int) -> int | None:
    """The process's blocked-signal mask (SigBlk in /proc/<pid>/status), None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    (line,) = [line for line in status.splitlines() if line.startswith("SigBlk:")]
    return int(line.split()[1], 16)


def _zombie(stat: str) -> bool:
    return stat[stat.rindex(")") + 2] == "Z"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listeners(port: int) -> set[str]:
    """The local addresses of sockets listening on the port (IPv4 and IPv6, from /proc)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


LOOPBACK = {"0100007F", "00000000000000000000000001000000"}
"""127.0.0.1 and ::1 as /proc/net/tcp{,6} spell them."""


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def seeded_home(tmp_path_factory) -> Path:
    """An IVYI_HOME whose database holds data, so `ivyi ui` opens on it without the demo."""
    home = tmp_path_factory.mktemp("ui_home")
    url = f"sqlite:///{home / 'ivyi.db'}"
    upgrade(url)
    seed_database(get_engine(url), generate_dataset(as_of=dt.date(2026, 6, 1), occasions=20))
    get_engine(url).dispose()
    return home


def _start_ui(home: Path, tmp_path: Path, token: str, port: int) -> subprocess.Popen:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "IVYI_HOME": str(home), MARKER: token}
    return subprocess.Popen(
        [str(IVYI_COMMAND), "ui", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_until_serving(ui: subprocess.Popen, token: str, port: int) -> dict[int, str]:
    """Wait until the webserver answers and both code servers run; the marked processes."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and ui.poll() is None:
        servers = [c for c in _marked(token).values() if " api grpc" in c]
        if _answers(port) and len(servers) >= 2:
            break
        time.sleep(1)
    return _marked(token)


def _survivors(token: str, within: float) -> dict[int, str]:
    """The marked processes still alive after waiting up to `within` seconds for them to go."""
    survivors = _marked(token)
    give_up = time.monotonic() + within
    while survivors and time.monotonic() < give_up:
        time.sleep(0.2)
        survivors = _marked(token)
    return survivors


@pytest.mark.parametrize(
    ("sig", "status"),
    [
        (signal.SIGTERM, 143),
        pytest.param(signal.SIGINT, 130, marks=pytest.mark.slow),
        pytest.param(signal.SIGHUP, 129, marks=pytest.mark.slow),
    ],
    ids=["SIGTERM", "SIGINT", "SIGHUP"],
)
def test_ivyi_ui_listens_on_loopback_only_and_a_stop_signal_leaves_no_process_it_started_running(
    seeded_home, tmp_path, sig, status
):
    token, port = uuid.uuid4().hex, _free_port()
    ui = _start_ui(seeded_home, tmp_path, token, port)
    try:
        running = _wait_until_serving(ui, token, port)
        listening = _listeners(port)
        assert ui.poll() is None, ui.stdout.read()
        assert _answers(port), running
        # Once up, `ivyi ui` listens on loopback only (was its own test in
        # test_reliability_security.py, which started a second `ivyi ui` on the demo home).
        assert listening, f"nothing listened on port {port}"
        assert listening <= LOOPBACK, listening
        assert any("dagster-webserver" in c for c in running.values()), running
        assert any("dagster-daemon" in c for c in running.values()), running
        assert sum(" api grpc" in c for c in running.values()) >= 2, running

        ui.send_signal(sig)
        code = ui.wait(timeout=90)
        output = ui.stdout.read()
    finally:
        if ui.poll() is None:
            ui.kill()
            ui.wait()
    survivors = _survivors(token, within=5)

    assert code == status, output
    assert "Traceback" not in output
    assert f"{signal.Signals(sig).name}: stopping the webserver and the daemon" in output
    assert survivors == {}, f"still running after ivyi exited: {survivors}"
    assert not _answers(port)


def test_ivyi_ui_children_block_no_signal_and_none_outlives_a_sigkill_of_ivyi_ui(
    seeded_home, tmp_path
):
    """The stop signals reach the children (no inherited mask), the kernel's death signal and
    the process guard stop everything once ivyi is killed, and one instance has one daemon:
    a second `ivyi ui` is refused while the first runs, and its lock does not outlive it."""
    from ivyi_pipeline.entrypoints.ui import daemon_lock

    token, port = uuid.uuid4().hex, _free_port()
    ui = _start_ui(seeded_home, tmp_path, token, port)
    try:
        running = _wait_until_serving(ui, token, port)
        masks = {pid: _blocked_signals(pid) for pid in running if pid != ui.pid}
        masks = {pid: mask for pid, mask in masks.items() if mask is not None}
        second = subprocess.run(
            [str(IVYI_COMMAND), "ui", "--port", str(_free_port())],
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "IVYI_HOME": str(seeded_home)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        first_still_serves = _answers(port)
        ui.kill()
        ui.wait(timeout=10)
    finally:
        if ui.poll() is None:
            ui.kill()
            ui.wait()
    survivors = _survivors(token, within=15)

    assert any("dagster-daemon" in c for c in running.values()), running
    assert sum(" api grpc" in c for c in running.values()) >= 2, running
    assert any("process_guard" in c for c in running.values()), running
    assert len(masks) >= 5, running  # the guard, the webserver, the daemon, 2 code servers
    assert set(masks.values()) == {0}, masks
    assert second.returncode == 1, second.stdout + second.stderr
    assert second.stderr.splitlines() == [
        f"error: another `ivyi ui` (pid {ui.pid}) already runs the Dagster daemon on "
        f"DAGSTER_HOME={seeded_home / 'dagster_home'}; one daemon per instance: stop that one "
        "first, or open this UI on another DAGSTER_HOME"
    ]
    assert first_still_serves
    assert survivors == {}, f"still running after ivyi was killed: {survivors}"
    assert not _answers(port)
    with daemon_lock(seeded_home / "dagster_home"):  # the dead one's lock blocks nothing
        pass

"""`ivyi ui` listens on the loopback interface only, and it stops the webserver, the daemon and
the code servers they start on SIGTERM, SIGINT and SIGHUP, and exits 128 + the signal."""

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
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "IVYI_HOME": str(seeded_home),
        MARKER: token,
    }
    ui = subprocess.Popen(
        [str(IVYI_COMMAND), "ui", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and ui.poll() is None:
            servers = [c for c in _marked(token).values() if " api grpc" in c]
            if _answers(port) and len(servers) >= 2:
                break
            time.sleep(1)
        running = _marked(token)
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
    survivors = _marked(token)
    give_up = time.monotonic() + 5
    while survivors and time.monotonic() < give_up:
        time.sleep(0.2)
        survivors = _marked(token)

    assert code == status, output
    assert "Traceback" not in output
    assert f"{signal.Signals(sig).name}: stopping the webserver and the daemon" in output
    assert survivors == {}, f"still running after ivyi exited: {survivors}"
    assert not _answers(port)

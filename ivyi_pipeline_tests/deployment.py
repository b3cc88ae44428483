"""Helpers for tests that run Dagster's production processes: databases, services, GraphQL."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from ivyi_pipeline_tests.conftest import PG_ADMIN_URL

REPO_ROOT = Path(__file__).resolve().parents[1]
PRODUCTION_DAGSTER_YAML = REPO_ROOT / "dagster.yaml"
HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on the loopback interface that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def executable(name: str) -> str:
    """A console script installed next to this Python (the project's venv)."""
    return str(Path(sys.executable).with_name(name))


@contextmanager
def throwaway_database(prefix: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the test server; dropped (connections cut) after."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield (
            sa.engine.make_url(PG_ADMIN_URL)
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def wait_for(
    condition: Callable[[], object], timeout: float, what: str, explain: Callable[[], str]
) -> object:
    """Poll `condition` until it returns something truthy; fail with `explain()` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout:.0f} s\n{explain()}")
        time.sleep(1)


class Services:
    """Long-running processes, each in its own process group with its output in a log file."""

    def __init__(self, log_dir: Path, env: dict[str, str]):
        self.log_dir = log_dir
        self.env = env
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str], cwd: Path | None = None) -> subprocess.Popen:
        """Start `command` as service `name` in a new session (so its children can be stopped)."""
        with open(self.log_dir / f"{name}.log", "wb") as log:
            process = subprocess.Popen(
                command,
                cwd=cwd or self.log_dir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[name] = process
        return process

    def check_alive(self) -> None:
        """Fail at once, with its log, when a service has exited."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise AssertionError(
                    f"{name} exited with {process.returncode}\n{self.tail(name, 4000)}"
                )

    def tail(self, name: str, chars: int = 2000) -> str:
        """The end of a service's log."""
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def tails(self, chars: int = 1500) -> str:
        """The end of every service's log, for failure messages."""
        return "\n".join(f"--- {name} ---\n{self.tail(name, chars)}" for name in self.processes)

    def stop(self, grace: float = 20) -> None:
        """SIGTERM every process group (the last started first), then SIGKILL what is left
        after one grace period for all of them: they shut down side by side, not in turn."""
        processes = list(reversed(self.processes.values()))
        for process in processes:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in processes:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for process in processes:
            _signal_group(process, signal.SIGKILL)  # a stuck leader, and any child it left
            process.wait()


def _signal_group(process: subprocess.Popen, sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def port_open(port: int) -> bool:
    """True when something accepts TCP connections on the loopback port."""
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((HOST, port)) == 0


class GraphQL:
    """The webserver's GraphQL endpoint on the loopback interface."""

    def __init__(self, port: int):
        self.url = f"http://{HOST}:{port}/graphql"

    def ready(self) -> bool:
        """True once the webserver answers a trivial query."""
        try:
            return "version" in self.query("{ version }")
        except (OSError, urllib.error.URLError, ValueError):
            return False

    def query(self, text: str, variables: dict | None = None) -> dict:
        """POST a query; its data, or an AssertionError naming the GraphQL errors."""
        body = json.dumps({"query": text, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = json.loads(response.read())
        if payload.get("errors"):
            raise AssertionError(f"GraphQL errors: {payload['errors']}")
        return payload["data"]

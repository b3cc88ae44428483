"""dagster-webserver on a free loopback port, ready once its code location has loaded:
benchmarks/ui_partitions.py and the browser tests (ivyi_pipeline_tests/e2e/test_ui_browser.py)
start it the same way. It lives here because benchmarks must not import the tests."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

HOST = "127.0.0.1"
LOCATION_LOADED = "{ repositoriesOrError { ... on RepositoryConnection { nodes { name } } } }"


def free_port() -> int:
    """A TCP port on the loopback interface that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def post_graphql(base: str, query: str, **variables) -> dict:
    """The webserver's whole answer (`data`, and `errors` if any) to one GraphQL query."""
    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(
        f"{base}/graphql", data=body, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


@contextmanager
def dagster_webserver(
    target: list[str],
    env: dict[str, str],
    log: Path,
    startup_seconds: float,
    cwd: Path,
    on_start: Callable[[int], None] | None = None,
) -> Iterator[tuple[str, float]]:
    """Run dagster-webserver with `target` (`-w FILE` or `-m MODULE`) on a free loopback port,
    its output in `log`; yield its base URL and the seconds until its code location loaded.
    `on_start`, if given, gets the webserver's process id once it answers (to profile it).

    Dagster's community prompt, which would cover the pages, is marked seen (as its Skip does).
    On exit the webserver and the code server it spawned (its process group) are stopped.
    """
    port = free_port()
    command = [str(Path(sys.executable).with_name("dagster-webserver"))]
    command += [*target, "-h", HOST, "-p", str(port)]
    with open(log, "w") as out:
        server = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://{HOST}:{port}"
    try:
        started = time.perf_counter()
        _wait_for_location(base, server, log, startup_seconds)
        startup = time.perf_counter() - started
        post_graphql(base, "mutation { setNuxSeen }")
        if on_start:
            on_start(server.pid)
        yield base, startup
    finally:
        stop_process_group(server)


def _wait_for_location(
    base: str, server: subprocess.Popen, log: Path, startup_seconds: float
) -> None:
    deadline = time.monotonic() + startup_seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"dagster-webserver exited with {server.returncode}; see {log}")
        try:
            if post_graphql(base, LOCATION_LOADED)["data"]["repositoriesOrError"].get("nodes"):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError, KeyError, TypeError):
            pass
        time.sleep(1)
    raise RuntimeError(
        f"dagster-webserver did not load the code location in {startup_seconds:.0f} s; see {log}"
    )


def stop_process_group(server: subprocess.Popen, grace: float = 60) -> None:
    """Stop a server started in its own session and what it spawned (its process group, e.g.
    the webserver's code server): SIGTERM, up to `grace` seconds, then SIGKILL."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    try:
        os.killpg(server.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass

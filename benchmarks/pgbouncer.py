"""A throwaway pgbouncer (Debian's package) in transaction pooling mode in front of PostgreSQL."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

BINARIES = ("pgbouncer", "/usr/sbin/pgbouncer")
INSTALL_HINT = "apt-get update && apt-get install -y pgbouncer"

CONFIG = """\
[databases]
* = host={host} port={port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen_port}
unix_socket_dir =
auth_type = trust
auth_file = {auth_file}
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
min_pool_size = 0
reserve_pool_size = 5
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
logfile = {logfile}
pidfile = {pidfile}
log_connections = 0
log_disconnections = 0
"""


def binary() -> str | None:
    """The pgbouncer executable, or None when the package is not installed."""
    for name in BINARIES:
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    """A TCP port on the loopback interface that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def via_pgbouncer(url: str, port: int) -> str:
    """The same database URL, pointed at pgbouncer's loopback port."""
    return (
        sa.engine.make_url(url)
        .set(host="127.0.0.1", port=port)
        .render_as_string(hide_password=False)
    )


@contextmanager
def pgbouncer(server_url: str, timeout: float = 20.0):
    """Run pgbouncer in front of server_url's host and port; yield its port, stop it after."""
    exe = binary()
    if exe is None:
        raise FileNotFoundError(f"pgbouncer is not installed ({INSTALL_HINT})")
    target = sa.engine.make_url(server_url)
    user = target.username or "postgres"
    workdir = Path(tempfile.mkdtemp(prefix="ivyi_pgbouncer_"))
    port = free_port()
    try:
        auth_file = workdir / "userlist.txt"
        auth_file.write_text(f'"{user}" "{target.password or ""}"\n')
        config = workdir / "pgbouncer.ini"
        config.write_text(
            CONFIG.format(
                host=target.host or "127.0.0.1",
                port=target.port or 5432,
                listen_port=port,
                auth_file=auth_file,
                logfile=workdir / "pgbouncer.log",
                pidfile=workdir / "pgbouncer.pid",
            )
        )
        command = [exe, str(config)]
        if os.geteuid() == 0:
            # pgbouncer refuses to run as root; it drops to the postgres user itself.
            shutil.chown(workdir, "postgres")
            for path in workdir.iterdir():
                shutil.chown(path, "postgres")
            command = [exe, "-u", "postgres", str(config)]
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        try:
            _wait_until_listening(process, port, timeout, workdir)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_until_listening(process: subprocess.Popen, port: int, timeout: float, workdir: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = workdir / "pgbouncer.log"
            detail = log.read_text() if log.exists() else process.stderr.read()
            raise RuntimeError(f"pgbouncer exited with {process.returncode}: {detail[-2000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"pgbouncer did not listen on 127.0.0.1:{port} within {timeout:.0f} s")

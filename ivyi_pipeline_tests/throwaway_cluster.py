"""A throwaway PostgreSQL cluster (initdb in a temp folder, its own port) for destructive tests."""

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

SUPERUSER = "postgres"
OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


def postgres_bin() -> Path | None:
    """The bin folder of the newest installed PostgreSQL (Debian's layout), if any."""
    found = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists()]
    versions = sorted(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    if versions:
        return versions[-1]
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """One PostgreSQL cluster in a folder of its own, on 127.0.0.1 and a free port."""

    def __init__(self, bin_dir: Path, folder: Path):
        self.bin_dir = bin_dir
        self.folder = folder
        self.data = folder / "data"
        self.sockets = folder / "sockets"
        self.log = folder / "postgres.log"
        self.port = _free_port()
        # initdb refuses to run as root: run the server binaries as the postgres user then.
        self.as_user = ["runuser", "-u", SUPERUSER, "--"] if os.geteuid() == 0 else []

    def _pg(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [*self.as_user, str(self.bin_dir / program), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{program} {' '.join(args)} failed: {done.stderr}\n{log}")
        return done

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        options = f"{OPTIONS} -p {self.port} -c listen_addresses=127.0.0.1"
        options += f" -c unix_socket_directories={self.sockets}"
        return self._pg(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, *args, check=check
        )

    def create(self) -> None:
        """initdb (trust authentication on loopback only) and start the server."""
        self.sockets.mkdir()
        if self.as_user:
            shutil.chown(self.folder, SUPERUSER, SUPERUSER)
            shutil.chown(self.sockets, SUPERUSER, SUPERUSER)
        self._pg("initdb", "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "-N")
        self.start()

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._pg_ctl("start", "-w", "-t", "60")

    def restart(self, mode: str = "fast", down_for: float = 0.0) -> None:
        """Stop the server (`fast`, or `immediate`: a crash), wait down_for seconds, start it."""
        self._pg_ctl("stop", "-m", mode, "-w", "-t", "60")
        time.sleep(down_for)
        self.start()

    def stop(self) -> None:
        """Stop the server at once, if it runs."""
        if (self.data / "postmaster.pid").exists():
            self._pg_ctl("stop", "-m", "immediate", "-w", check=False)

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL of one of the cluster's databases, over TCP on 127.0.0.1."""
        return f"postgresql+psycopg2://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str) -> None:
        """Run one statement as the superuser, outside a transaction (CREATE DATABASE ...)."""
        admin = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(sql))
        finally:
            admin.dispose()


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """A started cluster in a new temp folder; stopped (immediate) and removed on exit.

    The folder is made with `tempfile.mkdtemp`, not pytest's tmp_path: pytest's base folder is
    private to the user running the tests, which the postgres user cannot enter when that is root.
    """
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) are installed")
    cluster = Cluster(bin_dir, Path(tempfile.mkdtemp(prefix="ivyi-pg-")))
    try:
        cluster.create()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.folder, ignore_errors=True)


@pytest.fixture(scope="module")
def pg_cluster() -> Iterator[Cluster]:
    """A throwaway PostgreSQL cluster shared by one test module, never the shared server."""
    with throwaway_cluster() as cluster:
        yield cluster

"""Every bad input and bad environment of issue 13, through the real `ivyi` entry point.

Each case asserts: no traceback, exactly one `error:` line on stderr that names the fault and
what to do, the exit status, "run the command again" only for transient faults, and tables
unchanged. Cases that only read share one migrated, seeded database per backend per module;
cases that need a fresh interpreter (a dropped capability, a missing driver) use a subprocess.
"""

import contextlib
import csv
import datetime as dt
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from ivyi_pipeline.data import generate_dataset, seed_database, write_csv
from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.migrate import known_revisions, upgrade
from ivyi_pipeline.db.schema import metadata
from ivyi_pipeline.entrypoints.cli import main
from ivyi_pipeline_tests.conftest import IVYI_COMMAND, PG_ADMIN_URL, _pg_url
from ivyi_pipeline_tests.reliability import signal_only_in_the_wakeup_pipe
from ivyi_pipeline_tests.tiny_disk import mount_tiny_disk

FUTURE = "0099_from_a_newer_ivyi"
DATASET = generate_dataset(as_of=dt.date(2026, 6, 1), occasions=10, gifts=8, seed=13)
SOME_UUID = "5f0b7a52-1c5e-4d8e-9a0b-1a2b3c4d5e6f"
OTHER_UUID = "6a1c8b63-2d6f-4e9f-8b1c-2b3c4d5e6f70"
AGAIN = "run the command again"


def _snapshot(url: str) -> dict[str, object] | None:
    """Row counts of every table plus the revision and pipeline facts; None without a database."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            return None
        if not path.read_bytes().startswith(b"SQLite format 3"):
            return {"bytes": path.read_bytes()}
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            names = set(sa.inspect(conn).get_table_names())
            counts = {
                table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
                for table in metadata.sorted_tables
                if table.name in names
            }
            for extra in ("alembic_version", "pipeline_state"):
                if extra in names:
                    counts[f"{extra} rows"] = sorted(
                        map(tuple, conn.execute(sa.text(f"SELECT * FROM {extra}")).all())
                    )
            return counts
    finally:
        engine.dispose()


def _seeded_sqlite(path: Path) -> str:
    url = f"sqlite:///{path}"
    upgrade(url)
    seed_database(get_engine(url), DATASET)
    get_engine(url).dispose()
    return url


@pytest.fixture(scope="module")
def shared_sqlite(tmp_path_factory) -> str:
    """A migrated SQLite database holding a seeded data set (origin `seed`), never written to."""
    return _seeded_sqlite(tmp_path_factory.mktemp("shared") / "ivyi.db")


@pytest.fixture(scope="module")
def shared_postgres():
    """The same on a throwaway PostgreSQL database of this module."""
    name = f"ivyi_faults_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = _pg_url(name)
    upgrade(url)
    seed_database(get_engine(url), DATASET)
    yield url
    get_engine(url).dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def csv_template(tmp_path_factory) -> Path:
    """Valid CSV files of a data set not in the shared databases."""
    directory = tmp_path_factory.mktemp("csv") / "data"
    write_csv(generate_dataset(as_of=dt.date(2026, 6, 1), occasions=8, gifts=6, seed=99), directory)
    return directory


@dataclass
class Scene:
    """What a case may change before it runs: its folder, CSV copy, database URL and env."""

    tmp: Path
    csv: Path
    url: str
    env: dict[str, str] = field(default_factory=dict)
    watched: str | None = None
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    def rows(self, name: str) -> list[list[str]]:
        with (self.csv / f"{name}.csv").open(newline="") as handle:
            return list(csv.reader(handle))

    def write_rows(self, name: str, rows: list[list[str]]) -> None:
        with (self.csv / f"{name}.csv").open("w", newline="") as handle:
            csv.writer(handle).writerows(rows)

    def set_cell(self, name: str, row: int, column: str, value: str) -> None:
        rows = self.rows(name)
        rows[row][rows[0].index(column)] = value
        self.write_rows(name, rows)

    def own_sqlite(self, source: str | None = None) -> str:
        """A private copy of the shared SQLite database (or a new path), watched and used."""
        path = self.tmp / "own.db"
        if source is not None:
            shutil.copy(source.removeprefix("sqlite:///"), path)
        self.url = self.watched = f"sqlite:///{path}"
        return self.url


@dataclass(frozen=True)
class Case:
    """One bad input or environment: the command, what the line says, the exit status."""

    id: str
    args: tuple[str, ...]
    expect: tuple[str, ...]
    code: int = 1
    transient: bool = False
    backend: str = "sqlite"
    prepare: Callable[[Scene], None] | None = None
    fresh_interpreter: bool = False
    needs_root: bool = False
    never_says: tuple[str, ...] = ()


# --- how the cases set up their fault ---


def _comma_row_at_end(scene: Scene) -> None:
    rows = scene.rows("occasions")
    scene.write_rows("occasions", [*rows, [""] * len(rows[0])])


def _comma_row_in_middle(scene: Scene) -> None:
    rows = scene.rows("occasions")
    scene.write_rows("occasions", [*rows[:3], [""] * len(rows[0]), *rows[3:]])


def _cell(name: str, column: str, value: str, row: int = 2) -> Callable[[Scene], None]:
    return lambda scene: scene.set_cell(name, row, column, value)


def _huge_header(scene: Scene) -> None:
    rows = scene.rows("gifts")
    header = rows[0] + [f"extra_{i}" for i in range(200_000)]
    (scene.csv / "gifts.csv").write_text(
        ",".join(header) + "\n" + "\n".join(map(",".join, rows[1:]))
    )


def _many_columns(scene: Scene) -> None:
    rows = scene.rows("gifts")
    scene.write_rows("gifts", [row + [f"c{i}" for i in range(150)] for row in rows])


def _long_line(scene: Scene) -> None:
    scene.set_cell("gifts", 1, "tags", "x" * 70_000)


def _not_utf8(scene: Scene) -> None:
    path = scene.csv / "users.csv"
    path.write_bytes(path.read_bytes() + b"\xff\xfe,\xff,\xff\n")


def _unreadable(scene: Scene) -> None:
    (scene.csv / "gifts.csv").chmod(0)


def _env(**values: str) -> Callable[[Scene], None]:
    def prepare(scene: Scene) -> None:
        scene.env.update({k: v.format(tmp=scene.tmp) for k, v in values.items()})

    return prepare


def _a_file_at(variable: str, below: str = "") -> Callable[[Scene], None]:
    def prepare(scene: Scene) -> None:
        (scene.tmp / "plain_file").write_text("not a folder")
        scene.env[variable] = (
            str(scene.tmp / "plain_file" / below) if below else str(scene.tmp / "plain_file")
        )

    return prepare


def _fresh_sqlite_path(scene: Scene) -> None:
    scene.own_sqlite()


def _newer_revision(scene: Scene) -> None:
    url = scene.url
    if url.startswith("sqlite"):
        url = scene.own_sqlite(url)
        engine = sa.create_engine(url)
    else:
        engine = sa.create_engine(url)
        scene.cleanup.append(lambda: _set_revision(sa.create_engine(url), known_revisions()[1]))
    _set_revision(engine, FUTURE)


def _set_revision(engine: sa.Engine, revision: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    engine.dispose()


def _missing_table(scene: Scene) -> None:
    engine = sa.create_engine(scene.own_sqlite(scene.url))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE gift_processes"))
    engine.dispose()


def _not_a_database(scene: Scene) -> None:
    (scene.tmp / "notes.txt").write_text("these are notes, not a database\n" * 200)
    scene.url = scene.watched = f"sqlite:///{scene.tmp / 'notes.txt'}"


def _read_only_sqlite(scene: Scene) -> None:
    folder = scene.tmp / "ro"
    folder.mkdir()
    shutil.copy(scene.url.removeprefix("sqlite:///"), folder / "ivyi.db")
    scene.url = scene.watched = f"sqlite:///{folder / 'ivyi.db'}"
    (folder / "ivyi.db").chmod(0o444)
    folder.chmod(0o555)


def _read_only_file(scene: Scene) -> None:
    scene.own_sqlite(scene.url)
    (scene.tmp / "own.db").chmod(0o444)


def _full_disk(scene: Scene) -> None:
    mount = scene.tmp / "tiny"
    scene.cleanup.append(mount_tiny_disk(mount, "768k"))
    url = f"sqlite:///{mount / 'ivyi.db'}"
    upgrade(url)
    get_engine(url).dispose()
    scene.url = scene.watched = url


def _port_in_use(scene: Scene) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    scene.cleanup.append(listener.close)
    scene.env["IVYI_TEST_PORT"] = str(listener.getsockname()[1])


def _csv_target_taken(scene: Scene) -> None:
    scene.env["IVYI_TEST_TARGET"] = str(scene.csv)


def _no_psycopg2(scene: Scene) -> None:
    shadow = scene.tmp / "shadow" / "psycopg2"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named psycopg2')\n")
    scene.env["PYTHONPATH"] = str(shadow.parent)


def _search_path(scene: Scene) -> None:
    scene.url = scene.url + "?options=-csearch_path%3Dno_such_schema"


def _missing_pg_database(scene: Scene) -> None:
    scene.url = _pg_url(f"ivyi_missing_{uuid.uuid4().hex[:8]}")


def _pg_without_database(trailing: str) -> Callable[[Scene], None]:
    """A URL naming no database; the server's default one (`postgres`) is what is watched."""

    def prepare(scene: Scene) -> None:
        admin = sa.engine.make_url(PG_ADMIN_URL)
        server = sa.engine.URL.create(
            admin.drivername, admin.username, admin.password, admin.host, admin.port
        )
        scene.url = server.render_as_string(False) + trailing
        scene.watched = admin.render_as_string(False)

    return prepare


def _pg_port(port: str) -> Callable[[Scene], None]:
    def prepare(scene: Scene) -> None:
        scene.url = sa.engine.make_url(scene.url).set(port=int(port)).render_as_string(False)

    return prepare


NEWER = (
    "database is at revision 0099_from_a_newer_ivyi, newer than this code's "
    + known_revisions()[1],
)
COMMANDS_ON_A_NEWER_DATABASE = {
    "status": ("status",),
    "tick": ("tick", "--as-of", "2026-06-02"),
    "batch": ("batch", "--as-of", "2026-06-02"),
    "confirm": ("confirm", SOME_UUID, OTHER_UUID, "--as-of", "2026-06-02"),
    "redrive": ("redrive", SOME_UUID),
    "backfill": ("backfill-missed", "--from", "2026-06-01", "--to", "2026-06-02"),
    "db-upgrade": ("db", "upgrade"),
    "load": ("load", "{csv}"),
    "seed": ("seed", "--occasions", "4", "--seed", "77"),
    "demo": ("demo", "--days", "1"),
    "ui": ("ui", "--port", "{free_port}"),
}

CASES = [
    # CSV files
    Case(
        "csv-comma-row-at-end",
        ("load", "{csv}"),
        ("occasions.csv line 10, column id: a value is required",),
        prepare=_comma_row_at_end,
    ),
    Case(
        "csv-comma-row-in-middle",
        ("load", "{csv}"),
        ("occasions.csv line 4, column id: a value is required",),
        prepare=_comma_row_in_middle,
    ),
    Case(
        "csv-year-0000",
        ("load", "{csv}"),
        ("occasions.csv line 3, column date: '0000-01-01': years run from 0001 to 9999",),
        prepare=_cell("occasions", "date", row=2, value="0000-01-01"),
    ),
    Case(
        "csv-year-0000-pg",
        ("load", "{csv}"),
        ("occasions.csv line 3, column date: '0000-01-01': years run from 0001 to 9999",),
        backend="postgres",
        prepare=_cell("occasions", "date", row=2, value="0000-01-01"),
    ),
    Case(
        "csv-year-10000",
        ("load", "{csv}"),
        ("occasions.csv line 3, column date: '10000-01-01' is not a YYYY-MM-DD date",),
        prepare=_cell("occasions", "date", row=2, value="10000-01-01"),
    ),
    Case(
        "csv-nul-byte-sqlite",
        ("load", "{csv}"),
        ("users.csv line 3, column name: contains a NUL character",),
        prepare=_cell("users", "name", row=2, value="Ann\x00Lee"),
    ),
    Case(
        "csv-nul-byte-pg",
        ("load", "{csv}"),
        ("gifts.csv line 2, column tags: contains a NUL character",),
        backend="postgres",
        prepare=_cell("gifts", "tags", row=1, value="red;\x00blue"),
    ),
    Case(
        "csv-huge-header",
        ("load", "{csv}"),
        ("gifts.csv line 1:", "longer than 65,536 bytes"),
        prepare=_huge_header,
    ),
    Case(
        "csv-too-many-columns",
        ("load", "{csv}"),
        ("gifts.csv line 1: the header has 156 columns, more than the 100 a file may have",),
        prepare=_many_columns,
    ),
    Case(
        "csv-long-line",
        ("load", "{csv}"),
        ("gifts.csv line 2: the line is longer than 65,536 bytes",),
        prepare=_long_line,
    ),
    Case(
        "csv-not-utf8",
        ("load", "{csv}"),
        ("users.csv: the file is not UTF-8 text",),
        prepare=_not_utf8,
    ),
    Case(
        "csv-unreadable",
        ("load", "{csv}"),
        ("gifts.csv: the file cannot be read (Permission denied); make it readable",),
        prepare=_unreadable,
        fresh_interpreter=True,
    ),
    Case(
        "load-mistyped-directory",
        ("load", "{tmp}/no_such_folder"),
        ("no_such_folder is not a directory; give the folder that holds users.csv",),
        prepare=_fresh_sqlite_path,
    ),
    Case(
        "seed-csv-over-existing-files",
        ("seed", "--occasions", "4", "--csv", "{csv}"),
        ("already holds users.csv", "nothing was written: give a new or empty folder"),
    ),
    # the environment
    Case(
        "ivyi-home-is-a-file",
        ("status",),
        ("IVYI_HOME", "is a file, not a folder; point IVYI_HOME at a folder"),
        prepare=_a_file_at("IVYI_HOME"),
    ),
    Case(
        "ivyi-home-below-a-file",
        ("status",),
        ("cannot create IVYI_HOME", "(Not a directory); point IVYI_HOME at a folder"),
        prepare=_a_file_at("IVYI_HOME", "sub"),
    ),
    Case(
        "dagster-home-is-a-file",
        ("tick", "--as-of", "2026-06-02"),
        ("DAGSTER_HOME", "is a file, not a folder"),
        prepare=_a_file_at("DAGSTER_HOME"),
    ),
    Case(
        "url-unparseable",
        ("status",),
        ("IVYI_DATABASE_URL is not a database URL; write it as postgresql://",),
        prepare=_env(IVYI_DATABASE_URL="localhost/ivyi"),
    ),
    Case(
        "url-port-not-a-number",
        ("status",),
        ("IVYI_DATABASE_URL is not a database URL",),
        prepare=_env(IVYI_DATABASE_URL="postgresql://ivyi@db:54x2/ivyi"),
    ),
    Case(
        "url-port-out-of-range",
        ("db", "upgrade"),
        ("IVYI_DATABASE_URL has port 99999, not 1 to 65535",),
        prepare=_env(IVYI_DATABASE_URL="postgresql://ivyi@127.0.0.1:99999/ivyi"),
    ),
    Case(
        "url-unsupported-database",
        ("status",),
        ("IVYI_DATABASE_URL names mysql, a driver ivyi does not use",),
        prepare=_env(IVYI_DATABASE_URL="mysql://ivyi@127.0.0.1/ivyi"),
    ),
    Case(
        "url-unknown-scheme",
        ("status",),
        ("IVYI_DATABASE_URL names http, a driver ivyi does not use",),
        prepare=_env(IVYI_DATABASE_URL="http://example.com/ivyi"),
    ),
    Case(
        "driver-not-installed",
        ("status",),
        ("the database driver for postgresql+psycopg2 is not installed", "pip install -e ."),
        backend="postgres",
        prepare=_no_psycopg2,
        fresh_interpreter=True,
    ),
    Case(
        "pg-connection-refused",
        ("status",),
        ("cannot open the database at postgresql+psycopg2://", "Connection refused", AGAIN),
        transient=True,
        backend="postgres",
        prepare=_pg_port("1"),
    ),
    Case(
        "pg-database-missing",
        ("tick", "--as-of", "2026-06-02"),
        ("does not exist; create the database or fix its name in IVYI_DATABASE_URL",),
        backend="postgres",
        prepare=_missing_pg_database,
    ),
    Case(
        "pg-database-missing-on-load",
        ("load", "{csv}"),
        ("does not exist; create the database or fix its name in IVYI_DATABASE_URL",),
        backend="postgres",
        prepare=_missing_pg_database,
    ),
    Case(
        "pg-search-path-missing",
        ("status",),
        ("search_path (no_such_schema) names no schema that exists",),
        backend="postgres",
        prepare=_search_path,
    ),
    Case(
        "pg-search-path-missing-on-upgrade",
        ("db", "upgrade"),
        ("search_path (no_such_schema) names no schema that exists",),
        backend="postgres",
        prepare=_search_path,
    ),
    Case(
        "url-sqlite-in-memory",
        ("db", "upgrade"),
        ("IVYI_DATABASE_URL names an in-memory SQLite database", "sqlite:////absolute/path.db"),
        prepare=_env(IVYI_DATABASE_URL="sqlite://"),
        fresh_interpreter=True,
        never_says=("ivyi db upgrade",),
    ),
    Case(
        "url-sqlite-memory-named",
        ("tick", "--as-of", "2026-06-02"),
        ("IVYI_DATABASE_URL names an in-memory SQLite database",),
        prepare=_env(IVYI_DATABASE_URL="sqlite:///:memory:"),
        fresh_interpreter=True,
        never_says=("ivyi db upgrade",),
    ),
    Case(
        "url-pg-without-database",
        ("db", "upgrade"),
        ("IVYI_DATABASE_URL names no database", "postgresql://user@host:5432/dbname"),
        backend="postgres",
        prepare=_pg_without_database(""),
        fresh_interpreter=True,
        never_says=("ivyi db upgrade",),
    ),
    Case(
        "url-pg-without-database-slash",
        ("status",),
        ("IVYI_DATABASE_URL names no database",),
        backend="postgres",
        prepare=_pg_without_database("/"),
        fresh_interpreter=True,
        never_says=("ivyi db upgrade",),
    ),
    Case(
        "sqlite-folder-missing",
        ("db", "upgrade"),
        ("cannot create the SQLite database", "(No such file or directory); create its folder"),
        prepare=_env(IVYI_DATABASE_URL="sqlite:///{tmp}/no/such/folder/ivyi.db"),
    ),
    Case(
        "sqlite-folder-missing-on-status",
        ("status",),
        ("unable to open database file; create the SQLite file's folder",),
        prepare=_env(IVYI_DATABASE_URL="sqlite:///{tmp}/no/such/folder/ivyi.db"),
    ),
    Case(
        "sqlite-not-a-database",
        ("status",),
        ("file is not a database; point IVYI_DATABASE_URL at an ivyi database",),
        prepare=_not_a_database,
    ),
    Case(
        "sqlite-read-only",
        ("seed", "--occasions", "4", "--seed", "78"),
        ("cannot write beside the SQLite database", "make the SQLite file and its folder writable"),
        prepare=_read_only_sqlite,
        fresh_interpreter=True,
    ),
    Case(
        "sqlite-read-only-file",
        ("seed", "--occasions", "4", "--seed", "80"),
        ("readonly database; make the SQLite file and its folder writable",),
        prepare=_read_only_file,
        fresh_interpreter=True,
    ),
    Case(
        "sqlite-disk-full",
        ("seed", "--occasions", "3000", "--gifts", "3000", "--seed", "79"),
        ("database or disk is full; free disk space",),
        prepare=_full_disk,
        needs_root=True,
    ),
    Case(
        "sqlite-missing-table",
        ("status",),
        ("no such table: gift_processes; run `ivyi db upgrade`",),
        prepare=_missing_table,
    ),
    *(
        Case(f"newer-revision-{name}", args, NEWER, prepare=_newer_revision)
        for name, args in COMMANDS_ON_A_NEWER_DATABASE.items()
    ),
    Case(
        "newer-revision-pg-status", ("status",), NEWER, backend="postgres", prepare=_newer_revision
    ),
    Case(
        "newer-revision-pg-load",
        ("load", "{csv}"),
        NEWER,
        backend="postgres",
        prepare=_newer_revision,
    ),
    # time
    Case(
        "as-of-year-1",
        ("tick", "--as-of", "0001-01-01"),
        ("--as-of '0001-01-01' is out of range: give an instant from 1970-01-01 to 9000-12-31",),
    ),
    Case(
        "as-of-year-1-with-offset",
        ("confirm", SOME_UUID, OTHER_UUID, "--as-of", "0001-01-01T00:30+01:00"),
        ("is out of range",),
    ),
    Case(
        "as-of-year-9999",
        ("batch", "--as-of", "9999-12-31T23:59:59"),
        ("--as-of '9999-12-31T23:59:59' is out of range",),
    ),
    Case("as-of-year-9999-seed", ("seed", "--as-of", "9999-12-31"), ("is out of range",)),
    Case("as-of-year-9999-demo", ("demo", "--as-of", "9999-06-01"), ("is out of range",)),
    Case(
        "as-of-empty",
        ("tick", "--as-of", ""),
        ("Invalid value for '--as-of': the value is empty", "leave --as-of out to act now"),
        code=2,
        fresh_interpreter=True,
    ),
    Case(
        "as-of-blank-seed",
        ("seed", "--as-of", " "),
        ("Invalid value for '--as-of': the value is empty",),
        code=2,
        fresh_interpreter=True,
    ),
    Case(
        "as-of-unparseable",
        ("tick", "--as-of", "yesterday"),
        ("--as-of 'yesterday' is not an ISO-8601 date or time",),
    ),
    # data the command did not write
    Case(
        "demo-over-seeded-data",
        ("demo", "--days", "1"),
        ("holds data that `ivyi demo` did not write (origin: seed), so the demo leaves it alone",),
        never_says=("--reset", "delete", "drop"),
    ),
    Case(
        "demo-reset-over-seeded-data",
        ("demo", "--reset", "--days", "1"),
        ("holds data that `ivyi demo` did not write (origin: seed)",),
        never_says=("--reset", "delete", "drop"),
    ),
    Case(
        "demo-reset-over-seeded-data-pg",
        ("demo", "--reset", "--days", "1"),
        ("holds data that `ivyi demo` did not write (origin: seed)",),
        backend="postgres",
        never_says=("--reset", "delete", "drop"),
    ),
    # usage
    Case(
        "ui-port-zero",
        ("ui", "--port", "0"),
        ("Invalid value for '--port': 0 is not in the range 1<=x<=65535",),
        code=2,
    ),
    Case(
        "ui-port-in-use",
        ("ui", "--port", "{port}"),
        ("on 127.0.0.1 is not free", "pick another with --port"),
        prepare=_port_in_use,
    ),
    Case(
        "demo-zero-days",
        ("demo", "--days", "0"),
        ("Invalid value for '--days': 0 is not in the range x>=1",),
        code=2,
    ),
    Case("unknown-command", ("shred",), ("No such command 'shred'",), code=2),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(case: Case, scene: Scene, args: list[str]) -> tuple[int, str, str]:
    env = {
        "IVYI_HOME": str(scene.tmp / "home"),
        "DAGSTER_HOME": str(scene.tmp / "dagster_home"),
        "IVYI_DATABASE_URL": scene.url,
        **scene.env,
    }
    if not case.fresh_interpreter:
        result = CliRunner().invoke(main, args, env=env)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception
        )
        return result.exit_code, result.stdout, result.stderr
    command = [str(IVYI_COMMAND), *args]
    if os.geteuid() == 0:
        # Root reads any file; without these capabilities permission bits apply to it too.
        drop = "-dac_override,-dac_read_search"
        command = ["setpriv", f"--inh-caps={drop}", f"--bounding-set={drop}", *command]
    done = subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, timeout=300
    )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_every_bad_input_and_environment_fails_with_one_clear_line_and_writes_nothing(
    case, request, tmp_path, csv_template
):
    if case.backend == "postgres":
        request.applymarker(pytest.mark.postgres)
    if case.needs_root and os.geteuid() != 0:
        pytest.skip("needs root to mount a small file system")
    url = request.getfixturevalue(f"shared_{case.backend}")
    scene = Scene(tmp=tmp_path, csv=tmp_path / "csv", url=url, watched=url)
    shutil.copytree(csv_template, scene.csv)
    try:
        if case.prepare:
            case.prepare(scene)
        before = _snapshot(scene.watched)
        args = [
            arg.format(
                csv=scene.csv,
                tmp=scene.tmp,
                port=scene.env.get("IVYI_TEST_PORT", ""),
                free_port=_free_port(),
            )
            for arg in case.args
        ]
        started = time.perf_counter()
        code, out, err = _run(case, scene, args)
        elapsed = time.perf_counter() - started
        after = _snapshot(scene.watched)
    finally:
        for undo in reversed(scene.cleanup):
            undo()
        with contextlib.suppress(OSError):
            (tmp_path / "ro").chmod(0o755)

    assert "Traceback" not in out + err, out + err
    lines = err.splitlines()
    assert len(lines) == 1, err
    (line,) = lines
    assert line.startswith("error: "), line
    for expected in case.expect:
        assert expected in line, line
    assert (AGAIN in line) == case.transient, line
    assert not any(word in line for word in case.never_says), line
    assert code == case.code, (code, line)
    assert after == before
    assert elapsed < 60, f"{case.id} took {elapsed:.0f} s"


def test_a_header_of_200000_columns_is_refused_at_once(tmp_path, csv_template, shared_sqlite):
    shutil.copytree(csv_template, tmp_path / "csv")
    _huge_header(Scene(tmp=tmp_path, csv=tmp_path / "csv", url=shared_sqlite))
    started = time.perf_counter()

    result = CliRunner().invoke(main, ["load", str(tmp_path / "csv")])

    assert result.exit_code == 1
    assert time.perf_counter() - started < 2
    assert "gifts.csv line 1" in result.stderr


def test_a_load_into_a_mistyped_directory_creates_no_database(tmp_path, monkeypatch):
    monkeypatch.setenv("IVYI_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    monkeypatch.setenv("IVYI_HOME", str(tmp_path / "home"))

    result = CliRunner().invoke(main, ["load", str(tmp_path / "dat")])

    assert result.exit_code == 1
    assert not (tmp_path / "fresh.db").exists()
    assert not (tmp_path / "home").exists()


@pytest.mark.postgres
def test_two_loads_at_once_on_a_fresh_postgres_database_migrate_once_and_load_once(
    tmp_path, csv_template
):
    name = f"ivyi_race_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = _pg_url(name)
    env = {**os.environ, "IVYI_DATABASE_URL": url, "IVYI_HOME": str(tmp_path / "home")}
    try:
        loads = [
            subprocess.Popen(
                [str(IVYI_COMMAND), "load", str(csv_template)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [load.communicate(timeout=300) for load in loads]
        snapshot = _snapshot(url)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    assert [load.returncode for load in loads] == [0, 0], outputs
    assert all("Traceback" not in out + err for out, err in outputs)
    written = sorted("occasions: 8 written" in out for out, _ in outputs)
    assert written == [False, True], outputs
    assert snapshot["alembic_version rows"] == [(known_revisions()[1],)]
    assert snapshot["occasions"] == 8
    assert snapshot["pipeline_state rows"][0][:2] == ("dataset_origin", "load")


def test_a_traceback_is_shown_only_when_asked_for(monkeypatch, tmp_path):
    """The last resort: an unexpected exception is one line unless IVYI_DEBUG is set."""
    from ivyi_pipeline.entrypoints import cli

    @cli.main.command("explode-for-test")
    @cli._fail_cleanly
    def explode() -> None:
        raise KeyError("something internal")

    try:
        quiet = CliRunner().invoke(cli.main, ["explode-for-test"])
        monkeypatch.setenv("IVYI_DEBUG", "1")
        loud = CliRunner().invoke(cli.main, ["explode-for-test"])
    finally:
        cli.main.commands.pop("explode-for-test")

    assert quiet.exit_code == 1
    assert quiet.stderr.splitlines() == [
        "error: unexpected KeyError: 'something internal'; this is a bug in ivyi: run the "
        "command with IVYI_DEBUG=1 to see the traceback, and report it"
    ]
    assert isinstance(loud.exception, KeyError)


def test_dagsters_interrupt_escaping_a_run_is_the_stop_line_not_a_traceback(monkeypatch):
    """Ctrl-C taken by Dagster's own handler between steps: its DagsterExecutionInterruptedError
    (a BaseException) leaves `execute_in_process`; it is a stop, said in one line, exit 130."""
    from ivyi_pipeline.entrypoints import cli

    @cli.main.command("interrupted-for-test")
    @cli._fail_cleanly
    def interrupted() -> None:
        raise dg.DagsterExecutionInterruptedError()

    try:
        with signal_only_in_the_wakeup_pipe(monkeypatch, signal.SIGINT):
            done = CliRunner().invoke(cli.main, ["interrupted-for-test"])
    finally:
        cli.main.commands.pop("interrupted-for-test")

    assert done.exit_code == 130
    assert done.stderr.splitlines() == [
        "error: stopped by SIGINT; its unfinished runs were marked FAILED, and the next ivyi "
        "command executes them again"
    ]


# --- issue 21: the operator's commands on a failing process, a lost or full Dagster instance ---


def _only_own_lines(result: subprocess.CompletedProcess, stdout_lines: int) -> str:
    """The command printed only its own lines: no traceback, no Dagster log; the error line."""
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert len(result.stdout.splitlines()) == stdout_lines, result.stdout
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: "), line
    return line


@contextlib.contextmanager
def _orders_refused(engine: sa.Engine):
    """The database refuses every new order (a trigger): a permanent error in place_order."""
    if engine.dialect.name == "sqlite":
        create = [
            "CREATE TRIGGER ivyi_test_no_orders BEFORE INSERT ON orders "
            "BEGIN SELECT RAISE(ABORT, 'orders are closed'); END"
        ]
        drop = ["DROP TRIGGER ivyi_test_no_orders"]
    else:
        create = [
            "CREATE FUNCTION ivyi_test_no_orders() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'orders are closed' USING ERRCODE = 'check_violation'; "
            "END $$",
            "CREATE TRIGGER ivyi_test_no_orders BEFORE INSERT ON orders FOR EACH ROW "
            "EXECUTE FUNCTION ivyi_test_no_orders()",
        ]
        drop = [
            "DROP TRIGGER ivyi_test_no_orders ON orders",
            "DROP FUNCTION ivyi_test_no_orders()",
        ]
    with engine.begin() as conn:
        for statement in create:
            conn.execute(sa.text(statement))
    try:
        yield
    finally:
        with engine.begin() as conn:
            for statement in drop:
                conn.execute(sa.text(statement))


def test_a_failing_redrive_prints_its_outcome_and_one_error_line_without_dagster_logs(
    ivyi_env, engine, ivyi
):
    from ivyi_pipeline_tests.reliability import confirmed_processes

    (pid,) = confirmed_processes(engine, 1)
    with _orders_refused(engine):
        result = ivyi("redrive", pid, "--as-of", "2026-06-01T13:00:00Z")

    assert result.returncode == 1
    line = _only_own_lines(result, stdout_lines=1)
    assert f"re-drive of process {pid} failed" in result.stdout
    assert "now CONFIRMED" in result.stdout
    assert "step place_order" in line
    assert "orders are closed" in line


def _open_window(engine: sa.Engine) -> tuple[str, list[str]]:
    """A process whose decision window is open at 2026-06-01T13:00Z, and its ranked gifts."""
    from ivyi_pipeline.workflows.gifting_process import find, steps
    from ivyi_pipeline_tests.factories import AT, make_gift, make_occasion, make_process

    make_gift(engine, category="books", price_cents=2500)
    make_gift(engine, category="games", price_cents=4000)
    occurrence = dt.date(2026, 6, 10)
    pid = make_process(
        engine, make_occasion(engine, date=occurrence, recurs_yearly=False), occurrence
    )
    rules = steps.GiftingRules()
    steps.start_workflow(engine, [pid], AT)
    steps.generate_options(engine, [pid], AT, rules)
    steps.rank_options(engine, [pid], AT, rules)
    steps.open_decision_window(engine, [pid], AT, rules)
    with engine.connect() as conn:
        return pid, find.ranked_gift_ids(conn, pid)


def _confirmation_rows(engine: sa.Engine) -> dict[str, list]:
    """Every row a confirmation could write."""
    from ivyi_pipeline.db.schema import gift_processes, inbox_events, process_transitions

    with engine.connect() as conn:
        return {
            table.name: conn.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
            for table in (inbox_events, gift_processes, process_transitions)
        }


def test_the_same_confirmation_repeated_is_idempotent_and_another_gift_is_still_refused(
    ivyi_env, engine, ivyi
):
    from ivyi_pipeline.workflows.gifting_process import steps

    pid, ranked = _open_window(engine)
    first = ivyi("confirm", pid, ranked[1], "--as-of", "2026-06-01T13:00:00Z")
    after_first = _confirmation_rows(engine)
    again = ivyi("confirm", pid, ranked[1], "--as-of", "2026-06-01T13:05:00Z")
    other = ivyi("confirm", pid, ranked[0], "--as-of", "2026-06-01T13:10:00Z")
    after_retries = _confirmation_rows(engine)
    steps.confirm_selection(engine, [pid], dt.datetime(2026, 6, 1, 14, tzinfo=dt.UTC))
    confirmed = _confirmation_rows(engine)
    late_retry = ivyi("confirm", pid, ranked[1], "--as-of", "2026-06-05T00:00:00Z")

    assert first.returncode == 0, first.stderr
    for retry in (again, late_retry):
        assert retry.returncode == 0, retry.stderr
        assert retry.stderr == ""
        assert retry.stdout.splitlines() == [
            f"gift {ranked[1]} already confirmed for process {pid}; nothing changed"
        ]
    assert other.returncode == 1
    assert "already has a confirmation; the first one stands" in _only_own_lines(other, 0)
    assert after_retries == after_first
    assert len(after_first["inbox_events"]) == 1
    assert _confirmation_rows(engine) == confirmed


def _wait_for(condition: Callable[[], bool], process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        assert process.poll() is None, f"the command ended before {what}"
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


def _waits_for_flock(pid: int) -> bool:
    """True when the process waits for an flock (a `->` line of /proc/locks)."""
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if "->" in fields and fields[fields.index("->") + 4] == str(pid):
            return True
    return False


@contextlib.contextmanager
def _driver_lock_held(database_url: str):
    """Hold the local driver's lock of this database, as another ivyi command would; yields a
    check that some command waits for it."""
    from ivyi_pipeline.db.locks import PG_DRIVER_LOCK

    if database_url.startswith("sqlite"):
        path = Path(f"{database_url.removeprefix('sqlite:///')}.local-runs.lock")
        with path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield _waits_for_flock
        return
    engine = sa.create_engine(database_url)
    waiting = sa.text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    try:
        with engine.connect() as holder:
            holder.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": PG_DRIVER_LOCK})

            def waits(_pid: int) -> bool:
                with engine.connect() as probe:
                    return probe.execute(waiting).scalar() > 0

            try:
                yield waits
            finally:
                holder.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": PG_DRIVER_LOCK})
    finally:
        engine.dispose()


def test_dagster_home_removed_during_a_tick_is_one_line_and_the_next_tick_rebuilds_it(
    ivyi_env, engine
):
    """The tick opens the instance, waits for the driver lock (held here), and meanwhile its
    DAGSTER_HOME is deleted: its first use of Dagster's storage fails."""
    from ivyi_pipeline.instance import EMBEDDED_CONFIG

    dagster_home = ivyi_env["dagster_home"]
    command = [str(IVYI_COMMAND), "tick", "--as-of", "2026-06-02T00:00:00Z"]
    with _driver_lock_held(ivyi_env["database_url"]) as waits:
        tick = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            _wait_for(lambda: waits(tick.pid), tick, "the tick to wait for the driver lock")
            shutil.rmtree(dagster_home)
        except BaseException:
            tick.kill()
            raise
    stdout, stderr = tick.communicate(timeout=300)
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)

    assert tick.returncode == 1, stdout + stderr
    line = _only_own_lines(subprocess.CompletedProcess(command, 1, stdout, stderr), 0)
    assert line.startswith(
        f"error: the Dagster instance in DAGSTER_HOME={dagster_home} lost its storage during "
        "the command ("
    ), line
    assert "this is a bug" not in line
    assert AGAIN in line
    assert again.returncode == 0, again.stderr
    # An explicit DAGSTER_HOME without dagster.yaml gets the embedded one, as the default does.
    assert "dagster.yaml" not in again.stderr  # "No dagster instance configuration ... found"
    assert (dagster_home / "dagster.yaml").read_text() == EMBEDDED_CONFIG.read_text()


def test_a_full_disk_under_dagster_home_says_so_in_one_line(tmp_path, shared_sqlite):
    """DAGSTER_HOME on a 512 KiB file system: Dagster's storage fills it during the tick."""
    mount = tmp_path / "tiny"
    unmount = mount_tiny_disk(mount, "512k")
    url = f"sqlite:///{tmp_path / 'ivyi.db'}"
    shutil.copy(shared_sqlite.removeprefix("sqlite:///"), tmp_path / "ivyi.db")
    env = {
        **os.environ,
        "IVYI_HOME": str(tmp_path / "home"),
        "DAGSTER_HOME": str(mount / "dagster_home"),
        "IVYI_DATABASE_URL": url,
    }
    try:
        result = subprocess.run(
            [str(IVYI_COMMAND), "tick", "--as-of", "2026-06-01"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        unmount()

    assert result.returncode == 1
    line = _only_own_lines(result, 0)
    assert f"the Dagster instance in DAGSTER_HOME={mount / 'dagster_home'}" in line
    assert "the disk is full" in line
    assert "free disk space there" in line
    assert "unreachable" not in line


def test_an_existing_dagster_yaml_in_dagster_home_is_never_replaced(tmp_path, shared_sqlite):
    """(A new DAGSTER_HOME getting the embedded one: the DAGSTER_HOME-removed test above.)"""
    shutil.copy(shared_sqlite.removeprefix("sqlite:///"), tmp_path / "ivyi.db")
    own = "# the operator's own\nrun_retries:\n  enabled: false\ntelemetry:\n  enabled: false\n"
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "dagster.yaml").write_text(own)
    env = {
        **os.environ,
        "IVYI_HOME": str(tmp_path / "home"),
        "DAGSTER_HOME": str(tmp_path / "kept"),
        "IVYI_DATABASE_URL": f"sqlite:///{tmp_path / 'ivyi.db'}",
    }

    result = subprocess.run(
        [str(IVYI_COMMAND), "tick", "--as-of", "2026-06-01T06:00:00Z"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "kept" / "dagster.yaml").read_text() == own


# --- issue 21: progress of long commands on a terminal, nothing new anywhere else ---


def _under_a_terminal(command: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run the command with stdout and stderr on a pseudo-terminal; its exit status and all it
    wrote there (both streams, as a terminal shows them)."""
    import pty

    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        command, env=env, stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal
    )
    os.close(terminal)
    written = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: every writer closed the terminal
            break
        if not chunk:
            break
        written += chunk
    os.close(controller)
    return process.wait(timeout=300), written.decode()


ERASE = "\r\x1b[K"


@pytest.mark.parametrize(
    ("args", "progress"),
    [
        (("tick", "--as-of", "2026-06-01"), "processes done"),
        (("load", "{csv}"), "rows against the database"),
    ],
    ids=["tick", "load"],
)
def test_a_long_command_shows_progress_on_a_terminal_and_prints_only_its_summary_elsewhere(
    tmp_path, shared_sqlite, csv_template, args, progress
):
    """The same command on two copies of one database: under a pseudo-terminal and with pipes."""
    args = [arg.format(csv=csv_template) for arg in args]

    def env(name: str) -> dict[str, str]:
        shutil.copy(shared_sqlite.removeprefix("sqlite:///"), tmp_path / f"{name}.db")
        return {
            **os.environ,
            "IVYI_HOME": str(tmp_path / f"{name}_home"),
            "DAGSTER_HOME": str(tmp_path / f"{name}_dagster_home"),
            "IVYI_DATABASE_URL": f"sqlite:///{tmp_path / f'{name}.db'}",
            "COLUMNS": "200",
        }

    code, shown = _under_a_terminal([str(IVYI_COMMAND), *args], env("terminal"))
    piped = subprocess.run(
        [str(IVYI_COMMAND), *args], env=env("pipe"), capture_output=True, text=True, timeout=300
    )

    assert code == piped.returncode == 0, shown + piped.stderr
    assert piped.stderr == ""
    assert ERASE not in piped.stdout
    lines = [line for line in shown.split(ERASE) if line]
    drawn, summary = lines[:-1], lines[-1]
    assert drawn, shown
    assert all(line.startswith(f"{args[0]}: ") for line in drawn), drawn
    assert any(progress in line for line in drawn), drawn
    # After the progress line is erased, the terminal shows exactly what a pipe gets.
    assert summary.replace("\r\n", "\n") == piped.stdout.replace(
        str(tmp_path / "pipe"), str(tmp_path / "terminal")
    )

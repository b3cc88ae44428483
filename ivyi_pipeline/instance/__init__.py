"""The Dagster instance: where the embedded default keeps it, and how it is opened safely.

The instance holds state derived from the domain database only (partitions, cursors, run
history), so it may be created, replaced or lost at any time. Opening it:

- takes an exclusive file lock in DAGSTER_HOME (`.ivyi-instance.lock`), so that the first
  commands on a brand-new home create and migrate Dagster's storage once, not concurrently
  (two SQLite schema migrations at once leave two alembic heads, forever);
- writes the embedded default's dagster.yaml atomically (temporary file, then rename) and
  rewrites one that is empty or damaged; a DAGSTER_HOME set explicitly gets the same file
  when it has none (telemetry off, run retries), but an existing one is never replaced;
- touches every storage while the lock is held, and turns any failure into one
  `InstanceUnavailable` line naming DAGSTER_HOME, what is wrong and what to do.
"""

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
import yaml

from ivyi_pipeline.atomic_files import write_text_atomically, write_text_if_absent
from ivyi_pipeline.db.locks import file_lock
from ivyi_pipeline.errors import IvyiError
from ivyi_pipeline.faults import caused_by, causes, disk_nearly_full
from ivyi_pipeline.settings import Settings, ensure_folder

EMBEDDED_CONFIG = Path(__file__).with_name("embedded_dagster.yaml")
LOCK_FILE = ".ivyi-instance.lock"
REASON_LIMIT = 200
EXAMPLE_PG_URL = "postgresql+psycopg2://user@host:5432/dagster"


class InstanceUnavailable(IvyiError):
    """The Dagster instance DAGSTER_HOME names cannot be opened; the message says what to do."""


def open_instance(settings: Settings) -> dg.DagsterInstance:
    """The instance DAGSTER_HOME names; unset, the embedded one under IVYI_HOME (SQLite)."""
    embedded = not os.environ.get("DAGSTER_HOME")
    home = settings.dagster_home
    _make_home(home)
    if embedded:
        os.environ["DAGSTER_HOME"] = str(home)
    with home_lock(home):
        config = home / "dagster.yaml"
        if embedded:
            if _config_mapping(config) is None:
                write_text_atomically(config, EMBEDDED_CONFIG.read_text())
        elif not config.exists():
            write_text_if_absent(config, EMBEDDED_CONFIG.read_text())
        else:
            mapping = _config_mapping(config)
            if mapping is None:
                raise InstanceUnavailable(
                    f"DAGSTER_HOME={home}: its dagster.yaml is empty or not a YAML mapping; "
                    "fix it, or delete it to use Dagster's default SQLite storage there"
                )
            _refuse_unset_variables(home, mapping)
        return _opened(home)


def _refuse_unset_variables(home: Path, config: dict) -> None:
    """InstanceUnavailable naming the first environment variable (`env: NAME`) that the
    dagster.yaml reads and the environment does not set (say, DAGSTER_PG_URL): Dagster's own
    error names a config field, and the storage is not broken, so it must not be moved aside."""
    name = next((name for name in _variables_of(config) if not os.environ.get(name)), None)
    if name is not None:
        example = f" (a URL such as {EXAMPLE_PG_URL})" if name.upper().endswith("URL") else ""
        raise InstanceUnavailable(
            f"DAGSTER_HOME={home}: its dagster.yaml reads the environment variable {name}, "
            f"which is not set or empty; set {name}{example} and run the command again"
        )


def _variables_of(node) -> list[str]:
    """The names of every `{env: NAME}` in a parsed dagster.yaml, in order."""
    if isinstance(node, dict):
        if set(node) == {"env"} and isinstance(node["env"], str):
            return [node["env"]]
        return [name for value in node.values() for name in _variables_of(value)]
    if isinstance(node, list):
        return [name for value in node for name in _variables_of(value)]
    return []


def _make_home(home: Path) -> None:
    ensure_folder("DAGSTER_HOME", home, InstanceUnavailable)


@contextmanager
def home_lock(home: Path) -> Iterator[None]:
    """An exclusive lock on DAGSTER_HOME while the instance is created or opened."""
    try:
        handle = open(home / LOCK_FILE, "a")  # noqa: SIM115 - held until the block ends
    except OSError as exc:
        raise InstanceUnavailable(
            f"DAGSTER_HOME={home} is not writable ({exc.strerror}); "
            "point DAGSTER_HOME at a folder this user can write"
        ) from None
    with handle, file_lock(handle):
        yield


def _config_mapping(config: Path) -> dict | None:
    """The dagster.yaml's mapping; None when it is missing, unreadable or not a mapping."""
    try:
        parsed = yaml.safe_load(config.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _opened(home: Path) -> dg.DagsterInstance:
    """The instance with every storage created or checked, or InstanceUnavailable."""
    instance = None
    try:
        instance = dg.DagsterInstance.get()
        instance.get_run_records(limit=1)
        instance.get_dynamic_partitions("gift_processes")
        instance.fetch_materializations(dg.AssetKey("occasion_detection"), limit=1)
        return instance
    except Exception as exc:  # noqa: BLE001 - every storage failure becomes one clear line
        if instance is not None:
            instance.dispose()
        raise InstanceUnavailable(_diagnosis(home, exc)) from None


MISSING_DATABASE = re.compile(r'database "[^"]*" does not exist')
SCHEMA_SIGNS = (
    "migrat",
    "revision",
    "alembic",
    "no such column",
    "no such table",
    "does not exist",
)


def _diagnosis(home: Path, exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    reason = (lines[0] if lines else type(exc).__name__)[:REASON_LIMIT]
    where = f"the Dagster instance in DAGSTER_HOME={home}"
    if caused_by(exc, sa.exc.ArgumentError):
        return (
            f"{where} cannot be opened: its dagster.yaml names a storage URL that is not a "
            f"database URL ({reason}); fix the URL (or the variable that holds it, such as "
            f"DAGSTER_PG_URL), e.g. {EXAMPLE_PG_URL}"
        )
    missing = next(filter(None, (MISSING_DATABASE.search(str(link)) for link in causes(exc))), None)
    if missing:
        return (
            f"{where} cannot be opened: its storage names a PostgreSQL database that does not "
            f"exist ({missing[0]}); create it (createdb) or fix the URL its dagster.yaml names"
        )
    if any(sign in reason.lower() for sign in SCHEMA_SIGNS):
        return (
            f"{where} is on another Dagster schema version ({reason}); run "
            f"`DAGSTER_HOME={home} dagster instance migrate`, or move the folder aside and run "
            "the command again (it is rebuilt from the domain database; Dagster's run history "
            "stays in the moved folder)"
        )
    if disk_nearly_full(home):
        return (
            f"{where} cannot be written: the disk is full ({reason}); free disk space there, "
            "then run it again"
        )
    damaged = ("not a database", "malformed", "unable to open", "disk i/o")
    if caused_by(exc, sa.exc.OperationalError) and not any(d in reason for d in damaged):
        return f"{where} is unreachable ({reason}); run the command again when it is back"
    return (
        f"{where} cannot be opened ({reason}); it holds only state derived from the domain "
        f"database: move it aside (mv {home} {home}.broken) and run the command again, which "
        "rebuilds it (Dagster's run history stays in the moved folder)"
    )

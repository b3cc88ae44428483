"""Where Ivyi keeps its data: every location comes from the environment, with local defaults."""

import os
from dataclasses import dataclass
from pathlib import Path

from ivyi_pipeline.errors import EnvironmentProblem

DEFAULT_HOME = ".ivyi"
SUPPORTED_DRIVERS = ("postgresql+psycopg2", "sqlite", "sqlite+pysqlite")


@dataclass(frozen=True)
class Settings:
    """The environment Ivyi runs in, read once per command."""

    home: Path
    database_url: str
    dagster_home: Path

    @classmethod
    def from_env(cls) -> "Settings":
        """Read IVYI_HOME, IVYI_DATABASE_URL and DAGSTER_HOME, falling back to ./.ivyi."""
        home = Path(os.environ.get("IVYI_HOME", DEFAULT_HOME)).resolve()
        url = os.environ.get("IVYI_DATABASE_URL") or f"sqlite:///{home / 'ivyi.db'}"
        dagster_home = Path(os.environ.get("DAGSTER_HOME") or home / "dagster_home").resolve()
        return cls(home=home, database_url=normalize_database_url(url), dagster_home=dagster_home)

    def ensure_dirs(self) -> None:
        """Create the local folders the embedded default writes to; raise if one cannot be."""
        for variable, path in (("IVYI_HOME", self.home), ("DAGSTER_HOME", self.dagster_home)):
            ensure_folder(variable, path)


def ensure_folder(variable: str, path: Path, error: type[Exception] | None = None) -> None:
    """Create the folder `variable` names; raise `error` (EnvironmentProblem) in one line when
    it is a file or cannot be created."""
    error = error or EnvironmentProblem
    if path.exists() and not path.is_dir():
        raise error(f"{variable} {path} is a file, not a folder; point {variable} at a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise error(
            f"cannot create {variable} {path} ({exc.strerror}); point {variable} at a "
            "folder this user can write"
        ) from None


def check_database_url(url: str) -> None:
    """Refuse a database URL that cannot be parsed, names an unsupported database or driver,
    an in-memory SQLite database or no PostgreSQL database, or whose driver is not installed,
    without connecting; never echoes the URL's password."""
    import sqlalchemy as sa

    fix = "write it as postgresql://user@host:5432/dbname or sqlite:////absolute/path.db"
    try:
        parsed = sa.engine.make_url(url)
        port = parsed.port
    except (sa.exc.ArgumentError, ValueError):
        raise EnvironmentProblem(f"IVYI_DATABASE_URL is not a database URL; {fix}") from None
    if port is not None and not 0 < port < 65536:
        raise EnvironmentProblem(f"IVYI_DATABASE_URL has port {port}, not 1 to 65535; {fix}")
    if parsed.drivername not in SUPPORTED_DRIVERS:
        raise EnvironmentProblem(
            f"IVYI_DATABASE_URL names {parsed.drivername}, a driver ivyi does not use; {fix}"
        )
    if parsed.drivername.startswith("sqlite") and parsed.database in (None, "", ":memory:"):
        raise EnvironmentProblem(
            "IVYI_DATABASE_URL names an in-memory SQLite database, which every command would "
            "start empty and lose on exit; name a file: sqlite:////absolute/path.db"
        )
    if parsed.drivername.startswith("postgresql") and not parsed.database:
        raise EnvironmentProblem(
            "IVYI_DATABASE_URL names no database (the server would pick the user's default "
            "one); add its name: postgresql://user@host:5432/dbname"
        )
    try:
        parsed.get_dialect().import_dbapi()
    except ImportError as exc:
        raise EnvironmentProblem(
            f"the database driver for {parsed.drivername} is not installed ({exc}); "
            "install the project with its dependencies (pip install -e .)"
        ) from None


def normalize_database_url(url: str) -> str:
    """Pin a bare postgresql:// URL to psycopg2, the driver this project installs and tests."""
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            return "postgresql+psycopg2://" + url[len(bare) :]
    return url


def redact_url(url: str) -> str:
    """The URL with its password hidden, safe to print."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)

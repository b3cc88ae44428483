"""The environment, read here and nowhere else: where Ivyi keeps its data (`Settings`, with
local defaults) and one function per other variable, each read when it is called (never at
import), so a variable set after import, or by a test's monkeypatch, is seen.

Each function returns the variable's value, parsed, or None when it is unset or empty; the
caller holds the default.
"""

import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from ivyi_pipeline.errors import EnvironmentProblem, InvalidInput

HOME_ENV = "IVYI_HOME"
DATABASE_URL_ENV = "IVYI_DATABASE_URL"
DAGSTER_HOME_ENV = "DAGSTER_HOME"
DEBUG_ENV = "IVYI_DEBUG"
CELERY_BROKER_ENV = "IVYI_CELERY_BROKER_URL"
CELERY_BACKEND_ENV = "IVYI_CELERY_BACKEND_URL"
CELERY_QUEUE_ENV = "IVYI_CELERY_QUEUE"
DAILY_CRON_ENV = "IVYI_DAILY_SCHEDULE_CRON"
FIRST_DATE_ENV = "IVYI_FIRST_OCCASION_DATE"
DATA_CLOCK_ENV = "IVYI_DATA_CLOCK"
GRACE_DAYS_ENV = "IVYI_BELATED_GRACE_DAYS"
API_TOKENS_ENV = "IVYI_API_TOKENS"
WEBHOOK_SECRETS_ENV = "IVYI_CARRIER_WEBHOOK_SECRETS"
RETRY_DELAY_ENV = "IVYI_RETRY_DELAY_SECONDS"
MAX_RETRY_DELAY_SECONDS = 300.0

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
        home = Path(os.environ.get(HOME_ENV) or DEFAULT_HOME).resolve()  # empty is unset
        url = os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{home / 'ivyi.db'}"
        dagster_home = Path(os.environ.get(DAGSTER_HOME_ENV) or home / "dagster_home").resolve()
        return cls(home=home, database_url=normalize_database_url(url), dagster_home=dagster_home)

    def ensure_dirs(self) -> None:
        """Create the local folders the embedded default writes to; raise if one cannot be."""
        for variable, path in (("IVYI_HOME", self.home), ("DAGSTER_HOME", self.dagster_home)):
            ensure_folder(variable, path)


def debug() -> bool:
    """True when IVYI_DEBUG is set: tracebacks and Dagster's warnings reach the terminal."""
    return bool(os.environ.get(DEBUG_ENV))


def database_url_set() -> bool:
    """True when IVYI_DATABASE_URL is in the environment (the definitions then bind it)."""
    return DATABASE_URL_ENV in os.environ


def celery_broker_url() -> str | None:
    """IVYI_CELERY_BROKER_URL: the Celery broker."""
    return os.environ.get(CELERY_BROKER_ENV) or None


def celery_backend_url() -> str | None:
    """IVYI_CELERY_BACKEND_URL: the Celery result backend."""
    return os.environ.get(CELERY_BACKEND_ENV) or None


def celery_queue() -> str | None:
    """IVYI_CELERY_QUEUE: the queue steps are sent to and workers listen on."""
    return os.environ.get(CELERY_QUEUE_ENV) or None


def daily_schedule_cron() -> str | None:
    """IVYI_DAILY_SCHEDULE_CRON: the daily batch's cron (UTC)."""
    return _text(DAILY_CRON_ENV) or None


def first_occasion_date() -> date | None:
    """IVYI_FIRST_OCCASION_DATE (YYYY-MM-DD): the occasion-date calendar's first date."""
    text = _text(FIRST_DATE_ENV)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{FIRST_DATE_ENV}={text!r} is not a date (YYYY-MM-DD)") from None


def data_clock() -> datetime | None:
    """IVYI_DATA_CLOCK (ISO-8601): the data's clock, which `ivyi ui` passes to its children."""
    text = _text(DATA_CLOCK_ENV)
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{DATA_CLOCK_ENV}={text!r} is not an ISO-8601 instant") from None


def belated_grace_days() -> int | None:
    """IVYI_BELATED_GRACE_DAYS: how many days after an occurrence a backfill still gifts it."""
    text = _text(GRACE_DAYS_ENV)
    if not text:
        return None
    if not text.isdigit():
        raise InvalidInput(f"{GRACE_DAYS_ENV}={text!r} is not a whole number of days")
    return int(text)


def api_tokens() -> tuple[str, ...]:
    """IVYI_API_TOKENS: the HTTP API's bearer tokens (comma-separated; empty when unset)."""
    return _listed(API_TOKENS_ENV)


def webhook_secrets() -> tuple[str, ...]:
    """IVYI_CARRIER_WEBHOOK_SECRETS: the carrier webhooks' secrets (comma-separated)."""
    return _listed(WEBHOOK_SECRETS_ENV)


def retry_delay_seconds() -> float | None:
    """IVYI_RETRY_DELAY_SECONDS: the wait before a step's first retry after a transient error
    (each later retry waits about twice as long)."""
    text = _text(RETRY_DELAY_ENV)
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= MAX_RETRY_DELAY_SECONDS:  # also refuses nan and inf
        raise InvalidInput(
            f"{RETRY_DELAY_ENV}={text!r} is not a number of seconds from 0 to "
            f"{MAX_RETRY_DELAY_SECONDS:.0f}"
        )
    return seconds


def _text(variable: str) -> str:
    return os.environ.get(variable, "").strip()


def _listed(variable: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in os.environ.get(variable, "").split(",") if part.strip())


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

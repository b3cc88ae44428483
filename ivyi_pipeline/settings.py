"""Where Ivyi keeps its data: every location comes from the environment, with local defaults."""

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = ".ivyi"


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
        """Create the local folders that the embedded default writes to."""
        self.home.mkdir(parents=True, exist_ok=True)
        if not self.dagster_home.exists():  # a file there is reported when the instance opens
            self.dagster_home.mkdir(parents=True, exist_ok=True)


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

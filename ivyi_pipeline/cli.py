"""The `ivyi` command line: thin entry points over the service functions."""

import functools
import sys

import click

from ivyi_pipeline.db.migrate import upgrade
from ivyi_pipeline.errors import IvyiError
from ivyi_pipeline.settings import Settings, redact_url


def _fail_cleanly(fn):
    """Turn an IvyiError into one line on stderr and exit status 1, without a stack trace."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except IvyiError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)

    return wrapper


def _settings() -> Settings:
    settings = Settings.from_env()
    settings.ensure_dirs()
    return settings


@click.group()
def main() -> None:
    """Ivyi's gifting pipeline."""


@main.group()
def db() -> None:
    """Manage the domain database."""


@db.command("upgrade")
@_fail_cleanly
def db_upgrade() -> None:
    """Create or upgrade the schema (IVYI_DATABASE_URL, default a SQLite file in .ivyi/)."""
    settings = _settings()
    upgrade(settings.database_url)
    click.echo(f"database at {redact_url(settings.database_url)} is up to date")


# --- data commands (load, seed) ---


if __name__ == "__main__":
    main()

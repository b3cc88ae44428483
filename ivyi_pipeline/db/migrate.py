"""Run the Alembic migrations that create and upgrade the schema, one migrator at a time."""

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from ivyi_pipeline.db.locks import migration_lock
from ivyi_pipeline.errors import EnvironmentProblem, SchemaTooNew

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic configuration for the database at url, independent of the working folder."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@cache
def known_revisions() -> tuple[frozenset[str], str]:
    """Every revision this code's migrations define, and the head."""
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return frozenset(s.revision for s in scripts.walk_revisions()), scripts.get_current_head()


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at url up to revision; concurrent callers migrate one after another.

    Raises SchemaTooNew, with nothing changed, when a newer version of the code migrated it.
    """
    with migration_lock(url):
        check_revision(url)
        command.upgrade(alembic_config(url), revision)


def check_revision(url: str) -> str | None:
    """The database's revision (None before the first migration); raises SchemaTooNew."""
    from ivyi_pipeline.db.engine import get_engine

    check_search_path(get_engine(url))
    current = current_revision(url)
    revisions, head = known_revisions()
    if current is not None and current not in revisions:
        raise SchemaTooNew(current, head)
    return current


def check_search_path(engine) -> None:
    """On PostgreSQL, refuse a search_path that names no existing schema."""
    import sqlalchemy as sa

    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        schema = conn.execute(sa.text("SELECT current_schema()")).scalar()
        if schema is None:
            path = conn.execute(sa.text("SHOW search_path")).scalar()
            raise EnvironmentProblem(
                f"the database's search_path ({path}) names no schema that exists; create the "
                "schema or fix the search_path in IVYI_DATABASE_URL's options"
            )


def current_revision(url: str) -> str | None:
    """The revision the database at url is at, None when it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    from ivyi_pipeline.db.engine import get_engine

    with get_engine(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()

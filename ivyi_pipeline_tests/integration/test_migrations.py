"""Migrations from an empty database to head, on SQLite and on a fresh PostgreSQL database."""

import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.migrate import alembic_config, current_revision, upgrade
from ivyi_pipeline.db.schema import metadata, users
from ivyi_pipeline_tests.conftest import PG_ADMIN_URL
from ivyi_pipeline_tests.factories import make_user


def _head(url: str) -> str:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def _tables(url: str) -> set[str]:
    return set(sa.inspect(get_engine(url)).get_table_names())


def _columns(url: str) -> dict[str, list[tuple]]:
    inspector = sa.inspect(get_engine(url))
    return {
        table: [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)]
        for table in metadata.tables
    }


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database_url(request, tmp_path):
    """A brand-new database that no migration has touched."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.db'}"
        yield url
        get_engine(url).dispose()
        return
    name = f"ivyi_migrate_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrading_an_empty_database_creates_every_table_and_reaches_head(empty_database_url):
    url = empty_database_url
    assert current_revision(url) is None
    assert _tables(url) == set()

    upgrade(url)

    assert _tables(url) == set(metadata.tables) | {"alembic_version"}
    assert current_revision(url) == _head(url)


def test_upgrading_a_database_already_at_head_is_a_no_op(empty_database_url):
    url = empty_database_url
    upgrade(url)
    user_id = make_user(get_engine(url))
    columns_before = _columns(url)

    upgrade(url)

    assert _columns(url) == columns_before
    assert current_revision(url) == _head(url)
    with get_engine(url).connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
        assert conn.execute(sa.select(users.c.id)).scalars().all() == [user_id]


def test_the_migrated_schema_matches_the_declared_metadata(empty_database_url):
    upgrade(empty_database_url)

    with get_engine(empty_database_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)

    assert diff == []

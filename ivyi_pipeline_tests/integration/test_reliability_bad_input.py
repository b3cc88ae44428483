"""Bad input, property-based: the CSV loader and `ivyi confirm` never write partially,
never show a stack trace, and always name what is wrong."""

import datetime as dt
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivyi_pipeline.data import generate_dataset, load_directory, write_csv
from ivyi_pipeline.data.db_write import TABLES
from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.migrate import upgrade
from ivyi_pipeline.db.schema import inbox_events
from ivyi_pipeline.entrypoints.cli import main
from ivyi_pipeline.errors import IvyiError
from ivyi_pipeline_tests.integration.test_reliability_concurrency import (
    _open_window_with_ranked_gifts,
)

DATASET = generate_dataset(as_of=dt.date(2026, 6, 1), occasions=12, gifts=8, seed=5)
FILES = ["users", "relationships", "occasions", "gifts", "preferences"]
EXAMPLES = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
JUNK = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "-1", "0", "1e309", "NaN", "2026-02-30", "true", "'; DROP TABLE"]),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A migrated, empty SQLite database file, copied per example."""
    path = tmp_path_factory.mktemp("template") / "ivyi.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    get_engine(url).dispose()
    return path


def _counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for name, table in TABLES.items()
        }


@EXAMPLES
@given(data=st.data())
def test_a_csv_load_with_any_corrupted_cell_is_all_or_nothing_and_names_the_file(template, data):
    name = data.draw(st.sampled_from(FILES))
    with tempfile.TemporaryDirectory() as tmp:
        directory, db = Path(tmp) / "csv", Path(tmp) / "ivyi.db"
        write_csv(DATASET, directory)
        frame = pd.read_csv(directory / f"{name}.csv", dtype=str, keep_default_na=False)
        row = data.draw(st.integers(0, len(frame) - 1))
        column = data.draw(st.sampled_from(list(frame.columns)))
        frame.loc[row, column] = data.draw(JUNK)
        frame.to_csv(directory / f"{name}.csv", index=False)
        shutil.copy(template, db)
        engine = get_engine(f"sqlite:///{db}")
        try:
            message = None
            try:
                load_directory(engine, directory)
            except IvyiError as exc:
                message = str(exc)
            if message is None:
                assert all(_counts(engine).values())
            else:
                assert message.startswith(tuple(f"{n}.csv" for n in FILES)), message
                assert set(_counts(engine).values()) == {0}
        finally:
            engine.dispose()


@pytest.fixture
def confirm_env(monkeypatch, tmp_path):
    """A process with an open window and three ranked gifts, and the environment of `ivyi`."""
    url = f"sqlite:///{tmp_path / 'ivyi.db'}"
    upgrade(url)
    monkeypatch.setenv("IVYI_DATABASE_URL", url)
    monkeypatch.setenv("IVYI_HOME", str(tmp_path / "home"))
    engine = get_engine(url)
    pid, gifts = _open_window_with_ranked_gifts(engine, 3)
    yield engine, pid, gifts
    engine.dispose()


def _inbox(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(inbox_events)).scalar_one()


@EXAMPLES
@given(
    process=st.one_of(JUNK, st.just("PID"), st.uuids().map(str)),
    gift=st.one_of(JUNK, st.just("GIFT"), st.uuids().map(str)),
    as_of=st.one_of(st.none(), JUNK, st.just("2026-06-02T00:00:00Z"), st.just("2030-01-01")),
)
def test_ivyi_confirm_on_any_bad_input_refuses_in_one_line_and_writes_nothing(
    confirm_env, process, gift, as_of
):
    engine, pid, gifts = confirm_env
    args = [process.replace("PID", pid), gift.replace("GIFT", gifts[1])]
    if as_of is not None:
        args += ["--as-of", as_of]
    before = _inbox(engine)

    result = CliRunner().invoke(main, ["confirm", *args])

    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    if result.exit_code == 0:
        assert _inbox(engine) == before + 1
        with engine.begin() as conn:
            conn.execute(inbox_events.delete())
    else:
        assert result.exit_code in (1, 2)
        assert _inbox(engine) == before
        assert result.output.strip().splitlines()[-1].lower().startswith(("error", "usage")), (
            result.output
        )

"""`ivyi demo` never deletes data it did not write: `--reset` clears only a data set recorded as
the demo's own (pipeline_state `dataset_origin`), with its runs; anything else is refused."""

import datetime as dt

import dagster as dg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from ivyi_pipeline.data import generate_dataset, write_csv
from ivyi_pipeline.data.origin import ORIGIN
from ivyi_pipeline.db.schema import gift_processes, metadata, pipeline_state
from ivyi_pipeline.entrypoints.cli import main

AS_OF = "2026-06-01T09:00:00Z"


def _rows(engine) -> dict[str, list]:
    with engine.connect() as conn:
        return {
            table.name: sorted(map(repr, conn.execute(sa.select(table)).all()))
            for table in metadata.sorted_tables
        }


def _origin(engine) -> str | None:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(pipeline_state.c.value).where(pipeline_state.c.name == ORIGIN)
        ).scalar()


def _invoke(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def loaded(ivyi_env, engine, tmp_path):
    """A database holding data an operator loaded with `ivyi load`."""
    write_csv(generate_dataset(as_of=dt.date(2026, 6, 1), occasions=12, seed=21), tmp_path / "csv")
    assert _invoke("load", str(tmp_path / "csv")).exit_code == 0
    return tmp_path / "csv"


@pytest.mark.parametrize("reset", [False, True], ids=["demo", "demo-reset"])
def test_the_demo_refuses_a_database_of_loaded_data_and_changes_nothing(loaded, engine, reset):
    before = _rows(engine)

    result = _invoke("demo", "--days", "1", "--as-of", AS_OF, *(["--reset"] if reset else []))

    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert "holds data that `ivyi demo` did not write (origin: load)" in line
    assert "--reset" not in line
    assert _rows(engine) == before
    assert _origin(engine) == "load"


def test_data_without_a_recorded_origin_is_never_reset(loaded, engine):
    with engine.begin() as conn:
        conn.execute(pipeline_state.delete())
    before = _rows(engine)

    result = _invoke("demo", "--reset", "--days", "1", "--as-of", AS_OF)

    assert result.exit_code == 1
    assert "(origin: not recorded)" in result.stderr
    assert _rows(engine) == before


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_reset_clears_the_demos_own_data_set_and_runs_and_refuses_once_real_data_joined_it(
    ivyi_env, engine, tmp_path
):
    first = _invoke("demo", "--days", "1", "--as-of", AS_OF)
    assert first.exit_code == 0, first.output
    assert _origin(engine) == "demo"
    again = _invoke("demo", "--days", "1", "--as-of", AS_OF)
    assert again.exit_code == 1
    assert "already holds the demo's data; run `ivyi demo --reset`" in again.stderr
    with dg.DagsterInstance.get() as instance:
        demo_runs = {run.run_id for run in instance.get_runs()}
        foreign = instance.create_run_for_job(
            dg.GraphDefinition(name="not_ivyis", node_defs=[]).to_job(), tags={"owner": "ops"}
        )
    with engine.connect() as conn:
        demo_processes = set(conn.execute(sa.select(gift_processes.c.id)).scalars())
    assert demo_runs
    assert demo_processes

    reset = _invoke("demo", "--reset", "--days", "1", "--as-of", "2026-07-01T09:00:00Z")

    assert reset.exit_code == 0, reset.output
    with engine.connect() as conn:
        processes_now = set(conn.execute(sa.select(gift_processes.c.id)).scalars())
    assert processes_now
    assert not processes_now & demo_processes
    with dg.DagsterInstance.get() as instance:
        runs_now = {run.run_id for run in instance.get_runs()}
        partitions = set(instance.get_dynamic_partitions("gift_processes"))
    assert not runs_now & demo_runs
    assert foreign.run_id in runs_now
    assert not partitions & demo_processes

    write_csv(generate_dataset(as_of=dt.date(2026, 7, 1), occasions=6, seed=22), tmp_path / "csv")
    assert _invoke("load", str(tmp_path / "csv")).exit_code == 0
    before = _rows(engine)

    refused = _invoke("demo", "--reset", "--days", "1", "--as-of", AS_OF)

    assert refused.exit_code == 1
    assert "did not write (origin: load)" in refused.stderr
    assert _rows(engine) == before

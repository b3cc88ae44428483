"""`ivyi demo --reset` on the embedded default: SQLite and a Dagster instance under IVYI_HOME
(the session's one demo run, which the demo-based tests share)."""

import dagster as dg
import sqlalchemy as sa

from ivyi_pipeline.db.schema import gift_processes, process_transitions
from ivyi_pipeline_tests.conftest import IVYI_COMMAND


def test_the_demo_completes_every_process_some_confirmed_by_givers_some_by_default(
    demo_run, monkeypatch
):
    settings, result = demo_run  # `ivyi demo --reset`, run once per session (conftest)
    home = settings.home

    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert f"DAGSTER_HOME={home / 'dagster_home'}" in result.stdout
    assert f"IVYI_DATABASE_URL=sqlite:///{home / 'ivyi.db'}" in result.stdout
    command = result.stdout.strip().splitlines()[-1].split()
    # The UI command is `ivyi ui` (webserver and daemon) on this demo's home, database and
    # Dagster instance: the environment it names is the one the demo used.
    assert command[-2:] == [str(IVYI_COMMAND), "ui"]
    assert f"IVYI_HOME={home}" in command
    engine = sa.create_engine(f"sqlite:///{home / 'ivyi.db'}")
    with engine.connect() as conn:
        # The demo's own processes (the browser test may add one to the shared home).
        own = sorted(result.process_ids)
        statuses = (
            conn.execute(sa.select(gift_processes.c.status).where(gift_processes.c.id.in_(own)))
            .scalars()
            .all()
        )
        into_confirmed = (
            conn.execute(
                sa.select(process_transitions.c.event).where(
                    process_transitions.c.to_status == "CONFIRMED",
                    process_transitions.c.process_id.in_(own),
                )
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert statuses
    assert set(statuses) == {"COMPLETED"}
    assert len(into_confirmed) == len(statuses)
    assert into_confirmed.count("option-confirmed") > 0
    assert into_confirmed.count("option-selected") > 0
    assert set(into_confirmed) == {"option-confirmed", "option-selected"}
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster_home"))
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
        funnel = instance.fetch_materializations(dg.AssetKey("gifting_funnel"), limit=1000)
    assert runs
    assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}
    # The demo ends with the funnel materialized as of every instant a process moved.
    demo_funnel_runs = [run for run in runs if run.tags.get("ivyi/demo_funnel") == "true"]
    assert len(demo_funnel_runs) == result.funnel_instants > 0
    assert len(funnel.records) >= result.funnel_instants
    latest = funnel.records[0].asset_materialization.metadata
    assert latest["status_completed"].value == len(statuses)

"""`ivyi demo --reset` on the embedded default: SQLite and a Dagster instance under IVYI_HOME
(the session's one demo run, which the demo-based tests share)."""

import dagster as dg
import sqlalchemy as sa

from ivyi_pipeline.db.schema import gift_processes, process_transitions


def test_the_demo_completes_every_process_some_confirmed_by_givers_some_by_default(
    demo_run, monkeypatch
):
    settings, result = demo_run  # `ivyi demo --reset`, run once per session (conftest)
    home = settings.home

    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert f"DAGSTER_HOME={home / 'dagster_home'}" in result.stdout
    assert f"IVYI_DATABASE_URL=sqlite:///{home / 'ivyi.db'}" in result.stdout
    assert "dagster-webserver -w workspace.yaml" in result.stdout
    engine = sa.create_engine(f"sqlite:///{home / 'ivyi.db'}")
    with engine.connect() as conn:
        statuses = conn.execute(sa.select(gift_processes.c.status)).scalars().all()
        into_confirmed = (
            conn.execute(
                sa.select(process_transitions.c.event).where(
                    process_transitions.c.to_status == "CONFIRMED"
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
    assert runs
    assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}

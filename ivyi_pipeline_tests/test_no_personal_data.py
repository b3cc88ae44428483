"""No seeded name or email appears anywhere in a demo instance: logs, metadata, checks or tags."""

import json

import dagster as dg
import sqlalchemy as sa

from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.schema import users
from ivyi_pipeline.instance import open_instance

PAGE = 1000


def _personal_data(database_url: str) -> list[str]:
    with get_engine(database_url).connect() as conn:
        rows = conn.execute(sa.select(users.c.name, users.c.email)).all()
    return sorted({value for row in rows for value in row})


def _everything_recorded(instance: dg.DagsterInstance) -> tuple[list[str], int]:
    """Every run's tags and config and every event of every run, serialized; and event count."""
    texts, events = [], 0
    for record in instance.get_run_records():
        run = record.dagster_run
        texts.append(json.dumps({"tags": dict(run.tags), "config": run.run_config}))
        cursor = None
        while True:
            page = instance.get_records_for_run(run.run_id, cursor=cursor, limit=PAGE)
            texts.extend(dg.serialize_value(r.event_log_entry) for r in page.records)
            events += len(page.records)
            if not page.has_more:
                break
            cursor = page.cursor
    return texts, events


def test_no_seeded_name_or_email_appears_in_the_event_log_metadata_or_run_tags(
    demo_home, monkeypatch
):
    monkeypatch.setenv("DAGSTER_HOME", str(demo_home.dagster_home))
    personal = _personal_data(demo_home.database_url)
    with open_instance(demo_home) as instance:
        texts, events = _everything_recorded(instance)
    recorded = "\n".join(texts).lower()

    leaked = [
        value
        for value in personal
        if value.lower() in recorded or json.dumps(value)[1:-1].lower() in recorded
    ]

    assert len(personal) > 20
    assert events > 1000
    for proof in ('"ranking"', "asset_check_evaluation", "process ", "ivyi/outcome", "status_"):
        assert proof in recorded, f"the scan did not see {proof}"
    assert leaked == []

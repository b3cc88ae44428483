"""No seeded name or email appears anywhere in a demo instance: logs, metadata, checks or tags."""

import json

import sqlalchemy as sa

from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.schema import users
from ivyi_pipeline.instance import open_instance
from ivyi_pipeline_tests.dagster_runs import everything_recorded


def _personal_data(database_url: str) -> list[str]:
    with get_engine(database_url).connect() as conn:
        rows = conn.execute(sa.select(users.c.name, users.c.email)).all()
    return sorted({value for row in rows for value in row})


def test_no_seeded_name_or_email_appears_in_the_event_log_metadata_or_run_tags(
    demo_home, monkeypatch
):
    monkeypatch.setenv("DAGSTER_HOME", str(demo_home.dagster_home))
    personal = _personal_data(demo_home.database_url)
    with open_instance(demo_home) as instance:
        texts, events = everything_recorded(instance)
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

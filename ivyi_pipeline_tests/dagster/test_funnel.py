"""The daily gifting funnel: statuses, time in status, closing windows, blocked and failed."""

import datetime as dt

import dagster as dg
import pandas as pd
import sqlalchemy as sa

from ivyi_pipeline.clock import to_db
from ivyi_pipeline.db.schema import gift_processes
from ivyi_pipeline.definitions import defs
from ivyi_pipeline.orchestration import tags
from ivyi_pipeline.orchestration.resources import IvyiDatabase
from ivyi_pipeline.workflows.gifting_process.funnel_report import build_report, funnel_report
from ivyi_pipeline_tests.factories import AT, make_process

T0 = dt.datetime(2026, 6, 1, 9, 0)


def _transitions(*rows: tuple[str, str, float]) -> pd.DataFrame:
    """Transitions (process, status entered, hours after T0), ids in the given order."""
    return pd.DataFrame(
        [
            {"id": i, "process_id": pid, "to_status": status, "at": T0 + dt.timedelta(hours=h)}
            for i, (pid, status, h) in enumerate(rows, start=1)
        ]
    )


def _processes(**closes_after_hours: float) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "process_id": pid,
                "occasion_id": f"occ-{pid}",
                "occurrence_date": dt.date(2026, 6, 15),
                "window_closes_at": T0 + dt.timedelta(hours=h) if h is not None else None,
                "blocked_reason": None,
                "last_error": None,
                "updated_at": T0,
            }
            for pid, h in closes_after_hours.items()
        ]
    )


HISTORY = _transitions(
    ("p1", "CREATED", 0),
    ("p2", "CREATED", 0),
    ("p1", "OCCASION_DETECTED", 1),
    ("p1", "OPTIONS_GENERATED", 1),
    ("p1", "DECISION_WINDOW_OPEN", 3),
    ("p2", "OCCASION_DETECTED", 3),
)


def test_statuses_and_medians_count_only_what_had_happened_by_the_instant():
    report = build_report(
        HISTORY, _processes(p1=20, p2=None), (T0 + dt.timedelta(hours=4)).replace(tzinfo=dt.UTC)
    )

    assert {s: n for s, n in report.by_status.items() if n} == {
        "OCCASION_DETECTED": 1,
        "DECISION_WINDOW_OPEN": 1,
    }
    assert report.median_hours == {
        "CREATED": 2.0,
        "OCCASION_DETECTED": 0.0,
        "OPTIONS_GENERATED": 2.0,
    }


def test_a_window_closing_within_24_hours_is_listed_only_while_it_is_open():
    processes = _processes(p1=20, p2=None)

    before_opening = build_report(
        HISTORY, processes, (T0 + dt.timedelta(hours=2)).replace(tzinfo=dt.UTC)
    )
    open_now = build_report(HISTORY, processes, (T0 + dt.timedelta(hours=4)).replace(tzinfo=dt.UTC))

    assert before_opening.closing_soon.empty
    assert open_now.closing_soon[["process_id", "hours_left"]].to_dict("records") == [
        {"process_id": "p1", "hours_left": 16.0}
    ]


def test_blocked_and_failed_processes_are_reported_with_their_reasons(engine):
    blocked = make_process(engine, status="OCCASION_DETECTED")
    failed = make_process(engine, status="CONFIRMED")
    make_process(engine, status="COMPLETED")
    with engine.begin() as conn:
        conn.execute(
            gift_processes.update()
            .where(gift_processes.c.id == blocked)
            .values(blocked_reason="no gift in stock within the budget of 1000 cents")
        )
        conn.execute(
            gift_processes.update()
            .where(gift_processes.c.id == failed)
            .values(last_error="step place_order: fulfilment provider error: timeout")
        )

    report = funnel_report(engine, AT + dt.timedelta(hours=1))

    assert report.total == 3
    assert report.by_status["COMPLETED"] == 1
    assert report.blocked.to_dict("records") == [
        {
            "process_id": blocked,
            "status": "OCCASION_DETECTED",
            "reason": "no gift in stock within the budget of 1000 cents",
        }
    ]
    assert report.failed[["process_id", "status"]].to_dict("records") == [
        {"process_id": failed, "status": "CONFIRMED"}
    ]


def test_the_funnel_asset_records_numbers_the_ui_can_plot(engine, database_url):
    make_process(engine, status="DECISION_WINDOW_OPEN")
    with engine.begin() as conn:
        conn.execute(
            gift_processes.update().values(window_closes_at=to_db(AT) + dt.timedelta(hours=6))
        )

    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("gifting_funnel_job").execute_in_process(
            instance=instance,
            tags={tags.AS_OF: (AT + dt.timedelta(hours=1)).isoformat()},
            resources={"ivyi_db": IvyiDatabase(url=database_url)},
        )
        (event,) = result.get_asset_materialization_events()
        metadata = event.step_materialization_data.materialization.metadata

    assert isinstance(metadata["processes"], dg.IntMetadataValue)
    assert metadata["processes"].value == 1
    assert metadata["status_decision_window_open"].value == 1
    assert metadata["windows_closing_24h"].value == 1
    assert isinstance(metadata["median_hours_created"], dg.FloatMetadataValue)
    assert metadata["open_windows"].value == 1
    assert metadata["open_windows_soonest"].value.records[0].data["hours_left"] == 5.0
    assert "1 decision window(s) open, 1 of them close in the next 24 hours" in (
        metadata["summary"].value
    )


def test_the_funnel_ignores_transitions_after_its_instant(engine):
    make_process(engine, status="COMPLETED", at=AT + dt.timedelta(days=3))
    make_process(engine, status="CREATED", at=AT)

    report = funnel_report(engine, AT + dt.timedelta(days=1))

    assert report.total == 1
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(gift_processes)).scalar() == 2


def test_a_process_settled_before_the_recent_week_is_counted_without_reading_its_history(
    engine,
):
    """Cost follows the live and recent processes: a long-finished one is counted by status."""
    from ivyi_pipeline.workflows.gifting_process.funnel_report import RECENT

    settled = make_process(engine, status="COMPLETED", at=AT - RECENT - dt.timedelta(days=30))
    stuck = make_process(engine, status="CONFIRMED", at=AT - RECENT - dt.timedelta(days=1))
    with engine.begin() as conn:
        conn.execute(
            gift_processes.update()
            .where(gift_processes.c.id == stuck)
            .values(last_error="run 1234abcd, step place_order: order could not be placed")
        )
    make_process(engine, status="ORDERED", at=AT - dt.timedelta(days=1))

    report = funnel_report(engine, AT)

    assert {s: n for s, n in report.by_status.items() if n} == {
        "COMPLETED": 1,
        "CONFIRMED": 1,
        "ORDERED": 1,
    }
    # Only the recent process's stays are in the medians: the settled ones' ORDERED and
    # SHIPPED stays (ended) are not read; the recent one is still ORDERED.
    assert "CONFIRMED" in report.median_hours
    assert "ORDERED" not in report.median_hours
    assert "SHIPPED" not in report.median_hours
    assert report.failed["process_id"].tolist() == [stuck]
    assert settled not in report.failed["process_id"].tolist()

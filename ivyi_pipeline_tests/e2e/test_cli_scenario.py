"""End to end through the `ivyi` command: tick, status, confirm and expiry on both backends."""

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from ivyi_pipeline.db.schema import (
    gift_options,
    gift_processes,
    inbox_events,
    process_transitions,
    ranked_decisions,
)
from ivyi_pipeline.workflows.gifting_process.create import process_id_for
from ivyi_pipeline_tests.factories import (
    make_gift,
    make_occasion,
    make_preference,
    make_relationship,
    make_user,
)

AS_OF = "2026-06-01T09:00:00Z"
TODAY = dt.date(2026, 6, 1)
WINDOW_CLOSES = "2026-06-04T09:00:00Z"
IN_LEAD_WINDOW = ("inside", "no_preferences", "small_budget", "yearly", "edge")
STATUS_FIELDS = {
    "process_id",
    "occasion_id",
    "occurrence_date",
    "status",
    "selected_gift_id",
    "ranked_gift_ids",
    "window_closes_at",
    "blocked_reason",
}


def build_scenario(engine: sa.Engine) -> dict[str, str]:
    """Gifts and occasions around the 21-day lead window as of TODAY; ids by role."""
    ids = {
        "books": make_gift(engine, category="books", price_cents=2500),
        "games": make_gift(engine, category="games", price_cents=4000),
        "tea": make_gift(engine, category="tea", price_cents=1500),
        "too_dear": make_gift(engine, category="watches", price_cents=9000),
        "sold_out": make_gift(engine, category="books", price_cents=2000, in_stock=False),
    }
    fan = make_user(engine)
    make_preference(engine, user_id=fan, category="games", affinity=0.9)
    one_off = {"recurs_yearly": False}
    ids |= {
        "inside": make_occasion(
            engine,
            relationship_id=make_relationship(engine, recipient_id=fan),
            date=TODAY + dt.timedelta(days=9),
            **one_off,
        ),
        "no_preferences": make_occasion(engine, date=TODAY + dt.timedelta(days=11), **one_off),
        "small_budget": make_occasion(
            engine,
            relationship_id=make_relationship(engine, budget_cents=100),
            date=TODAY + dt.timedelta(days=13),
            **one_off,
        ),
        "yearly": make_occasion(engine, date=dt.date(1990, 6, 15), recurs_yearly=True),
        "edge": make_occasion(engine, date=TODAY + dt.timedelta(days=21), **one_off),
        "just_outside": make_occasion(engine, date=TODAY + dt.timedelta(days=22), **one_off),
        "far": make_occasion(engine, date=TODAY + dt.timedelta(days=90), **one_off),
        "yearly_outside": make_occasion(engine, date=dt.date(1985, 8, 30), recurs_yearly=True),
        "past": make_occasion(engine, date=TODAY - dt.timedelta(days=5), **one_off),
    }
    return ids


def tick(ivyi, as_of: str) -> str:
    """Run `ivyi tick --as-of`; assert it succeeded and return its output."""
    result = ivyi("tick", "--as-of", as_of)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def status_by_occasion(ivyi) -> dict[str, dict]:
    """`ivyi status --json`, keyed by occasion id."""
    result = ivyi("status", "--json")
    assert result.returncode == 0, result.stderr
    return {entry["occasion_id"]: entry for entry in json.loads(result.stdout)}


def counts(engine: sa.Engine) -> dict[str, object]:
    """Every process row and how many history, option, decision and inbox rows exist."""
    with engine.connect() as conn:

        def count(table: sa.Table) -> int:
            return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()

        return {
            "processes": conn.execute(
                sa.select(gift_processes).order_by(gift_processes.c.id)
            ).all(),
            "history": count(process_transitions),
            "options": count(gift_options),
            "decisions": count(ranked_decisions),
            "inbox": count(inbox_events),
        }


def history(engine: sa.Engine, process_id: str) -> dict[str, str]:
    """The event that moved a process into each status it entered."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(process_transitions.c.to_status, process_transitions.c.event)
            .where(process_transitions.c.process_id == process_id)
            .order_by(process_transitions.c.id)
        ).all()
    return {str(status): event for status, event in rows}


def stored_ranking(engine: sa.Engine, process_id: str) -> list[str]:
    """The ranked gift ids of a process in rank order, read from the table."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(ranked_decisions.c.gift_id)
                .where(ranked_decisions.c.process_id == process_id)
                .order_by(ranked_decisions.c.rank)
            ).scalars()
        )


@pytest.mark.slow_on_postgres  # PostgreSQL's CLI path: test_production_processes, pg_restart
def test_a_tick_opens_windows_for_occasions_in_the_lead_window_and_a_second_tick_adds_nothing(
    ivyi_env, engine, ivyi
):
    ids = build_scenario(engine)

    output = tick(ivyi, AS_OF)

    assert "tick as of 2026-06-01 09:00Z" in output
    status = status_by_occasion(ivyi)
    assert set(status) == {ids[role] for role in IN_LEAD_WINDOW}
    for entry in status.values():
        assert STATUS_FIELDS <= set(entry)
        occurrence = dt.date.fromisoformat(entry["occurrence_date"])
        assert entry["process_id"] == process_id_for(entry["occasion_id"], occurrence)
    assert status[ids["yearly"]]["occurrence_date"] == "2026-06-15"
    assert status[ids["edge"]]["occurrence_date"] == "2026-06-22"
    blocked = status[ids["small_budget"]]
    assert (blocked["status"], blocked["ranked_gift_ids"], blocked["window_closes_at"]) == (
        "OCCASION_DETECTED",
        [],
        None,
    )
    assert "budget of 100 cents" in blocked["blocked_reason"]
    affordable = {ids["books"], ids["games"], ids["tea"]}
    for role in ("inside", "no_preferences", "yearly", "edge"):
        entry = status[ids[role]]
        assert (entry["status"], entry["selected_gift_id"], entry["blocked_reason"]) == (
            "DECISION_WINDOW_OPEN",
            None,
            None,
        )
        assert entry["window_closes_at"] == WINDOW_CLOSES
        assert set(entry["ranked_gift_ids"]) == affordable
        assert entry["ranked_gift_ids"] == stored_ranking(engine, entry["process_id"])
    assert status[ids["inside"]]["ranked_gift_ids"][0] == ids["games"]
    table = ivyi("status").stdout
    assert "no gift in stock within the budget of 100 cents" in table
    assert "NaN" not in table

    before = counts(engine)
    again = tick(ivyi, AS_OF)

    assert "0 run(s) succeeded, 0 failed" in again
    assert counts(engine) == before


@pytest.mark.slow_on_postgres  # PostgreSQL's CLI path: test_production_processes, pg_restart
def test_a_confirmed_process_is_ordered_shipped_and_completed_and_expired_windows_take_the_top_gift(
    ivyi_env, engine, ivyi
):
    ids = build_scenario(engine)
    tick(ivyi, AS_OF)
    chosen_process = status_by_occasion(ivyi)[ids["inside"]]
    pid, second_best = chosen_process["process_id"], chosen_process["ranked_gift_ids"][1]

    confirmed = ivyi("confirm", pid, second_best, "--as-of", "2026-06-01T10:00:00Z")

    assert confirmed.returncode == 0, confirmed.stderr
    assert pid in confirmed.stdout
    tick(ivyi, "2026-06-01T10:00:00Z")
    status = status_by_occasion(ivyi)
    assert status[ids["inside"]]["status"] == "ORDERED"
    assert status[ids["inside"]]["selected_gift_id"] == second_best
    assert history(engine, pid)["CONFIRMED"] == "option-confirmed"
    assert status[ids["no_preferences"]]["status"] == "DECISION_WINDOW_OPEN"

    tick(ivyi, "2026-06-02T10:00:00Z")
    status = status_by_occasion(ivyi)
    assert status[ids["inside"]]["status"] == "SHIPPED"
    assert status[ids["just_outside"]]["status"] == "DECISION_WINDOW_OPEN"
    assert ids["far"] not in status
    late = status[ids["edge"]]
    late_choice = late["ranked_gift_ids"][-1]
    assert late_choice != late["ranked_gift_ids"][0]
    confirmed_late = ivyi(
        "confirm", late["process_id"], late_choice, "--as-of", "2026-06-04T08:59:00Z"
    )
    assert confirmed_late.returncode == 0, confirmed_late.stderr

    tick(ivyi, "2026-06-04T10:00:00Z")
    status = status_by_occasion(ivyi)
    assert status[ids["inside"]]["status"] == "COMPLETED"
    assert status[ids["inside"]]["selected_gift_id"] == second_best
    assert list(history(engine, pid)) == [
        "CREATED",
        "OCCASION_DETECTED",
        "OPTIONS_GENERATED",
        "DECISION_WINDOW_OPEN",
        "CONFIRMED",
        "ORDERED",
        "SHIPPED",
        "COMPLETED",
    ]
    assert status[ids["edge"]]["status"] == "ORDERED"
    assert status[ids["edge"]]["selected_gift_id"] == late_choice
    assert "DEFAULT_SELECTED" not in history(engine, late["process_id"])
    assert history(engine, late["process_id"])["CONFIRMED"] == "option-confirmed"
    for role in ("no_preferences", "yearly"):
        entry = status[ids[role]]
        assert entry["status"] == "ORDERED", role
        assert entry["selected_gift_id"] == entry["ranked_gift_ids"][0], role
        events = history(engine, entry["process_id"])
        assert (events["DEFAULT_SELECTED"], events["CONFIRMED"]) == (
            "decision-window-open",
            "option-selected",
        )
    assert status[ids["small_budget"]]["status"] == "OCCASION_DETECTED"
    assert status[ids["just_outside"]]["status"] == "DECISION_WINDOW_OPEN"


def test_a_tick_with_nothing_to_do_says_there_are_no_processes(ivyi_env, ivyi):
    output = tick(ivyi, AS_OF)

    assert output.splitlines() == [
        "tick as of 2026-06-01 09:00Z: 0 run(s) succeeded, 0 failed",
        "  no processes",
    ]


@pytest.mark.parametrize(
    "command",
    [
        ["status"],
        ["status", "--json"],
        ["confirm", "5f0b7a52-1c5e-4d8e-9a0b-1a2b3c4d5e6f", "6a1c8b63-2d6f-4e9f-8b1c-2b3c4d5e6f70"],
        ["tick", "--as-of", AS_OF],
    ],
    ids=" ".join,
)
def test_pipeline_commands_on_a_database_without_schema_say_to_run_db_upgrade(
    monkeypatch, tmp_path, ivyi, command
):
    monkeypatch.delenv("IVYI_DATABASE_URL", raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("IVYI_HOME", str(tmp_path))

    result = ivyi(*command)

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: there is no database at sqlite:///{tmp_path / 'ivyi.db'} yet; run `ivyi db "
        "upgrade` (or `ivyi load`, `ivyi seed`, `ivyi demo`) first, or check IVYI_DATABASE_URL "
        "and IVYI_HOME"
    ]
    assert not (tmp_path / "ivyi.db").exists()  # nor an empty SQLite file left behind

    (tmp_path / "ivyi.db").touch()  # a database file without the schema
    result = ivyi(*command)

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: the database at sqlite:///{tmp_path / 'ivyi.db'} has no schema yet; "
        "run `ivyi db upgrade` first"
    ]


def test_status_on_an_unreachable_database_fails_with_one_line(monkeypatch, tmp_path, ivyi):
    monkeypatch.setenv("IVYI_DATABASE_URL", "postgresql://ivyi:secret@127.0.0.1:1/nowhere")
    monkeypatch.setenv("IVYI_HOME", str(tmp_path))

    result = ivyi("status")

    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        "error: cannot open the database at postgresql+psycopg2://ivyi:***@127.0.0.1:1/nowhere: "
    )
    assert "secret" not in line

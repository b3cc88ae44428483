"""A whole demo, as `ivyi ui` prepares it, follows the step table: every transition is a step's
and records an event the step answers, and processes rest only where they wait for the world."""

import itertools

import sqlalchemy as sa

from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.schema import gift_processes, process_transitions
from ivyi_pipeline.domain.states import (
    PASSED_THROUGH,
    STEPS,
    TERMINAL_STATUSES,
    WAITS_IN,
    GiftProcessStatus,
    edge_answering,
)

S = GiftProcessStatus


def _history(database_url: str) -> list[sa.Row]:
    with get_engine(database_url).connect() as conn:
        return conn.execute(
            sa.select(
                process_transitions.c.process_id,
                process_transitions.c.from_status,
                process_transitions.c.to_status,
                process_transitions.c.event,
                process_transitions.c.at,
            ).order_by(process_transitions.c.process_id, process_transitions.c.id)
        ).all()


def test_every_transition_a_demo_made_is_a_step_of_the_table_answering_its_event(demo_home):
    history = _history(demo_home.database_url)
    step_of = {edge: step for step in STEPS for edge in step.edges}

    made = set()
    for row in history:
        edge = edge_answering(row.from_status, row.to_status, row.event)
        assert edge is not None, f"{row.from_status} -> {row.to_status} on {row.event}: no edge"
        if edge in step_of:  # else the creation, by detection or a backfill
            made.add(step_of[edge].name)

    assert len(history) > 100
    assert made >= {"start_workflow", "select_default", "confirm_selection", "complete_process"}


def test_in_a_demo_processes_rest_only_where_they_wait_for_the_world(demo_home):
    """A status of PASSED_THROUGH is left by the run that entered it (at the same instant)."""
    with get_engine(demo_home.database_url).connect() as conn:
        blocked = set(
            conn.execute(
                sa.select(gift_processes.c.id).where(gift_processes.c.blocked_reason.is_not(None))
            ).scalars()
        )
    rested_in = set()
    for pid, rows in itertools.groupby(_history(demo_home.database_url), lambda r: r.process_id):
        rows = list(rows)
        for entered, left in zip(rows, rows[1:], strict=False):
            if entered.at != left.at:
                rested_in.add(S(entered.to_status))
        if pid not in blocked:
            assert S(rows[-1].to_status) not in PASSED_THROUGH, f"{pid} rests in a pass-through"

    assert rested_in <= set(WAITS_IN)
    assert rested_in == set(WAITS_IN), "the demo should show a process waiting in each"
    assert not rested_in & TERMINAL_STATUSES

"""Concurrency: racing confirmations of one process, and a confirmation racing the expiry."""

import datetime as dt

import pytest
import sqlalchemy as sa

from ivyi_pipeline.db.schema import gift_processes, inbox_events, ranked_decisions
from ivyi_pipeline.errors import ConfirmationRefused
from ivyi_pipeline.workflows.gifting_process import steps
from ivyi_pipeline.workflows.gifting_process.confirm import record_confirmation
from ivyi_pipeline_tests.factories import AT, make_gift, make_process, race

CLOSES = AT + dt.timedelta(hours=72)


def _open_window_with_ranked_gifts(engine, n: int) -> tuple[str, list[str]]:
    pid = make_process(engine, status="DECISION_WINDOW_OPEN")
    gifts = [make_gift(engine) for _ in range(n)]
    with engine.begin() as conn:
        conn.execute(
            gift_processes.update()
            .where(gift_processes.c.id == pid)
            .values(
                window_opens_at=AT.replace(tzinfo=None),
                window_closes_at=CLOSES.replace(tzinfo=None),
            )
        )
        conn.execute(
            ranked_decisions.insert(),
            [
                {
                    "process_id": pid,
                    "rank": rank,
                    "gift_id": gift,
                    "score": 1 - rank / 100,
                    "affinity_score": 0.5,
                    "price_fit": 0.5,
                    "occasion_fit": 0.5,
                    "novelty": 1.0,
                }
                for rank, gift in enumerate(gifts, start=1)
            ],
        )
    return pid, gifts


def _process(engine, pid):
    with engine.connect() as conn:
        return conn.execute(sa.select(gift_processes).where(gift_processes.c.id == pid)).one()


def test_eight_concurrent_confirmations_with_different_gifts_have_exactly_one_winner(engine):
    pid, gifts = _open_window_with_ranked_gifts(engine, 8)

    results = race(8, lambda i: record_confirmation(engine, pid, gifts[i], AT))

    winners = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, ConfirmationRefused)]
    assert len(winners) == 1
    assert len(refused) == 7
    assert all("already has a confirmation; the first one stands" in str(r) for r in refused)
    with engine.connect() as conn:
        (stored,) = conn.execute(sa.select(inbox_events.c.gift_id)).scalars().all()
    winner = results.index(winners[0])
    assert stored == gifts[winner]

    steps.confirm_selection(engine, [pid], AT)
    assert _process(engine, pid).selected_gift_id == gifts[winner]


@pytest.mark.parametrize("trial", range(4))
def test_a_confirmation_racing_the_expiry_ends_confirmed_with_one_consistent_choice(engine, trial):
    pid, gifts = _open_window_with_ranked_gifts(engine, 3)
    chosen = gifts[2]

    def act(i: int):
        if i == 0:
            return record_confirmation(engine, pid, chosen, CLOSES - dt.timedelta(seconds=1))
        return steps.select_default(engine, [pid], CLOSES)

    confirmation, _ = race(2, act)
    steps.confirm_selection(engine, [pid], CLOSES)

    process = _process(engine, pid)
    assert process.status == "CONFIRMED"
    if isinstance(confirmation, int):
        assert process.selected_gift_id == chosen, "an accepted confirmation must win"
    else:
        assert isinstance(confirmation, ConfirmationRefused)
        assert "DEFAULT_SELECTED: its decision window is not open" in str(confirmation)
        assert process.selected_gift_id == gifts[0]

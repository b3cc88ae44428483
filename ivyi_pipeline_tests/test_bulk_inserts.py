"""Bulk writes that skip conflicts reach the driver as multi-row INSERTs, on both backends."""

import sqlalchemy as sa

from ivyi_pipeline.db.schema import gift_options, ranked_decisions
from ivyi_pipeline.workflows.gifting_process import steps
from ivyi_pipeline_tests.driver_calls import inserts_sent
from ivyi_pipeline_tests.factories import AT, make_gift, make_process


def _inserts_sent(engine, run) -> list[tuple[str, str]]:
    return [(call, table) for call, table, _ in inserts_sent(engine, run)]


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_options_and_rankings_of_several_processes_are_one_insert_each(engine):
    for i in range(30):
        make_gift(engine, category=("books", "games", "food")[i % 3], price_cents=1000 + 50 * i)
    process_ids = [make_process(engine, status="OCCASION_DETECTED") for _ in range(3)]
    rules = steps.GiftingRules()

    options_sent = _inserts_sent(
        engine, lambda: steps.generate_options(engine, process_ids, AT, rules)
    )
    ranking_sent = _inserts_sent(engine, lambda: steps.rank_options(engine, process_ids, AT, rules))

    assert [s for s in options_sent if s[1] == "gift_options"] == [("execute", "gift_options")]
    assert [s for s in ranking_sent if s[1] == "ranked_decisions"] == [
        ("execute", "ranked_decisions")
    ]
    assert _count(engine, gift_options) == 3 * 30
    assert _count(engine, ranked_decisions) == 3 * rules.top_n

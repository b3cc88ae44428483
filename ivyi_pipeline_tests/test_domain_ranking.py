"""Ranking: deterministic, weighted, gap-free per process, the same alone or in bulk."""

import pandas as pd
import pytest

from ivyi_pipeline.domain.ranking import RANK_COLUMNS, WEIGHTS, rank_gifts


def _options(process_id: str, rows, budget=5000, depth="FRIEND", kind="BIRTHDAY") -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["gift_id", "category", "price_cents", "affinity"])
    return frame.assign(process_id=process_id, budget_cents=budget, depth=depth, occasion_kind=kind)


P1 = _options(
    "p1",
    [
        ("g1", "books", 3000, 0.8),
        ("g2", "games", 2500, 0.4),
        ("g3", "food", 1000, 0.9),
        ("g4", "jewelry", 4500, 0.1),
        ("g5", "books", 2000, 0.0),
    ],
)
P2 = _options(
    "p2",
    [("g1", "books", 3000, 0.2), ("g6", "flowers", 6000, 0.7), ("g7", "wellness", 8000, 0.5)],
    budget=10000,
    depth="PARTNER",
    kind="ANNIVERSARY",
)
RECEIVED = pd.DataFrame({"process_id": ["p1"], "category": ["books"]})


def test_the_same_input_always_gives_the_same_ranks():
    first = rank_gifts(P1, RECEIVED)
    again = rank_gifts(P1.sample(frac=1, random_state=3), RECEIVED)

    pd.testing.assert_frame_equal(first, again)
    assert list(first.columns) == RANK_COLUMNS


def test_ties_break_on_price_then_on_gift_id():
    tied = _options(
        "p1",
        [("g-b", "books", 2000, 0.5), ("g-c", "books", 2000, 0.5), ("g-a", "books", 2000, 0.5)],
    )

    ranked = rank_gifts(tied)

    assert ranked["score"].nunique() == 1
    assert ranked["gift_id"].tolist() == ["g-a", "g-b", "g-c"]


def test_equal_scores_prefer_the_cheaper_gift():
    # Price fit is symmetric around the target share, so 60% +/- 10% of the budget score alike.
    tied = _options("p1", [("g-z", "books", 3500, 0.5), ("g-y", "books", 2500, 0.5)])

    ranked = rank_gifts(tied)

    assert ranked["score"].nunique() == 1
    assert ranked["gift_id"].tolist() == ["g-y", "g-z"]


def test_ranks_run_from_1_to_n_without_gaps_per_process():
    ranked = rank_gifts(pd.concat([P1, P2], ignore_index=True), RECEIVED)

    for pid, size in (("p1", 5), ("p2", 3)):
        assert ranked.loc[ranked["process_id"] == pid, "rank"].tolist() == list(range(1, size + 1))


def test_scores_decrease_with_rank():
    ranked = rank_gifts(P1, RECEIVED)

    assert ranked["score"].is_monotonic_decreasing


def test_top_n_keeps_only_the_best_options_of_each_process():
    both = pd.concat([P1, P2], ignore_index=True)

    ranked = rank_gifts(both, RECEIVED, top_n=2)
    full = rank_gifts(both, RECEIVED)

    assert ranked.groupby("process_id")["rank"].max().to_dict() == {"p1": 2, "p2": 2}
    pd.testing.assert_frame_equal(ranked, full[full["rank"] <= 2].reset_index(drop=True))


def test_the_score_is_the_weighted_sum_of_its_components():
    ranked = rank_gifts(pd.concat([P1, P2], ignore_index=True), RECEIVED)

    expected = sum(ranked[column] * weight for column, weight in WEIGHTS.items())
    assert ranked["score"].tolist() == pytest.approx(expected.tolist(), abs=1e-6)
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)
    components = ranked[list(WEIGHTS)]
    assert ((components >= 0) & (components <= 1)).all().all()


def test_a_category_received_before_scores_lower_novelty():
    ranked = rank_gifts(P1, RECEIVED).set_index("gift_id")

    assert ranked.loc["g1", "novelty"] < ranked.loc["g2", "novelty"]
    assert ranked.loc["g5", "novelty"] == ranked.loc["g1", "novelty"]


def test_a_category_suiting_the_occasion_scores_higher_occasion_fit():
    ranked = rank_gifts(P1).set_index("gift_id")

    assert ranked.loc["g1", "occasion_fit"] > ranked.loc["g3", "occasion_fit"]


def test_many_processes_ranked_in_one_call_equal_each_ranked_alone():
    together = rank_gifts(pd.concat([P2, P1], ignore_index=True), RECEIVED)

    alone = pd.concat([rank_gifts(P1, RECEIVED), rank_gifts(P2, RECEIVED)], ignore_index=True)
    pd.testing.assert_frame_equal(together, alone)


def test_no_options_rank_to_an_empty_table():
    ranked = rank_gifts(P1.iloc[0:0])

    assert ranked.empty
    assert list(ranked.columns) == RANK_COLUMNS

"""Ranking: deterministic, weighted, gap-free per process, the same alone or in bulk."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def _rank_by_full_sort(options, received=None, top_n=10) -> pd.DataFrame:
    """The first rank_gifts: every row sorted on its text ids; the oracle of the fast one."""
    from ivyi_pipeline.domain.ranking import OCCASION_CATEGORIES, TARGET_SPEND

    if options.empty:
        return pd.DataFrame(columns=RANK_COLUMNS)
    suitable = pd.MultiIndex.from_tuples(
        [(kind.value, cat) for kind, cats in OCCASION_CATEGORIES.items() for cat in cats]
    )
    share = options["price_cents"].to_numpy(float) / options["budget_cents"].to_numpy(float)
    target = options["depth"].map(TARGET_SPEND).to_numpy(float)
    spread = np.maximum(target, 1 - target)
    suits = pd.MultiIndex.from_arrays(
        [options["occasion_kind"].astype(str), options["category"]]
    ).isin(suitable)
    seen = np.zeros(len(options), dtype=bool)
    if received is not None and not received.empty:
        seen = pd.MultiIndex.from_arrays([options["process_id"], options["category"]]).isin(
            pd.MultiIndex.from_frame(received[["process_id", "category"]])
        )
    scored = options.assign(
        affinity_score=options["affinity"].astype(float).clip(0, 1),
        price_fit=np.clip(1 - np.abs(share - target) / spread, 0, 1),
        occasion_fit=np.where(suits, 1.0, 0.5),
        novelty=np.where(seen, 0.3, 1.0),
    )
    scored["score"] = sum(scored[col] * weight for col, weight in WEIGHTS.items()).round(6)
    ordered = scored.sort_values(
        ["process_id", "score", "price_cents", "gift_id"],
        ascending=[True, False, True, True],
        kind="mergesort",
    )
    ordered["rank"] = ordered.groupby("process_id", sort=False).cumcount() + 1
    return ordered.loc[ordered["rank"] <= top_n, RANK_COLUMNS].reset_index(drop=True)


PROCESS_IDS = ["p1", "p10", "p2", "P3", "é"]
CATEGORIES = ["books", "games", "food", "jewelry", "flowers", "toys"]


@st.composite
def _option_tables(draw):
    """Small option tables full of ties: few ids, prices, budgets and affinities."""
    n = draw(st.integers(1, 40))

    def column(values):
        return draw(st.lists(st.sampled_from(values), min_size=n, max_size=n))

    options = pd.DataFrame(
        {
            "process_id": column(PROCESS_IDS),
            "gift_id": column(["g1", "g2", "g10", "G3", "g4"]),
            "category": column(CATEGORIES),
            "price_cents": column([0, 1000, 2500, 3000, 3500, 6000]),
            "affinity": column([0.0, 0.5, 0.9, 1.3, -0.2, float("nan")]),
            "budget_cents": column([5000, 10000, 0]),
            "depth": column(["FRIEND", "PARTNER", "ACQUAINTANCE", "STRANGER"]),
            "occasion_kind": column(["BIRTHDAY", "ANNIVERSARY", "OTHER", "WEDDING"]),
        }
    )
    if draw(st.booleans()):
        options = options.astype({"process_id": object, "gift_id": object, "category": object})
    pairs = draw(st.lists(st.tuples(st.sampled_from(PROCESS_IDS), st.sampled_from(CATEGORIES))))
    received = pd.DataFrame(pairs, columns=["process_id", "category"])
    return options, received, draw(st.integers(0, 6))


@pytest.mark.filterwarnings("ignore:.*encountered in divide:RuntimeWarning")
@settings(max_examples=300, deadline=None)
@given(_option_tables())
def test_ranks_equal_a_full_sort_on_the_text_ids_including_every_tie(table):
    options, received, top_n = table

    pd.testing.assert_frame_equal(
        rank_gifts(options, received, top_n), _rank_by_full_sort(options, received, top_n)
    )


def test_ranks_equal_a_full_sort_on_many_processes_with_many_candidates():
    rng = np.random.default_rng(5)
    n = 60_000
    options = pd.DataFrame(
        {
            "process_id": [f"process-{i:04d}" for i in rng.integers(0, 600, n)],
            "gift_id": [f"gift-{i:04d}" for i in rng.integers(0, 3000, n)],
            "category": rng.choice(CATEGORIES, n),
            "price_cents": rng.choice([1000, 2000, 3000, 4000], n),
            "affinity": rng.choice([0.1, 0.5, 0.8], n),
            "budget_cents": 5000,
            "depth": rng.choice(["FRIEND", "FAMILY"], n),
            "occasion_kind": rng.choice(["BIRTHDAY", "HOLIDAY"], n),
        }
    )
    received = pd.DataFrame({"process_id": ["process-0001", "process-0002"], "category": "books"})

    pd.testing.assert_frame_equal(
        rank_gifts(options, received), _rank_by_full_sort(options, received)
    )

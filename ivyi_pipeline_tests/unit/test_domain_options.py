"""Gift options: in stock, within budget, never given before, best affinity first."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivyi_pipeline.domain.options import (
    OPTION_COLUMNS,
    generate_gift_options,
    generate_options_for_processes,
)


def _catalogue(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["id", "category", "price_cents", "in_stock"])


CATALOGUE = _catalogue(
    ("g-books", "books", 2000, True),
    ("g-games", "games", 3000, True),
    ("g-food", "food", 1500, True),
    ("g-sold-out", "books", 1000, False),
    ("g-pricey", "jewelry", 9000, True),
    ("g-at-budget", "home", 5000, True),
)


def test_options_are_in_stock_and_within_budget():
    options = generate_gift_options(CATALOGUE, 5000, {})

    assert set(options["gift_id"]) == {"g-books", "g-games", "g-food", "g-at-budget"}
    assert list(options.columns) == OPTION_COLUMNS


def test_a_gift_given_before_is_never_offered_again():
    options = generate_gift_options(CATALOGUE, 5000, {}, already_given={"g-games", "g-other"})

    assert "g-games" not in set(options["gift_id"])
    assert len(options) == 3


def test_options_are_ordered_by_the_recipients_affinity():
    affinities = {"food": 0.9, "books": 0.6, "games": 0.3}

    options = generate_gift_options(CATALOGUE, 5000, affinities)

    assert options["gift_id"].tolist() == ["g-food", "g-books", "g-games", "g-at-budget"]
    assert options["affinity"].tolist() == [0.9, 0.6, 0.3, 0.0]


def test_a_recipient_with_no_preferences_still_gets_options_closest_to_the_budget_first():
    options = generate_gift_options(CATALOGUE, 5000, {})

    assert options["gift_id"].tolist() == ["g-at-budget", "g-games", "g-books", "g-food"]
    assert (options["affinity"] == 0.0).all()


def test_options_are_empty_when_nothing_is_affordable():
    options = generate_gift_options(CATALOGUE, 999, {"books": 1.0})

    assert options.empty
    assert list(options.columns) == OPTION_COLUMNS


def test_options_are_capped_at_max_options():
    options = generate_gift_options(CATALOGUE, 5000, {}, max_options=2)

    assert options["gift_id"].tolist() == ["g-at-budget", "g-games"]


def test_the_same_input_gives_the_same_options():
    shuffled = CATALOGUE.sample(frac=1, random_state=7)

    first = generate_gift_options(CATALOGUE, 5000, {"books": 0.5, "games": 0.5})
    again = generate_gift_options(shuffled, 5000, {"books": 0.5, "games": 0.5})

    pd.testing.assert_frame_equal(first, again)


def test_the_fast_preselection_gives_exactly_the_options_a_full_sort_would():
    rng = np.random.default_rng(3)
    n = 5_000
    catalogue = pd.DataFrame(
        {
            "id": [f"g{i:05d}" for i in rng.permutation(n)],
            "category": rng.choice(["books", "games", "food", "home"], n),
            # Few distinct prices, so many rows tie on (affinity, closeness).
            "price_cents": rng.choice([1000, 2000, 3000], n),
            "in_stock": rng.random(n) < 0.9,
        }
    )
    affinities = {"books": 0.8, "games": 0.8}

    fast = generate_gift_options(catalogue, 2500, affinities, (), 50)

    full = catalogue[catalogue["in_stock"] & (catalogue["price_cents"] <= 2500)].assign(
        affinity=lambda f: f["category"].map(affinities).fillna(0.0),
        closeness=lambda f: f["price_cents"] / 2500,
    )
    full = full.sort_values(["affinity", "closeness", "id"], ascending=[False, False, True])
    assert fast["gift_id"].tolist() == full["id"].head(50).tolist()


def _options_by_full_sort(catalogue, budget_cents, affinities, already_given=(), max_options=50):
    """Every candidate sorted on (affinity, closeness, id): the oracle of the fast selection."""
    ids = catalogue["id"].to_numpy()
    mask = catalogue["in_stock"].to_numpy(dtype=bool) & (
        catalogue["price_cents"].to_numpy() <= budget_cents
    )
    if already_given:
        mask &= ~np.isin(ids, np.fromiter(already_given, dtype=object))
    candidates = catalogue.loc[mask, ["id", "category", "price_cents"]]
    if candidates.empty:
        return pd.DataFrame(columns=OPTION_COLUMNS)
    ordered = candidates.assign(
        affinity=candidates["category"].map(affinities).fillna(0.0).to_numpy(float),
        closeness=candidates["price_cents"].to_numpy(float) / budget_cents,
    ).sort_values(["affinity", "closeness", "id"], ascending=[False, False, True], kind="mergesort")
    return (
        ordered.head(max_options)
        .rename(columns={"id": "gift_id"})[OPTION_COLUMNS]
        .reset_index(drop=True)
    )


@st.composite
def _catalogues(draw):
    """Small catalogues full of ties: few ids, categories and prices, some ids repeated."""
    n = draw(st.integers(1, 60))

    def column(values):
        return draw(st.lists(st.sampled_from(values), min_size=n, max_size=n))

    catalogue = pd.DataFrame(
        {
            "id": column([f"g{i}" for i in range(12)] + ["G1", "é"]),
            "category": column(["books", "games", "food", "home"]),
            "price_cents": column([-500, 0, 500, 1000, 2500, 3000, 5000, 7000]),
            "in_stock": column([True, True, True, False]),
        }
    )
    if draw(st.booleans()):
        catalogue = catalogue.astype({"id": object, "category": object})
    affinities = draw(
        st.dictionaries(
            st.sampled_from(["books", "games", "food", "toys"]),
            st.sampled_from([0.0, 0.3, 0.8, 1.0, -0.5]),
        )
    )
    given_ids = draw(st.lists(st.sampled_from([f"g{i}" for i in range(14)]), max_size=8))
    return (
        catalogue,
        draw(st.sampled_from([1000, 2500, 5000, 0])),
        affinities,
        draw(st.sampled_from([set(given_ids), given_ids, tuple(given_ids)])),
        draw(st.integers(1, 12)),
    )


@pytest.mark.filterwarnings("ignore:.*encountered in divide:RuntimeWarning")
@settings(max_examples=300, deadline=None)
@given(_catalogues())
def test_options_equal_a_full_sort_of_every_candidate_including_every_tie(case):
    catalogue, budget, affinities, already_given, max_options = case

    pd.testing.assert_frame_equal(
        generate_gift_options(catalogue, budget, affinities, already_given, max_options),
        _options_by_full_sort(catalogue, budget, affinities, already_given, max_options),
    )


def _one_call_per_process(catalogue, budgets, affinities, given, max_options):
    """The oracle of the batched generator: generate_gift_options once per process."""
    frames = [
        generate_gift_options(catalogue, b, a, g, max_options).assign(owner=i)
        for i, (b, a, g) in enumerate(zip(budgets, affinities, given, strict=True))
    ]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=[*OPTION_COLUMNS, "owner"])
    return pd.concat(frames, ignore_index=True)


@st.composite
def _runs(draw):
    """Several processes against one tie-heavy catalogue, each with its own budget and tastes."""
    catalogue, *_ = draw(_catalogues())
    n = draw(st.integers(1, 6))
    budgets = draw(st.lists(st.sampled_from([1000, 2500, 5000, 0, 7000]), min_size=n, max_size=n))
    affinities = draw(
        st.lists(
            st.dictionaries(
                st.sampled_from(["books", "games", "food", "toys"]),
                st.sampled_from([0.0, 0.3, 0.8, 1.0, -0.5, float("nan")]),
            ),
            min_size=n,
            max_size=n,
        )
    )
    given = draw(
        st.lists(
            st.lists(st.sampled_from([f"g{i}" for i in range(14)]), max_size=8),
            min_size=n,
            max_size=n,
        )
    )
    return catalogue, budgets, affinities, given, draw(st.integers(-1, 12))


@pytest.mark.filterwarnings("ignore:.*encountered in divide:RuntimeWarning")
@settings(max_examples=300, deadline=None)
@given(_runs(), st.sampled_from([1_000_000, 7]))
def test_options_for_many_processes_equal_one_call_per_process(case, cells):
    catalogue, budgets, affinities, given_ids, max_options = case

    pd.testing.assert_frame_equal(
        generate_options_for_processes(
            catalogue, budgets, affinities, given_ids, max_options, max_cells=cells
        ),
        _one_call_per_process(catalogue, budgets, affinities, given_ids, max_options),
    )


def test_options_for_many_processes_on_a_large_catalogue_equal_one_call_per_process():
    rng = np.random.default_rng(11)
    n = 20_000
    catalogue = pd.DataFrame(
        {
            "id": [f"g{i:05d}" for i in rng.permutation(n)],
            "category": rng.choice(["books", "games", "food", "home", "toys"], n),
            "price_cents": rng.choice([500, 1000, 2000, 3000, 4500], n),
            "in_stock": rng.random(n) < 0.9,
        }
    )
    budgets = rng.choice([1000, 2500, 5000], 40).tolist()
    affinities = [{"books": float(a), "games": 0.5} for a in rng.random(40)]
    given_ids = [list(catalogue["id"].sample(3, random_state=i)) for i in range(40)]

    pd.testing.assert_frame_equal(
        generate_options_for_processes(catalogue, budgets, affinities, given_ids),
        _one_call_per_process(catalogue, budgets, affinities, given_ids, 50),
    )

"""Gift options: catalogue candidates a recipient can be given (the seed's generateGiftOptions)."""

from collections.abc import Collection

import numpy as np
import pandas as pd

OPTION_COLUMNS = ["gift_id", "category", "price_cents", "affinity"]
DEFAULT_MAX_OPTIONS = 50


def generate_gift_options(
    catalogue: pd.DataFrame,
    budget_cents: int,
    affinities: dict[str, float],
    already_given: Collection[str] = (),
    max_options: int = DEFAULT_MAX_OPTIONS,
) -> pd.DataFrame:
    """Candidates in stock, within budget, never given to this recipient, best matches first.

    `catalogue` has columns id, category, price_cents, in_stock; `affinities` maps a category
    to the recipient's classifier affinity (empty for a recipient with no preferences, who
    still gets options, ordered by price closeness to the budget).
    """
    given = already_given if isinstance(already_given, set | frozenset) else set(already_given)
    rows = np.flatnonzero(
        catalogue["in_stock"].to_numpy(dtype=bool)
        & (catalogue["price_cents"].to_numpy() <= budget_cents)
    )
    category, categories = pd.factorize(catalogue["category"].to_numpy()[rows])
    per_category = np.array([affinities.get(c, np.nan) for c in categories] + [np.nan], float)
    per_category[np.isnan(per_category)] = 0.0
    affinity = per_category[category]
    closeness = catalogue["price_cents"].to_numpy(float)[rows] / budget_cents
    keep = everything = np.arange(len(rows))
    if max_options > 0 and len(rows) > max_options + len(given):
        keep = _preselect(category, per_category, closeness, max_options + len(given))
    if given:
        fresh = _not_given(catalogue, rows, keep, given)
        # The pre-selection is exact when max_options rows are left after the given ones
        # are dropped; fewer means a given id repeats in the catalogue: filter every row.
        if keep is not everything and len(fresh) < max_options:
            fresh = _not_given(catalogue, rows, everything, given)
        keep = fresh
    rows, affinity, closeness = rows[keep], affinity[keep], closeness[keep]
    if len(rows) == 0:
        return pd.DataFrame(columns=OPTION_COLUMNS)
    candidates = catalogue[["id", "category", "price_cents"]].iloc[rows]
    ordered = candidates.assign(affinity=affinity, closeness=closeness).sort_values(
        ["affinity", "closeness", "id"], ascending=[False, False, True], kind="mergesort"
    )
    return (
        ordered.head(max_options)
        .rename(columns={"id": "gift_id"})[OPTION_COLUMNS]
        .reset_index(drop=True)
    )


def _not_given(catalogue, rows, keep, given) -> np.ndarray:
    """The positions among keep whose gift id is not in given."""
    ids = catalogue["id"].to_numpy()[rows[keep]]
    return keep[np.fromiter((gift_id not in given for gift_id in ids), bool, len(ids))]


def _preselect(category, per_category, closeness, count: int) -> np.ndarray:
    """Rows at least as good on (affinity, closeness) as the count-th best, ties included.

    Every row of the exact top count (which also breaks ties on the id) is among them, so
    the exact sort runs on a handful of rows. Given gifts are dropped after this, which is
    why count leaves room for them.
    """
    levels = np.unique(per_category)
    affinity_rank = (len(levels) - 1 - np.searchsorted(levels, per_category))[category]
    worse = np.nan_to_num(np.clip(1 - closeness, 0, 2), nan=3.0)
    key = affinity_rank * 4.0 + worse
    return np.flatnonzero(key <= np.partition(key, count - 1)[count - 1])

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
    ids = catalogue["id"].to_numpy()
    mask = catalogue["in_stock"].to_numpy(dtype=bool) & (
        catalogue["price_cents"].to_numpy() <= budget_cents
    )
    if already_given:
        mask &= ~np.isin(ids, np.fromiter(already_given, dtype=object))
    candidates = catalogue.loc[mask, ["id", "category", "price_cents"]]
    if candidates.empty:
        return pd.DataFrame(columns=OPTION_COLUMNS)
    affinity = candidates["category"].map(affinities).fillna(0.0).to_numpy(float)
    closeness = candidates["price_cents"].to_numpy(float) / budget_cents
    # Numeric pre-selection: the best max_options rows and every row tied with the last one,
    # so the exact ordering below (with the id tie-break) sorts only a handful of rows.
    order = np.lexsort((-closeness, -affinity))
    if len(order) > max_options:
        last = order[max_options - 1]
        tied = np.flatnonzero((affinity == affinity[last]) & (closeness == closeness[last]))
        keep = np.union1d(order[:max_options], tied)
        candidates, affinity, closeness = candidates.iloc[keep], affinity[keep], closeness[keep]
    ordered = candidates.assign(affinity=affinity, closeness=closeness).sort_values(
        ["affinity", "closeness", "id"], ascending=[False, False, True], kind="mergesort"
    )
    return (
        ordered.head(max_options)
        .rename(columns={"id": "gift_id"})[OPTION_COLUMNS]
        .reset_index(drop=True)
    )

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
    affinity = candidates["category"].map(affinities).fillna(0.0).astype(float)
    closeness = (candidates["price_cents"] / budget_cents).astype(float)
    ordered = candidates.assign(affinity=affinity, closeness=closeness).sort_values(
        ["affinity", "closeness", "id"], ascending=[False, False, True], kind="mergesort"
    )
    return (
        ordered.head(max_options)
        .rename(columns={"id": "gift_id"})[OPTION_COLUMNS]
        .reset_index(drop=True)
    )

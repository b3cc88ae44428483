"""Rank gift options with an explainable score (the seed's decisionsApi.rankGifts)."""

import numpy as np
import pandas as pd

from ivyi_pipeline.domain.enums import OccasionKind, RelationshipDepth

DEFAULT_TOP_N = 10

WEIGHTS = {"affinity_score": 0.40, "price_fit": 0.25, "occasion_fit": 0.20, "novelty": 0.15}

# The share of the budget a giver of each depth is expected to spend.
TARGET_SPEND = {
    RelationshipDepth.ACQUAINTANCE: 0.50,
    RelationshipDepth.FRIEND: 0.60,
    RelationshipDepth.CLOSE_FRIEND: 0.70,
    RelationshipDepth.FAMILY: 0.75,
    RelationshipDepth.PARTNER: 0.85,
}

# Categories that suit an occasion; others score a neutral 0.5.
OCCASION_CATEGORIES = {
    OccasionKind.BIRTHDAY: {"experiences", "gadgets", "games", "books", "fashion"},
    OccasionKind.ANNIVERSARY: {"jewelry", "experiences", "flowers", "wellness"},
    OccasionKind.HOLIDAY: {"food", "home", "books", "games"},
    OccasionKind.GRADUATION: {"gadgets", "books", "experiences", "fashion"},
    OccasionKind.OTHER: set(),
}

RANK_COLUMNS = [
    "process_id",
    "rank",
    "gift_id",
    "score",
    "affinity_score",
    "price_fit",
    "occasion_fit",
    "novelty",
]


_SUITABLE = pd.MultiIndex.from_tuples(
    [(kind.value, category) for kind, cats in OCCASION_CATEGORIES.items() for category in cats]
)


def rank_gifts(
    options: pd.DataFrame,
    received: pd.DataFrame | None = None,
    top_n: int = DEFAULT_TOP_N,
) -> pd.DataFrame:
    """Score and rank the options of any number of processes at once, best first.

    `options` has one row per (process_id, gift_id) with columns category, price_cents,
    affinity, and the process's budget_cents, depth and occasion_kind; `received` lists
    (process_id, category) pairs the recipient was given before. Ties break on price, then
    gift id, so the same input always gives the same ranks.
    """
    if options.empty:
        return pd.DataFrame(columns=RANK_COLUMNS)
    share = options["price_cents"].to_numpy(float) / options["budget_cents"].to_numpy(float)
    target = options["depth"].map(TARGET_SPEND).to_numpy(float)
    spread = np.maximum(target, 1 - target)
    suits = pd.MultiIndex.from_arrays(
        [options["occasion_kind"].astype(str), options["category"]]
    ).isin(_SUITABLE)
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

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


_SUITABLE = {
    (kind.value, category) for kind, cats in OCCASION_CATEGORIES.items() for category in cats
}


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
    # Text columns become integer codes once; process codes follow the ids' sort order.
    process, processes = pd.factorize(options["process_id"], sort=True)
    category, categories = pd.factorize(options["category"], use_na_sentinel=False)
    share = options["price_cents"].to_numpy(float) / options["budget_cents"].to_numpy(float)
    target = _lookup(options["depth"], lambda depth: TARGET_SPEND.get(depth, np.nan))
    spread = np.maximum(target, 1 - target)
    components = {
        "affinity_score": options["affinity"].astype(float).clip(0, 1).to_numpy(),
        "price_fit": np.clip(1 - np.abs(share - target) / spread, 0, 1),
        "occasion_fit": np.where(_suits(options["occasion_kind"], category, categories), 1.0, 0.5),
        "novelty": np.where(_seen(process, processes, category, categories, received), 0.3, 1.0),
    }
    score = sum(components[col] * weight for col, weight in WEIGHTS.items()).round(6)
    rows, rank = _top_rows(options, process, score, top_n)
    ranked = {
        "process_id": options["process_id"].iloc[rows].reset_index(drop=True),
        "rank": rank,
        "gift_id": options["gift_id"].iloc[rows].reset_index(drop=True),
        "score": score[rows],
        **{col: values[rows] for col, values in components.items()},
    }
    return pd.DataFrame(ranked)[RANK_COLUMNS]


def _lookup(column: pd.Series, value_of) -> np.ndarray:
    """value_of(each distinct value), spread over the rows (NaN for a missing value)."""
    codes, uniques = pd.factorize(column)
    return np.array([value_of(value) for value in uniques] + [np.nan], dtype=float)[codes]


def _suits(kinds: pd.Series, category: np.ndarray, categories: pd.Index) -> np.ndarray:
    """Whether each row's category suits its occasion, from a kind x category table."""
    kind, kind_values = pd.factorize(kinds)
    table = np.zeros((len(kind_values) + 1, len(categories)), dtype=bool)
    for i, k in enumerate(kind_values):
        for j, c in enumerate(categories):
            table[i, j] = (str(k), c) in _SUITABLE
    return table[kind, category]


def _seen(process, processes, category, categories, received) -> np.ndarray:
    """Whether each row's (process, category) pair is among those received before."""
    if received is None or received.empty:
        return np.zeros(len(process), dtype=bool)
    table = np.zeros((len(processes), len(categories)), dtype=bool)
    p = processes.get_indexer(received["process_id"])
    c = categories.get_indexer(received["category"])
    both = (p >= 0) & (c >= 0)
    table[p[both], c[both]] = True
    return table[process, category]


def _top_rows(options, process, score, top_n) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of each process's top_n, in (process, -score, price, gift id) order.

    A numeric pre-selection keeps every row scoring at least its process's top_n-th score
    (ties included); only those are sorted on the full key, stably as a merge sort would.
    """
    if top_n < 1:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.int64)
    worse = np.clip(np.nan_to_num(1 - score, nan=2.0), 0, 2)
    key = process * 4.0 + worse
    sizes = np.bincount(process)
    starts = np.cumsum(sizes) - sizes
    threshold = np.sort(key)[starts + np.minimum(top_n, sizes) - 1]
    keep = np.flatnonzero(key <= threshold[process])
    gift, _ = pd.factorize(options["gift_id"].iloc[keep], sort=True)
    gift[gift < 0] = gift.max(initial=-1) + 1
    price = options["price_cents"].to_numpy()[keep]
    order = np.lexsort((gift, price, -score[keep], process[keep]))
    kept_process = process[keep][order]
    position = np.arange(len(order))
    first = np.r_[True, kept_process[1:] != kept_process[:-1]]
    rank = position - np.maximum.accumulate(np.where(first, position, 0)) + 1
    top = rank <= top_n
    return keep[order][top], rank[top].astype(np.int64)

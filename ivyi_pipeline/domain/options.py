"""Gift options: catalogue candidates a recipient can be given (the seed's generateGiftOptions)."""

from collections.abc import Collection, Mapping, Sequence

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


MAX_CELLS = 1_000_000
"""Processes x candidates scored at once by `generate_options_for_processes` (~40 MB)."""


def generate_options_for_processes(
    catalogue: pd.DataFrame,
    budgets: Sequence[int],
    affinities: Sequence[Mapping[str, float]],
    already_given: Sequence[Collection[str]],
    max_options: int = DEFAULT_MAX_OPTIONS,
    max_cells: int = MAX_CELLS,
) -> pd.DataFrame:
    """`generate_gift_options` for many processes at once: their options, one frame.

    Process i has budget budgets[i], affinities[i] and already_given[i]. The result has
    OPTION_COLUMNS and `owner` (i), processes in input order, each one's options in the
    order `generate_gift_options` gives them: the same rows, ties and dtypes. Processes
    are scored in blocks of a processes x candidates matrix (at most max_cells cells), so
    the work per process is a few array operations instead of a pandas pipeline.
    """
    n = len(budgets)
    if max_options <= 0 or n == 0:
        return _one_by_one(catalogue, budgets, affinities, already_given, max_options)
    stocked = np.flatnonzero(catalogue["in_stock"].to_numpy(dtype=bool))
    price = catalogue["price_cents"].to_numpy()[stocked]
    price_f = price.astype(float)
    category, categories = pd.factorize(catalogue["category"].to_numpy()[stocked])
    ids = catalogue["id"].to_numpy()[stocked]
    id_rank = pd.factorize(ids, sort=True)[0]
    # A category code of -1 (no category) picks the last column: affinity 0, like one absent.
    per_category = np.zeros((n, len(categories) + 1))
    slot = {c: k for k, c in enumerate(categories)}
    for i, wanted in enumerate(affinities):
        for name, value in wanted.items():
            k = slot.get(name)
            if k is not None and value is not None and not np.isnan(value):
                per_category[i, k] = value
    given_cells = _given_cells(ids, already_given)
    owners, columns, affinity = [], [], []
    block = max(1, max_cells // max(1, len(stocked)))
    for start in range(0, n if len(stocked) else 0, block):
        stop = min(n, start + block)
        found = _best_of_block(
            price,
            price_f,
            category,
            id_rank,
            np.asarray(budgets[start:stop], dtype=np.int64),
            per_category[start:stop],
            given_cells,
            start,
            max_options,
        )
        owners.append(found[0] + start)
        columns.append(found[1])
        affinity.append(found[2])
    if not owners or not sum(map(len, owners)):
        return pd.DataFrame(columns=[*OPTION_COLUMNS, "owner"])
    chosen = catalogue[["id", "category", "price_cents"]].iloc[stocked[np.concatenate(columns)]]
    return (
        chosen.assign(affinity=np.concatenate(affinity), owner=np.concatenate(owners))
        .rename(columns={"id": "gift_id"})[[*OPTION_COLUMNS, "owner"]]
        .reset_index(drop=True)
    )


def _best_of_block(price, price_f, category, id_rank, budget, per_category, given, start, limit):
    """(process, candidate, affinity) of a block's options, best first within each process."""
    rows = len(budget)
    allowed = price[None, :] <= budget[:, None]
    for owner, cells in given.items():
        if start <= owner < start + rows:
            allowed[owner - start, cells] = False
    with np.errstate(divide="ignore", invalid="ignore"):
        closeness = price_f[None, :] / budget[:, None].astype(float)
    affinity = per_category[:, category] if len(category) else np.zeros_like(closeness)
    # Rank of each category's affinity within its process (0: the best), then the same
    # numeric key as `_preselect`: every row at least as good as the limit-th is kept.
    rank = (per_category[:, None, :] > per_category[:, :, None]).sum(axis=2)[:, category]
    key = rank * 4.0 + np.nan_to_num(np.clip(1 - closeness, 0, 2), nan=3.0)
    key[~allowed] = np.inf
    count = min(limit, key.shape[1])
    kth = np.partition(key, count - 1, axis=1)[:, count - 1]
    owner, column = np.nonzero(allowed & (key <= kth[:, None]))
    order = np.lexsort(
        (column, id_rank[column], -closeness[owner, column], -affinity[owner, column], owner)
    )
    owner, column = owner[order], column[order]
    place = np.arange(len(owner)) - np.searchsorted(owner, owner, side="left")
    keep = place < limit
    return owner[keep], column[keep], affinity[owner[keep], column[keep]]


def _given_cells(ids: np.ndarray, already_given: Sequence[Collection[str]]) -> dict:
    """For each process with given gifts, the candidate columns holding one of them."""
    codes, uniques = pd.factorize(ids)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    code_of = {gift_id: k for k, gift_id in enumerate(uniques)}
    cells = {}
    for owner, given in enumerate(already_given):
        found = [code_of[g] for g in given if g in code_of]
        if found:
            cells[owner] = np.concatenate([order[bounds[k] : bounds[k + 1]] for k in found])
    return cells


def _one_by_one(catalogue, budgets, affinities, already_given, max_options) -> pd.DataFrame:
    frames = [
        generate_gift_options(catalogue, int(b), a, g, max_options).assign(owner=i)
        for i, (b, a, g) in enumerate(zip(budgets, affinities, already_given, strict=True))
    ]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=[*OPTION_COLUMNS, "owner"])
    return pd.concat(frames, ignore_index=True)

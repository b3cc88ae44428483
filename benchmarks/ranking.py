"""Scenario 4: options and ranking for one process against a large catalogue, and in bulk.

Baselines, measured in the same run: for one process, one vectorized pass that keeps the
50 in-stock gifts within budget closest to it (the least an options step does); in bulk,
one pandas sort of the same rows by process and price (the least any ranking of them costs).
"""

import datetime as dt
import statistics
import time

import numpy as np
import pandas as pd

from benchmarks.report import Row
from ivyi_pipeline.data import vocabulary as vocab
from ivyi_pipeline.data.synthetic import generate_dataset
from ivyi_pipeline.domain.options import generate_gift_options
from ivyi_pipeline.domain.ranking import rank_gifts

SCENARIO = "4 ranking"
ONE_TARGET_MS = 50.0
BULK_TARGET_S = 10.0
BULK_TARGET_ROWS = 10_000 * 1_000
DEPTHS = ("ACQUAINTANCE", "FRIEND", "CLOSE_FRIEND", "FAMILY", "PARTNER")
KINDS = ("BIRTHDAY", "ANNIVERSARY", "HOLIDAY", "GRADUATION", "OTHER")


def _median_seconds(fn, repeat: int) -> float:
    fn()  # warm-up: first calls pay for imports and caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def catalogue(gifts: int) -> pd.DataFrame:
    """A synthetic catalogue of `gifts` gifts, as steps.generate_options reads it."""
    frame = generate_dataset(as_of=dt.date(2026, 5, 4), occasions=0, gifts=gifts).gifts
    return frame[["id", "category", "price_cents", "in_stock"]].sort_values("id")


def one_process(gifts: int, repeat: int = 15) -> tuple[float, float]:
    """Seconds for options + ranking of one process, and for one sort of the catalogue."""
    cat = catalogue(gifts)
    affinities = {"books": 0.9, "games": 0.6, "food": 0.3}
    given = set(cat["id"].iloc[:: max(1, gifts // 10)].tolist())
    prices, in_stock = cat["price_cents"].to_numpy(), cat["in_stock"].to_numpy(dtype=bool)

    def ours():
        options = generate_gift_options(cat, 6_000, affinities, given, 50)
        rank_gifts(
            options.assign(
                process_id="p", budget_cents=6_000, depth="FRIEND", occasion_kind="BIRTHDAY"
            ),
            pd.DataFrame({"process_id": ["p"], "category": ["books"]}),
            10,
        )

    def floor():
        within = np.flatnonzero(in_stock & (prices <= 6_000))
        within[np.argpartition(-prices[within], 50)[:50]]

    return _median_seconds(ours, repeat), _median_seconds(floor, repeat)


def bulk_options(processes: int, candidates: int, seed: int = 0) -> pd.DataFrame:
    """processes x candidates option rows, typed as steps.rank_options builds them."""
    rng = np.random.default_rng(seed)
    n = processes * candidates
    gift_ids = np.array([f"gift-{i:07d}" for i in range(max(candidates * 4, 1000))], dtype=object)
    process_ids = np.array([f"process-{i:07d}" for i in range(processes)], dtype=object)
    picks = (np.arange(n) % candidates) * 4 + rng.integers(0, 4, n)
    return pd.DataFrame(
        {
            "process_id": np.repeat(process_ids, candidates),
            "gift_id": gift_ids[picks],
            "category": np.asarray(vocab.CATEGORIES, dtype=object)[
                rng.integers(0, len(vocab.CATEGORIES), n)
            ],
            "price_cents": rng.integers(800, 20_000, n),
            "affinity": rng.random(n).round(3),
            "budget_cents": np.repeat(rng.integers(2_000, 30_000, processes), candidates),
            "depth": np.repeat(
                np.asarray(DEPTHS, dtype=object)[rng.integers(0, len(DEPTHS), processes)],
                candidates,
            ),
            "occasion_kind": np.repeat(
                np.asarray(KINDS, dtype=object)[rng.integers(0, len(KINDS), processes)],
                candidates,
            ),
        }
    )


def bulk(processes: int, candidates: int) -> tuple[float, float, int]:
    """Seconds for one rank_gifts call over every row, for one sort of them, and the row count."""
    options = bulk_options(processes, candidates)
    received = pd.DataFrame(
        {
            "process_id": options["process_id"].iloc[:: candidates * 3].to_numpy(),
            "category": "books",
        }
    )
    start = time.perf_counter()
    ranked = rank_gifts(options, received, 10)
    ours = time.perf_counter() - start
    assert len(ranked) == processes * min(candidates, 10)
    start = time.perf_counter()
    options.sort_values(["process_id", "price_cents"], kind="mergesort")
    floor = time.perf_counter() - start
    return ours, floor, len(options)


def rows(gifts: int, processes: int, candidates: int) -> list[Row]:
    """The scenario's rows."""
    one, one_floor = one_process(gifts)
    ours, floor, n = bulk(processes, candidates)
    bulk_target = BULK_TARGET_S * n / BULK_TARGET_ROWS
    return [
        Row(
            SCENARIO,
            f"one process: options + ranking against {gifts:,} gifts (median)",
            1000 * one,
            "ms",
            target=f"< {ONE_TARGET_MS:.0f} ms",
            baseline_label="one vectorized filter + top 50",
            baseline=1000 * one_floor,
            met=1000 * one < ONE_TARGET_MS,
        ),
        Row(
            SCENARIO,
            f"{processes:,} processes x {candidates:,} candidates in one rank_gifts call",
            ours,
            "s",
            target=f"< {bulk_target:.3g} s (10 s per 10,000 x 1,000)",
            baseline_label="one sort of the same rows",
            baseline=floor,
            met=ours < bulk_target,
        ),
    ]

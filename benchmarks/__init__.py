"""Benchmarks of the gifting pipeline on PostgreSQL: `python -m benchmarks --size small|full`."""

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Size:
    """How big each scenario runs."""

    detection_occasions: int
    detection_due: int
    processes: int
    latency_trials: int
    catalogue_gifts: int
    ranked_processes: int
    candidates: int
    backfill_occasions: int
    growth: tuple[int, ...]

    def with_processes(self, processes: int) -> "Size":
        """This size with scenario 2 (and its growth and backfill) at `processes`."""
        return replace(
            self,
            processes=processes,
            backfill_occasions=processes,
            growth=(max(1, processes // 10), processes, 5 * processes),
        )


SIZES = {
    # The CI smoke test's size: every code path once, figures meaningless.
    "smoke": Size(
        detection_occasions=2_000,
        detection_due=20,
        processes=10,
        latency_trials=1,
        catalogue_gifts=1_000,
        ranked_processes=20,
        candidates=100,
        backfill_occasions=10,
        growth=(5, 10, 20),
    ),
    # A quick look: every code path, in a few minutes on a busy machine.
    "small": Size(
        detection_occasions=20_000,
        detection_due=200,
        processes=40,
        latency_trials=1,
        catalogue_gifts=10_000,
        ranked_processes=200,
        candidates=1_000,
        backfill_occasions=40,
        growth=(10, 40, 80),
    ),
    "medium": Size(
        detection_occasions=200_000,
        detection_due=2_000,
        processes=1_000,
        latency_trials=10,
        catalogue_gifts=100_000,
        ranked_processes=2_000,
        candidates=1_000,
        backfill_occasions=1_000,
        growth=(200, 1_000, 3_000),
    ),
    # The sizes.
    "full": Size(
        detection_occasions=1_000_000,
        detection_due=2_000,
        processes=10_000,
        latency_trials=50,
        catalogue_gifts=100_000,
        ranked_processes=10_000,
        candidates=1_000,
        backfill_occasions=10_000,
        growth=(1_000, 10_000, 50_000),
    ),
}

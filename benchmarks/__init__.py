"""Benchmarks of the gifting pipeline on PostgreSQL: `python -m benchmarks --size small|full`."""

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Size:
    """How big each scenario runs (`week_daily`: scenario 7's new processes a day)."""

    detection_occasions: int
    detection_due: int
    processes: int
    latency_trials: int
    catalogue_gifts: int
    ranked_processes: int
    candidates: int
    backfill_occasions: int
    growth: tuple[int, ...]
    week_daily: int = 10
    week_days: int = 7
    confirmation_trials: int = 1
    daemon_warm_up: bool = True  # scenarios 3 and 8: an untimed trial once the daemon is up

    def with_processes(self, processes: int) -> "Size":
        """This size with scenario 2 (and its growth and backfill) at `processes`."""
        return replace(
            self,
            processes=processes,
            backfill_occasions=processes,
            growth=(max(1, processes // 10), processes, 5 * processes),
            week_daily=processes,
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
        week_daily=2,
        # Four days see every event: detection, confirmation, expiry (72 h), delivery.
        week_days=4,
        confirmation_trials=1,
        daemon_warm_up=False,  # the one trial then includes the daemon's start-up
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
        week_daily=40,
        week_days=7,
        confirmation_trials=3,
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
        week_daily=1_000,
        week_days=7,
        confirmation_trials=10,
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
        growth=(1_000, 10_000, 100_000),
        week_daily=10_000,
        week_days=7,
        confirmation_trials=50,
    ),
}

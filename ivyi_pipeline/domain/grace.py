"""The belated rule: how long after its date an occurrence may still be gifted."""

from datetime import date, timedelta

DEFAULT_GRACE_DAYS = 14


def past_grace(occurrence_date: date, today: date, grace_days: int = DEFAULT_GRACE_DAYS) -> bool:
    """True when the occurrence is older than the grace period: too late for a gift."""
    return occurrence_date < today - timedelta(days=grace_days)


def too_late_reason(occurrence_date: date, today: date, grace_days: int) -> str:
    """Why no gift is ordered for an occurrence past the grace period, in dates only."""
    days = (today - occurrence_date).days
    return (
        f"too late: the occasion on {occurrence_date.isoformat()} passed {days} days before "
        f"{today.isoformat()}, beyond the {grace_days}-day grace period; no gift is ordered"
    )

"""The gifting process's state machine: the seed's gifting-process.states.ts."""

from enum import StrEnum

from ivyi_pipeline.errors import InvalidTransition


class GiftProcessStatus(StrEnum):
    """Where a gift process stands."""

    CREATED = "CREATED"
    OCCASION_DETECTED = "OCCASION_DETECTED"
    OPTIONS_GENERATED = "OPTIONS_GENERATED"
    DECISION_WINDOW_OPEN = "DECISION_WINDOW_OPEN"
    DEFAULT_SELECTED = "DEFAULT_SELECTED"
    CONFIRMED = "CONFIRMED"
    ORDERED = "ORDERED"
    SHIPPED = "SHIPPED"
    COMPLETED = "COMPLETED"


S = GiftProcessStatus

GIFT_PROCESS_TRANSITIONS: dict[GiftProcessStatus, tuple[GiftProcessStatus, ...]] = {
    S.CREATED: (S.OCCASION_DETECTED,),
    S.OCCASION_DETECTED: (S.OPTIONS_GENERATED,),
    S.OPTIONS_GENERATED: (S.DECISION_WINDOW_OPEN,),
    S.DECISION_WINDOW_OPEN: (S.DEFAULT_SELECTED, S.CONFIRMED),
    S.DEFAULT_SELECTED: (S.CONFIRMED,),
    S.CONFIRMED: (S.ORDERED,),
    S.ORDERED: (S.SHIPPED,),
    S.SHIPPED: (S.COMPLETED,),
    S.COMPLETED: (),
}

TERMINAL_STATUSES = frozenset(s for s, nxt in GIFT_PROCESS_TRANSITIONS.items() if not nxt)


def can_transition(current: str, target: str) -> bool:
    """True when the transition table allows current -> target."""
    return GiftProcessStatus(target) in GIFT_PROCESS_TRANSITIONS[GiftProcessStatus(current)]


def ensure_transition(current: str, target: str, process_id: str | None = None) -> None:
    """Raise InvalidTransition, naming both states, unless current -> target is allowed."""
    if not can_transition(current, target):
        raise InvalidTransition(str(current), str(target), process_id)

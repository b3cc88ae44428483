"""The gifting process's state machine (the seed's gifting-process.states.ts) and its steps.

Two tables, both data: which status may follow which (`GIFT_PROCESS_TRANSITIONS`), and which
step moves a process on from where to where, answering which event (`STEPS`). The ops, the
run story, redrive, the reconciler's deadlines and the failure bookkeeping derive from them.
"""

from dataclasses import dataclass
from enum import StrEnum

from ivyi_pipeline.domain.events import GiftingProcessEvent as E
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


@dataclass(frozen=True)
class Step:
    """One step of the gifting process, run by the op of the same name.

    `acts_on`: the statuses of the processes it moves on (a failed step leaves them there);
    `moves_to`: where it moves them, None for a step that records data without a state change;
    `answers`: the events it handles, recorded in the history of the transitions it makes.
    """

    name: str
    acts_on: tuple[GiftProcessStatus, ...]
    moves_to: GiftProcessStatus | None
    answers: tuple[E, ...]


START_WORKFLOW = Step("start_workflow", (S.CREATED,), S.OCCASION_DETECTED, (E.START_WORKFLOW,))
GENERATE_OPTIONS = Step(
    "generate_options", (S.OCCASION_DETECTED,), S.OPTIONS_GENERATED, (E.OCCASION_DETECTED,)
)
RANK_OPTIONS = Step("rank_options", (S.OPTIONS_GENERATED,), None, (E.OPTIONS_GENERATED,))
OPEN_DECISION_WINDOW = Step(
    "open_decision_window", (S.OPTIONS_GENERATED,), S.DECISION_WINDOW_OPEN, (E.OPTIONS_GENERATED,)
)
SELECT_DEFAULT = Step(
    "select_default", (S.DECISION_WINDOW_OPEN,), S.DEFAULT_SELECTED, (E.DECISION_WINDOW_OPEN,)
)
CONFIRM_SELECTION = Step(
    "confirm_selection",
    (S.DECISION_WINDOW_OPEN, S.DEFAULT_SELECTED),
    S.CONFIRMED,
    (E.OPTION_CONFIRMED, E.OPTION_SELECTED),
)
PLACE_ORDER = Step("place_order", (S.CONFIRMED,), S.ORDERED, (E.ORDER_PLACED,))
RECORD_SHIPMENT = Step("record_shipment", (S.ORDERED,), S.SHIPPED, (E.FULFILMENT_UPDATED,))
COMPLETE_PROCESS = Step("complete_process", (S.SHIPPED,), S.COMPLETED, (E.FULFILMENT_UPDATED,))

STEPS: tuple[Step, ...] = (
    START_WORKFLOW,
    GENERATE_OPTIONS,
    RANK_OPTIONS,
    OPEN_DECISION_WINDOW,
    SELECT_DEFAULT,
    CONFIRM_SELECTION,
    PLACE_ORDER,
    RECORD_SHIPMENT,
    COMPLETE_PROCESS,
)
"""Every step, in the order a run executes them: one run can take a process all the way."""

STEPS_BY_NAME: dict[str, Step] = {step.name: step for step in STEPS}


def step_named(name: str | None) -> Step | None:
    """The step of that name, None for a name the table does not hold."""
    return STEPS_BY_NAME.get(name or "")


class Wait(StrEnum):
    """What a process waits for, outside any run, before a step can move it on."""

    GIVER_OR_WINDOW_CLOSE = "the giver's choice, or its decision window to close"
    PROVIDER = "the fulfilment provider's update"


WAITS_IN: dict[GiftProcessStatus, Wait] = {
    S.DECISION_WINDOW_OPEN: Wait.GIVER_OR_WINDOW_CLOSE,
    S.ORDERED: Wait.PROVIDER,
    S.SHIPPED: Wait.PROVIDER,
}
"""The statuses a process rests in; a run moves it out of any other non-terminal one at once."""

PASSED_THROUGH: tuple[GiftProcessStatus, ...] = tuple(
    s for s in GiftProcessStatus if s not in TERMINAL_STATUSES and s not in WAITS_IN
)
"""Statuses a run only passes through: a process resting in one was interrupted."""

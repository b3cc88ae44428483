"""The gifting process's state machine (the seed's gifting-process.states.ts) and its steps.

Two tables, both data: which status may follow which (`GIFT_PROCESS_TRANSITIONS`), and which
step moves a process on along which edges (`STEPS`: each edge's source, target, event and
reason; `CREATION` for the edge into CREATED). The steps, the sensors' due queries, the quality
rules, creation, the ops, the run story, redrive, the reconciler's deadlines and the failure
bookkeeping derive from them: adding a step or a status means editing these tables and the
step's own logic.
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
class Edge:
    """One move of the lifecycle as data: from `source` to `target`, recorded in the history
    with `event` and `reason`.

    `source` None is the creation of a process; `target` None is a step that records data
    about processes in `source` without moving them (it writes no history).
    """

    source: GiftProcessStatus | None
    target: GiftProcessStatus | None
    event: E
    reason: str | None = None


@dataclass(frozen=True)
class Step:
    """One step of the gifting process, run by the op of the same name, and the edges it takes.

    `acts_on`: the statuses of the processes it moves on (a failed step leaves them there);
    `moves_to`: where it moves them, None for a step that records data without a state change;
    `answers`: the events it handles, recorded in the history of the transitions it makes.
    All three are read from `edges`.
    """

    name: str
    edges: tuple[Edge, ...]

    def __post_init__(self) -> None:
        if len({edge.target for edge in self.edges}) > 1:
            raise ValueError(f"step {self.name} moves processes to more than one status")
        for edge in self.edges:
            if edge.source is None or (
                edge.target is not None and not can_transition(edge.source, edge.target)
            ):
                raise InvalidTransition(str(edge.source), str(edge.target))

    @property
    def acts_on(self) -> tuple[GiftProcessStatus, ...]:
        """The statuses of the processes it moves on, in the order of its edges."""
        return tuple(dict.fromkeys(edge.source for edge in self.edges))

    @property
    def moves_to(self) -> GiftProcessStatus | None:
        """Where it moves its processes; None when it records data only."""
        return self.edges[0].target if self.edges else None

    @property
    def answers(self) -> tuple[E, ...]:
        """The events it handles, in the order of its edges."""
        return tuple(dict.fromkeys(edge.event for edge in self.edges))

    @property
    def edge(self) -> Edge:
        """The step's one edge (a step with several names each: `GIVER_CONFIRMED`, ...)."""
        (only,) = self.edges
        return only


CREATED_IN_LEAD_WINDOW = Edge(
    None, S.CREATED, E.START_WORKFLOW, "occurrence entered the lead window"
)
CREATED_BELATED = Edge(None, S.CREATED, E.START_WORKFLOW, "belated occurrence")
CREATED_ON_REQUEST = Edge(
    None,
    S.CREATED,
    E.START_WORKFLOW,
    "requested by the platform (POST /occasions/{id}/gifting-process)",
)
CREATION: tuple[Edge, ...] = (CREATED_IN_LEAD_WINDOW, CREATED_BELATED, CREATED_ON_REQUEST)
"""How a process comes to be: detection (or a backfill, or the platform over HTTP) creates it
CREATED."""

GIVER_CONFIRMED = Edge(S.DECISION_WINDOW_OPEN, S.CONFIRMED, E.OPTION_CONFIRMED, "giver confirmed")
GIVER_OVERRODE_DEFAULT = Edge(
    S.DEFAULT_SELECTED, S.CONFIRMED, E.OPTION_CONFIRMED, "giver confirmed before the window closed"
)
DEFAULT_CONFIRMED = Edge(S.DEFAULT_SELECTED, S.CONFIRMED, E.OPTION_SELECTED, "default confirmed")
ORDERED_AS_SELECTED = Edge(S.CONFIRMED, S.ORDERED, E.ORDER_PLACED)
ORDERED_A_SUBSTITUTE = Edge(
    S.CONFIRMED,
    S.ORDERED,
    E.ORDER_PLACED,
    "the selected gift went out of stock; ordered the best-ranked gift in stock",
)

START_WORKFLOW = Step("start_workflow", (Edge(S.CREATED, S.OCCASION_DETECTED, E.START_WORKFLOW),))
GENERATE_OPTIONS = Step(
    "generate_options", (Edge(S.OCCASION_DETECTED, S.OPTIONS_GENERATED, E.OCCASION_DETECTED),)
)
RANK_OPTIONS = Step("rank_options", (Edge(S.OPTIONS_GENERATED, None, E.OPTIONS_GENERATED),))
OPEN_DECISION_WINDOW = Step(
    "open_decision_window",
    (Edge(S.OPTIONS_GENERATED, S.DECISION_WINDOW_OPEN, E.OPTIONS_GENERATED),),
)
SELECT_DEFAULT = Step(
    "select_default",
    (
        Edge(
            S.DECISION_WINDOW_OPEN,
            S.DEFAULT_SELECTED,
            E.DECISION_WINDOW_OPEN,
            "decision window expired",
        ),
    ),
)
CONFIRM_SELECTION = Step(
    "confirm_selection", (GIVER_CONFIRMED, GIVER_OVERRODE_DEFAULT, DEFAULT_CONFIRMED)
)
PLACE_ORDER = Step("place_order", (ORDERED_AS_SELECTED, ORDERED_A_SUBSTITUTE))
RECORD_SHIPMENT = Step(
    "record_shipment",
    (Edge(S.ORDERED, S.SHIPPED, E.FULFILMENT_UPDATED, "provider reported shipped"),),
)
COMPLETE_PROCESS = Step(
    "complete_process",
    (Edge(S.SHIPPED, S.COMPLETED, E.FULFILMENT_UPDATED, "provider reported delivered"),),
)

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


EDGES: tuple[Edge, ...] = CREATION + tuple(edge for step in STEPS for edge in step.edges)
"""Every edge of the lifecycle: the creation's and each step's."""


def edge_answering(source: str | None, target: str | None, event: str) -> Edge | None:
    """The edge of the table that moves a process from source to target recording event; None
    when the table answers no such history row."""
    for edge in EDGES:
        if (edge.source, edge.target, edge.event) == (source, target, event):
            return edge
    return None


def edges_between(source: str, target: str) -> tuple[Edge, ...]:
    """The edges that move a process from source to target, in the table's order."""
    return tuple(edge for edge in EDGES if (edge.source, edge.target) == (source, target))


def at_or_after(status: str) -> frozenset[GiftProcessStatus]:
    """The status and every status a process can reach after it."""
    reached, todo = set(), [GiftProcessStatus(status)]
    while todo:
        current = todo.pop()
        if current not in reached:
            reached.add(current)
            todo.extend(GIFT_PROCESS_TRANSITIONS[current])
    return frozenset(reached)


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

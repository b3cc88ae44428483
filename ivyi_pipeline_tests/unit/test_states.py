"""Unit tests of the state machine and the step table against the seed (no database, no Dagster)."""

from itertools import product

import pytest

from ivyi_pipeline.domain.events import GiftingProcessEvent
from ivyi_pipeline.domain.states import (
    CREATION,
    GIFT_PROCESS_TRANSITIONS,
    STEPS,
    STEPS_BY_NAME,
    TERMINAL_STATUSES,
    Edge,
    GiftProcessStatus,
    Step,
    at_or_after,
    can_transition,
    edge_answering,
    ensure_transition,
    step_named,
)
from ivyi_pipeline.errors import InvalidTransition

SEED_TRANSITIONS = {
    ("CREATED", "OCCASION_DETECTED"),
    ("OCCASION_DETECTED", "OPTIONS_GENERATED"),
    ("OPTIONS_GENERATED", "DECISION_WINDOW_OPEN"),
    ("DECISION_WINDOW_OPEN", "DEFAULT_SELECTED"),
    ("DECISION_WINDOW_OPEN", "CONFIRMED"),
    ("DEFAULT_SELECTED", "CONFIRMED"),
    ("CONFIRMED", "ORDERED"),
    ("ORDERED", "SHIPPED"),
    ("SHIPPED", "COMPLETED"),
}
SEED_STATUSES = [
    "CREATED",
    "OCCASION_DETECTED",
    "OPTIONS_GENERATED",
    "DECISION_WINDOW_OPEN",
    "DEFAULT_SELECTED",
    "CONFIRMED",
    "ORDERED",
    "SHIPPED",
    "COMPLETED",
]
SEED_EVENTS = {
    "start-workflow",
    "occasion-detected",
    "options-generated",
    "decision-window-open",
    "option-confirmed",
    "option-selected",
}
"""The seed's GiftingProcessJobs."""
SEED_HANDLER_TARGETS = {
    "start-workflow": "OCCASION_DETECTED",
    "occasion-detected": "OPTIONS_GENERATED",
}
"""The two handlers whose bodies the seed shows: the status each leaves its process in."""
ALLOWED = sorted(SEED_TRANSITIONS)
FORBIDDEN = sorted(set(product(SEED_STATUSES, SEED_STATUSES)) - SEED_TRANSITIONS)


def _ids(pairs):
    return [f"{a}->{b}" for a, b in pairs]


def test_the_statuses_are_the_seeds_nine_in_order():
    assert [s.value for s in GiftProcessStatus] == SEED_STATUSES


def test_the_table_equals_the_seeds_gift_process_transitions():
    table = {(a.value, b.value) for a, targets in GIFT_PROCESS_TRANSITIONS.items() for b in targets}
    assert table == SEED_TRANSITIONS
    assert set(GIFT_PROCESS_TRANSITIONS) == set(GiftProcessStatus)


def test_completed_is_the_only_terminal_status():
    assert TERMINAL_STATUSES == {GiftProcessStatus.COMPLETED}


def test_no_status_can_be_entered_twice_because_the_table_is_acyclic():
    def reachable(start):
        seen, todo = set(), list(GIFT_PROCESS_TRANSITIONS[start])
        while todo:
            s = todo.pop()
            if s not in seen:
                seen.add(s)
                todo.extend(GIFT_PROCESS_TRANSITIONS[s])
        return seen

    for status in GiftProcessStatus:
        assert status not in reachable(status)
    assert reachable(GiftProcessStatus.CREATED) == set(GiftProcessStatus) - {"CREATED"}


@pytest.mark.parametrize(("current", "target"), ALLOWED, ids=_ids(ALLOWED))
def test_an_allowed_transition_is_allowed(current, target):
    assert can_transition(current, target) is True
    ensure_transition(current, target)
    ensure_transition(GiftProcessStatus(current), GiftProcessStatus(target))


@pytest.mark.parametrize(("current", "target"), FORBIDDEN, ids=_ids(FORBIDDEN))
def test_a_forbidden_transition_is_refused_naming_both_states(current, target):
    assert can_transition(current, target) is False
    with pytest.raises(InvalidTransition) as refused:
        ensure_transition(current, target)
    assert str(refused.value) == f"{current} -> {target} is not allowed"
    assert (refused.value.current, refused.value.target) == (current, target)


def test_a_refusal_for_a_known_process_names_the_process_too():
    with pytest.raises(InvalidTransition) as refused:
        ensure_transition(GiftProcessStatus.CONFIRMED, GiftProcessStatus.SHIPPED, "p-1")
    assert str(refused.value) == "process p-1: CONFIRMED -> SHIPPED is not allowed"


def test_the_seeds_diagram_has_one_path_from_created_to_completed_through_each_choice():
    def paths(start):
        if not GIFT_PROCESS_TRANSITIONS[start]:
            return [[start]]
        return [[start, *rest] for nxt in GIFT_PROCESS_TRANSITIONS[start] for rest in paths(nxt)]

    found = {tuple(s.value for s in path) for path in paths(GiftProcessStatus.CREATED)}
    assert len(found) == 2
    assert all(path[0] == "CREATED" and path[-1] == "COMPLETED" for path in found)
    assert {"DEFAULT_SELECTED" in path for path in found} == {True, False}


@pytest.mark.parametrize("step", STEPS, ids=[s.name for s in STEPS])
def test_each_steps_target_is_allowed_from_each_status_it_acts_on(step):
    assert step.acts_on, "a step must act on at least one status"
    for source in step.acts_on:
        assert source not in TERMINAL_STATUSES
        if step.moves_to is not None:
            assert can_transition(source, step.moves_to), f"{step.name}: {source}"


def test_every_transition_of_the_seed_is_made_by_exactly_one_step():
    made = [
        (source.value, step.moves_to.value)
        for step in STEPS
        if step.moves_to is not None
        for source in step.acts_on
    ]
    assert sorted(made) == sorted(SEED_TRANSITIONS)


def test_the_steps_are_in_run_order_so_one_run_can_take_a_process_to_the_end():
    # Each step acts on statuses only earlier steps (or the creation) lead to.
    reached = {GiftProcessStatus.CREATED}
    for step in STEPS:
        assert set(step.acts_on) <= reached, f"{step.name} runs before what it acts on exists"
        if step.moves_to is not None:
            reached.add(step.moves_to)
    assert reached == set(GiftProcessStatus)


def test_every_non_terminal_status_is_acted_on_by_a_step():
    acted_on = {source for step in STEPS for source in step.acts_on}
    assert acted_on == set(GiftProcessStatus) - TERMINAL_STATUSES


def test_every_seed_event_is_answered_by_a_step_and_every_answer_is_a_known_event():
    answered = {event.value for step in STEPS for event in step.answers}
    assert SEED_EVENTS <= answered
    assert answered <= {event.value for event in GiftingProcessEvent}
    assert all(step.answers for step in STEPS)


@pytest.mark.parametrize(("event", "target"), sorted(SEED_HANDLER_TARGETS.items()))
def test_the_step_answering_a_seed_handler_leaves_the_process_where_the_seed_does(event, target):
    (step,) = [step for step in STEPS if event in step.answers]
    assert step.moves_to == target


def test_step_names_are_unique_and_found_by_name():
    assert len(STEPS_BY_NAME) == len(STEPS)
    for step in STEPS:
        assert step_named(step.name) is step
    assert step_named("send_thank_you_card") is None
    assert step_named(None) is None


def test_a_step_whose_edges_lead_to_two_statuses_cannot_be_declared():
    S, E = GiftProcessStatus, GiftingProcessEvent
    edges = (
        Edge(S.DECISION_WINDOW_OPEN, S.CONFIRMED, E.OPTION_CONFIRMED),
        Edge(S.DECISION_WINDOW_OPEN, S.DEFAULT_SELECTED, E.DECISION_WINDOW_OPEN),
    )
    with pytest.raises(ValueError, match="more than one status"):
        Step("choose", edges)


def test_a_step_with_an_edge_the_state_machine_forbids_cannot_be_declared():
    S, E = GiftProcessStatus, GiftingProcessEvent
    with pytest.raises(InvalidTransition, match="CONFIRMED -> SHIPPED is not allowed"):
        Step("ship_at_once", (Edge(S.CONFIRMED, S.SHIPPED, E.ORDER_PLACED),))


def test_the_table_answers_a_history_row_only_with_the_event_of_its_edge():
    S = GiftProcessStatus
    assert edge_answering(S.CREATED, S.OCCASION_DETECTED, "start-workflow") is STEPS[0].edge
    assert edge_answering(S.CREATED, S.OCCASION_DETECTED, "occasion-detected") is None
    assert edge_answering(S.ORDERED, S.COMPLETED, "fulfilment-updated") is None
    assert edge_answering(None, S.CREATED, "start-workflow") in CREATION
    assert edge_answering(S.DEFAULT_SELECTED, S.CONFIRMED, "option-selected").reason == (
        "default confirmed"
    )


def test_the_statuses_at_or_after_one_follow_the_seeds_order():
    S = GiftProcessStatus
    assert at_or_after(S.DECISION_WINDOW_OPEN) == set(SEED_STATUSES[3:])
    assert at_or_after(S.CREATED) == set(S)
    assert at_or_after(S.COMPLETED) == {S.COMPLETED}

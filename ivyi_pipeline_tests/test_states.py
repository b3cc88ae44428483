"""Unit tests of the gifting process's transition table (no database)."""

from itertools import product

import pytest

from ivyi_pipeline.errors import InvalidTransition
from ivyi_pipeline.workflows.gifting_process.states import (
    GIFT_PROCESS_TRANSITIONS,
    TERMINAL_STATUSES,
    GiftProcessStatus,
    can_transition,
    ensure_transition,
)

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


def test_every_one_of_the_81_pairs_is_either_allowed_or_forbidden():
    assert len(SEED_TRANSITIONS) + len(FORBIDDEN) == 81


def test_a_refusal_for_a_known_process_names_the_process_too():
    with pytest.raises(InvalidTransition) as refused:
        ensure_transition(GiftProcessStatus.CONFIRMED, GiftProcessStatus.SHIPPED, "p-1")
    assert str(refused.value) == "process p-1: CONFIRMED -> SHIPPED is not allowed"

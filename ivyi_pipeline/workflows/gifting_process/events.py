"""The seed's GiftingProcessJobs: the event names that runs are tagged with."""

from enum import StrEnum


class GiftingProcessEvent(StrEnum):
    """An event of the gifting process; each has a step (op) that handles it."""

    START_WORKFLOW = "start-workflow"
    OCCASION_DETECTED = "occasion-detected"
    OPTIONS_GENERATED = "options-generated"
    DECISION_WINDOW_OPEN = "decision-window-open"
    OPTION_CONFIRMED = "option-confirmed"
    OPTION_SELECTED = "option-selected"
    ORDER_PLACED = "order-placed"
    FULFILMENT_UPDATED = "fulfilment-updated"

"""The gifting process's events: the seed's GiftingProcessJobs and two of the pipeline's own."""

from enum import StrEnum


class GiftingProcessEvent(StrEnum):
    """An event of the gifting process; each is answered by a step of `states.STEPS`.

    The first six are the seed's GiftingProcessJobs; the seed has no order or fulfilment
    events, so `order-placed` and `fulfilment-updated` are the pipeline's own.
    """

    START_WORKFLOW = "start-workflow"
    OCCASION_DETECTED = "occasion-detected"
    OPTIONS_GENERATED = "options-generated"
    DECISION_WINDOW_OPEN = "decision-window-open"
    OPTION_CONFIRMED = "option-confirmed"
    OPTION_SELECTED = "option-selected"
    ORDER_PLACED = "order-placed"
    FULFILMENT_UPDATED = "fulfilment-updated"

"""One op per step of the gifting process; each is a thin call into the workflow's steps."""

import dagster as dg

from ivyi_pipeline.orchestration import metadata
from ivyi_pipeline.orchestration.resources import FulfilmentService, GiftingSettings, IvyiDatabase
from ivyi_pipeline.orchestration.run_context import (
    RETRY_POLICY,
    as_of,
    process_ids,
    record,
    retry_only_transient,
)
from ivyi_pipeline.workflows.gifting_process import steps

AFTER = {"after": dg.In(dg.Nothing)}
DONE = dg.Out(dg.Nothing)


@dg.op(out={"done": DONE}, retry_policy=RETRY_POLICY)
def start_workflow(context: dg.OpExecutionContext, ivyi_db: IvyiDatabase) -> None:
    """start-workflow: attach occasion context; CREATED -> OCCASION_DETECTED."""
    with retry_only_transient():
        engine = ivyi_db.get_engine()
        record(context, steps.start_workflow(engine, process_ids(context), as_of(context)))


@dg.op(
    ins=AFTER,
    out={"done": DONE, "gift_options": dg.Out(dg.Nothing, is_required=False)},
    retry_policy=RETRY_POLICY,
)
def generate_options(
    context: dg.AssetExecutionContext, ivyi_db: IvyiDatabase, gifting: GiftingSettings
):
    """occasion-detected: find each process's gift options; -> OPTIONS_GENERATED."""
    with retry_only_transient():
        engine, ids = ivyi_db.get_engine(), process_ids(context)
        report = steps.generate_options(engine, ids, as_of(context), gifting.rules())
        # Every run records the options as it finds them, so the checks the run evaluates
        # belong to the latest materialization and the UI shows their status.
        metadata.describe_options(context, engine, ids)
        yield dg.Output(None, "gift_options")
        yield dg.Output(None, "done")
        record(context, report)


@dg.op(
    ins=AFTER,
    out={"done": DONE, "ranked_decisions": dg.Out(dg.Nothing, is_required=False)},
    retry_policy=RETRY_POLICY,
)
def rank_options(
    context: dg.AssetExecutionContext, ivyi_db: IvyiDatabase, gifting: GiftingSettings
):
    """options-generated (1/2): score and rank each process's options."""
    with retry_only_transient():
        engine, ids = ivyi_db.get_engine(), process_ids(context)
        report = steps.rank_options(engine, ids, as_of(context), gifting.rules())
        metadata.describe_rankings(context, engine, ids)
        yield dg.Output(None, "ranked_decisions")
        yield dg.Output(None, "done")
        record(context, report)


@dg.op(ins=AFTER, out={"done": DONE}, retry_policy=RETRY_POLICY)
def open_decision_window(
    context: dg.OpExecutionContext, ivyi_db: IvyiDatabase, gifting: GiftingSettings
) -> None:
    """options-generated (2/2): open the giver's decision window; -> DECISION_WINDOW_OPEN."""
    with retry_only_transient():
        engine, rules = ivyi_db.get_engine(), gifting.rules()
        record(
            context, steps.open_decision_window(engine, process_ids(context), as_of(context), rules)
        )


@dg.op(ins=AFTER, out={"done": DONE}, retry_policy=RETRY_POLICY)
def select_default(context: dg.OpExecutionContext, ivyi_db: IvyiDatabase) -> None:
    """decision-window-open: when the window expires, take the top option; -> DEFAULT_SELECTED."""
    with retry_only_transient():
        engine = ivyi_db.get_engine()
        record(context, steps.select_default(engine, process_ids(context), as_of(context)))


@dg.op(ins=AFTER, out={"done": DONE}, retry_policy=RETRY_POLICY)
def confirm_selection(context: dg.OpExecutionContext, ivyi_db: IvyiDatabase) -> None:
    """option-confirmed / option-selected: the giver's choice or the default; -> CONFIRMED."""
    with retry_only_transient():
        engine = ivyi_db.get_engine()
        record(context, steps.confirm_selection(engine, process_ids(context), as_of(context)))


@dg.op(ins=AFTER, out={"done": DONE}, retry_policy=RETRY_POLICY)
def place_order(
    context: dg.OpExecutionContext, ivyi_db: IvyiDatabase, fulfilment: FulfilmentService
) -> None:
    """Order the chosen gift once per process (idempotency key); -> ORDERED."""
    with retry_only_transient():
        engine = ivyi_db.get_engine()
        provider = fulfilment.provider(engine)
        record(context, steps.place_order(engine, process_ids(context), as_of(context), provider))


@dg.op(ins=AFTER, out={"done": DONE}, retry_policy=RETRY_POLICY)
def record_shipment(
    context: dg.OpExecutionContext, ivyi_db: IvyiDatabase, fulfilment: FulfilmentService
) -> None:
    """Fulfilment update: the parcel shipped; -> SHIPPED."""
    with retry_only_transient():
        engine = ivyi_db.get_engine()
        provider = fulfilment.provider(engine)
        record(
            context, steps.record_shipment(engine, process_ids(context), as_of(context), provider)
        )


@dg.op(ins=AFTER, out={"gift_process_state": dg.Out(dg.Nothing)}, retry_policy=RETRY_POLICY)
def complete_process(
    context: dg.AssetExecutionContext, ivyi_db: IvyiDatabase, fulfilment: FulfilmentService
):
    """Fulfilment update: the gift was delivered; -> COMPLETED. Records every process's state."""
    with retry_only_transient():
        engine = ivyi_db.get_engine()
        provider = fulfilment.provider(engine)
        ids = process_ids(context)
        report = steps.complete_process(engine, ids, as_of(context), provider)
        metadata.describe_states(context, engine, ids)
        yield dg.Output(None, "gift_process_state")
        record(context, report)

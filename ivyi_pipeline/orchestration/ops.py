"""One op per step of the gifting process; each is a thin call into the workflow's steps.

Every op is declared with `step_op(step)`, which names it after its step of the step table
(`ivyi_pipeline.domain.states.STEPS`) and refuses a step the table does not hold.
"""

import dagster as dg

from ivyi_pipeline.domain import states
from ivyi_pipeline.domain.states import Step, step_named
from ivyi_pipeline.orchestration import checks, metadata
from ivyi_pipeline.orchestration.resources import FulfilmentService, GiftingSettings, IvyiDatabase
from ivyi_pipeline.orchestration.run_log import RETRY_POLICY, record, retry_only_transient
from ivyi_pipeline.orchestration.run_scope import as_of, process_ids
from ivyi_pipeline.workflows.gifting_process import quality, steps

AFTER = {"after": dg.In(dg.Nothing)}
DONE = dg.Out(dg.Nothing)


def step_op(step: Step, **op_kwargs):
    """`dg.op` of one step of the table, named after it and retried by RETRY_POLICY."""
    if step_named(step.name) != step:
        raise dg.DagsterInvalidDefinitionError(
            f"step {step.name!r} is not in the gifting step table "
            "(ivyi_pipeline.domain.states.STEPS): add it there before wiring an op for it"
        )
    return dg.op(name=step.name, retry_policy=RETRY_POLICY, **op_kwargs)


def op_name_of_key(step_key: str | None) -> str:
    """The op a Dagster step key runs: `place_order` of `gifting_process.place_order`."""
    return (step_key or "").rsplit(".", 1)[-1]


def step_of_key(step_key: str | None) -> Step | None:
    """The table's step a Dagster step key runs; None for a step of no table (a check)."""
    return step_named(op_name_of_key(step_key))


@step_op(states.START_WORKFLOW, out={"done": DONE})
def start_workflow(
    context: dg.OpExecutionContext, ivyi_db: IvyiDatabase, gifting: GiftingSettings
) -> None:
    """start-workflow: attach occasion context; CREATED -> OCCASION_DETECTED."""
    with retry_only_transient(context):
        engine, ids, at = ivyi_db.get_engine(), process_ids(context), as_of(context)
        record(context, steps.start_workflow(engine, ids, at, gifting.grace_days))


@step_op(
    states.GENERATE_OPTIONS,
    ins=AFTER,
    out={"done": DONE, "gift_options": dg.Out(dg.Nothing, is_required=False)},
)
def generate_options(
    context: dg.AssetExecutionContext, ivyi_db: IvyiDatabase, gifting: GiftingSettings
):
    """occasion-detected: find each process's gift options; -> OPTIONS_GENERATED."""
    with retry_only_transient(context):
        engine, ids = ivyi_db.get_engine(), process_ids(context)
        report = steps.generate_options(engine, ids, as_of(context), gifting.rules())
        # A run materializes the options only when it found or blocked some: a run that
        # generates none (a window expiry, a delivery) leaves the latest materialization and
        # its check results as they are. The materialization covers the run's whole range,
        # so each of its processes is described.
        if report.advanced or report.blocked:
            metadata.describe_options(context, engine, ids)
            yield dg.Output(None, "gift_options")
        yield dg.Output(None, "done")
        record(context, report)


@step_op(
    states.RANK_OPTIONS,
    ins=AFTER,
    out={"done": DONE, "ranked_decisions": dg.Out(dg.Nothing, is_required=False)},
)
def rank_options(
    context: dg.AssetExecutionContext, ivyi_db: IvyiDatabase, gifting: GiftingSettings
):
    """options-generated (1/2): score and rank each process's options."""
    with retry_only_transient(context):
        engine, ids = ivyi_db.get_engine(), process_ids(context)
        report = steps.rank_options(engine, ids, as_of(context), gifting.rules())
        if report.advanced:  # as for the options: only a run that ranked some materializes
            metadata.describe_rankings(context, engine, ids)
            yield dg.Output(None, "ranked_decisions")
        yield dg.Output(None, "done")
        record(context, report)


@step_op(states.OPEN_DECISION_WINDOW, ins=AFTER, out={"done": DONE})
def open_decision_window(
    context: dg.OpExecutionContext, ivyi_db: IvyiDatabase, gifting: GiftingSettings
) -> None:
    """options-generated (2/2): open the giver's decision window; -> DECISION_WINDOW_OPEN."""
    with retry_only_transient(context):
        engine, rules = ivyi_db.get_engine(), gifting.rules()
        record(
            context, steps.open_decision_window(engine, process_ids(context), as_of(context), rules)
        )


@step_op(states.SELECT_DEFAULT, ins=AFTER, out={"done": DONE})
def select_default(
    context: dg.OpExecutionContext, ivyi_db: IvyiDatabase, gifting: GiftingSettings
) -> None:
    """decision-window-open: when the window expires, take the top option; -> DEFAULT_SELECTED."""
    with retry_only_transient(context):
        engine, ids, at = ivyi_db.get_engine(), process_ids(context), as_of(context)
        record(context, steps.select_default(engine, ids, at, gifting.grace_days))


@step_op(states.CONFIRM_SELECTION, ins=AFTER, out={"done": DONE})
def confirm_selection(context: dg.OpExecutionContext, ivyi_db: IvyiDatabase) -> None:
    """option-confirmed / option-selected: the giver's choice or the default; -> CONFIRMED."""
    with retry_only_transient(context):
        engine = ivyi_db.get_engine()
        record(context, steps.confirm_selection(engine, process_ids(context), as_of(context)))


@step_op(states.PLACE_ORDER, ins=AFTER, out={"done": DONE})
def place_order(
    context: dg.OpExecutionContext,
    ivyi_db: IvyiDatabase,
    fulfilment: FulfilmentService,
    gifting: GiftingSettings,
) -> None:
    """Order the chosen gift once per process (idempotency key); -> ORDERED."""
    with retry_only_transient(context):
        engine, ids, at = ivyi_db.get_engine(), process_ids(context), as_of(context)
        provider = fulfilment.provider(engine)
        record(context, steps.place_order(engine, ids, at, provider, gifting.grace_days))


@step_op(states.RECORD_SHIPMENT, ins=AFTER, out={"done": DONE})
def record_shipment(
    context: dg.OpExecutionContext, ivyi_db: IvyiDatabase, fulfilment: FulfilmentService
) -> None:
    """Fulfilment update: the parcel shipped; -> SHIPPED."""
    with retry_only_transient(context):
        engine = ivyi_db.get_engine()
        provider = fulfilment.provider(engine)
        record(
            context, steps.record_shipment(engine, process_ids(context), as_of(context), provider)
        )


@step_op(states.COMPLETE_PROCESS, ins=AFTER, out={"gift_process_state": dg.Out(dg.Nothing)})
def complete_process(
    context: dg.AssetExecutionContext, ivyi_db: IvyiDatabase, fulfilment: FulfilmentService
):
    """Fulfilment update: the gift was delivered; -> COMPLETED. Records every process's state,
    every rule's verdict on it, and a check result where a rule fails (`checks`)."""
    with retry_only_transient(context):
        engine = ivyi_db.get_engine()
        provider = fulfilment.provider(engine)
        ids, at = process_ids(context), as_of(context)
        report = steps.complete_process(engine, ids, at, provider)
        reports = quality.judge(engine, ids, at)
        metadata.describe_states(context, engine, ids, checks.verdicts_of(reports, ids))
        yield dg.Output(None, "gift_process_state")
        # The run's materializations are stored now: the results can point at them.
        yield from checks.recorded_results(context, reports)
        record(context, report)

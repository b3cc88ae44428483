"""The gifting process as a graph of step ops that materializes each process's assets.

Its data-quality checks are declared apart (`checks.gifting_rules`): the last step records a
result only where a rule fails, and every verdict is in the state's partition metadata.
"""

import dagster as dg

from ivyi_pipeline.orchestration import metadata, ops
from ivyi_pipeline.orchestration.partitions import gift_processes_partitions
from ivyi_pipeline.orchestration.resources import DEFAULT_BATCH_SIZE


@dg.graph_multi_asset(
    outs={
        "gift_options": dg.AssetOut(
            is_required=False,
            kinds={"python", "sql"},
            description="Each process's gift options: in stock, within budget, never given before.",
            metadata={"dagster/column_schema": metadata.OPTIONS_SCHEMA},
        ),
        "ranked_decisions": dg.AssetOut(
            is_required=False,
            kinds={"pandas", "sql"},
            description="Each process's options ranked by an explainable score, best first.",
            metadata={"dagster/column_schema": metadata.RANKED_SCHEMA},
        ),
        "gift_process_state": dg.AssetOut(
            kinds={"sql"},
            description="Where each gift process stands after a run: status, choice, window.",
        ),
    },
    group_name="gifting",
    partitions_def=gift_processes_partitions,
    backfill_policy=dg.BackfillPolicy.multi_run(DEFAULT_BATCH_SIZE),
    can_subset=False,
)
def gifting_process():
    """The seed's lifecycle, one op per step; every op advances only the processes in its state."""
    started = ops.start_workflow()
    with_options, options = ops.generate_options(started)
    ranked, decisions = ops.rank_options(with_options)
    window = ops.open_decision_window(ranked)
    defaulted = ops.select_default(window)
    confirmed = ops.confirm_selection(defaulted)
    ordered = ops.place_order(confirmed)
    shipped = ops.record_shipment(ordered)
    state = ops.complete_process(shipped)
    return {"gift_options": options, "ranked_decisions": decisions, "gift_process_state": state}

"""The only places this project reaches past Dagster's public API, pinned to one Dagster version.

1. A check result of one partition of a ranged run must name the materialization it judged:
   the UI's per-partition check status counts a result only while it targets the partition's
   latest materialization. Dagster fills that pointer itself only for `AssetCheckResult` in a
   single-partition step (it reads `context.partition_key`); for a result of one partition of a
   range, `dg.AssetCheckEvaluation(partition=...)` is public but the pointer's type is not.
2. Metadata for one partition of a ranged run: `context.add_asset_metadata(partition_key=...)`
   re-reads every dynamic partition from storage on each call (quadratic for a ranged run), and
   yielding `dg.AssetMaterialization(partition=...)` per process instead of the output writes
   one event per process unbatched (measured in BENCHMARKS.md, "Per-partition metadata"). So
   the metadata goes straight to the accumulator `add_asset_metadata` would update, all
   partitions of an asset in one update.
3. A run whose process died (a killed or stopped `ivyi` command executing it in process) must
   end FAILED rather than stay STARTED in the UI for good; `DagsterInstance.report_run_failed`
   is what Dagster's own run monitoring calls for that, but it is not in the documented API.

3. The history of retired partitions: `delete_dynamic_partition` leaves every row about the
   partition. The UI rebuilds a partitioned check's status on every page load from every
   `asset_check_executions` row of the check, with a partition lookup each; and an asset's
   partition status, whose cache is keyed by a hash of the live keys (so every added or
   retired key invalidates it), from every partition ever materialized in `event_logs`
   (`get_materialized_partitions`), until the runs that wrote them are purged. Retention
   deletes both for the partitions it retires (`forget_check_results`,
   `forget_partition_history`), as `wipe_assets` does for a whole asset; Dagster's
   `wipe_asset_partitions` is not implemented for SQL storage.

`test_dagster_internals.py` fails as soon as the installed Dagster is not the pinned one, and
checks that both paths still do what the UI needs (a current per-partition check status, and
each partition's own metadata).
"""

from collections.abc import Iterable, Mapping, Sequence

import dagster as dg
import sqlalchemy as sa
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)
from dagster._core.execution.context.metadata_logging import (
    AssetMetadataHandle,
    OutputMetadataAccumulator,
)
from dagster._core.storage.event_log.schema import (
    AssetCheckExecutionsTable,
    AssetEventTagsTable,
    SqlEventLogStorageTable,
)

from ivyi_pipeline.db.reads import chunks

PINNED_DAGSTER = "1.13.27"


def partition_check_evaluation(
    spec: dg.AssetCheckSpec,
    partition: str,
    passed: bool,
    severity: dg.AssetCheckSeverity,
    description: str,
    metadata: Mapping[str, dg.MetadataValue | str | int],
    target: dg.EventLogRecord | None,
) -> dg.AssetCheckEvaluation:
    """The result of one check on one partition, pointing at the materialization it judged."""
    return dg.AssetCheckEvaluation(
        asset_key=spec.asset_key,
        check_name=spec.name,
        passed=passed,
        severity=severity,
        description=description,
        metadata=metadata,
        partition=partition,
        blocking=spec.blocking,
        target_materialization_data=(
            None
            if target is None
            else AssetCheckEvaluationTargetMaterializationData(
                storage_id=target.storage_id, run_id=target.run_id, timestamp=target.timestamp
            )
        ),
    )


def add_partition_metadata(
    context: dg.AssetExecutionContext,
    asset_key: dg.AssetKey,
    values_by_partition: Mapping[str, Mapping[str, object]],
) -> None:
    """Attach each partition's values to its materialization of `asset_key` in this step.

    The caller lists only partitions of the run's own range (`run_scope.process_ids`), the
    check `add_asset_metadata` would repeat for every call. All partitions go into the step's
    accumulator in one update: `with_additional_asset_metadata` copies the accumulator on every
    call, which is quadratic in the partitions of a ranged run.
    """
    if asset_key not in context.assets_def.keys:
        raise dg.DagsterInvariantViolationError(
            f"{asset_key.to_user_string()} is not materialized by this step"
        )
    step = context.get_step_execution_context()
    accumulator = step._metadata_accumulator
    merged = dict(accumulator.per_output_metadata)
    for partition, values in values_by_partition.items():
        handle = AssetMetadataHandle(asset_key=asset_key, partition_key=partition)
        merged[handle] = {**merged.get(handle, {}), **values}
    step._metadata_accumulator = OutputMetadataAccumulator(per_output_metadata=merged)


FORGET_CHUNK = 500


def forget_check_results(
    instance: dg.DagsterInstance, check_keys: Iterable[dg.AssetCheckKey], partitions: Sequence[str]
) -> int:
    """Delete every stored result (and planned row) of the checks on these partitions."""
    storage = instance.event_log_storage
    table = AssetCheckExecutionsTable
    deleted = 0
    with storage.index_connection() as conn:
        for key in check_keys:
            for chunk in chunks(partitions, FORGET_CHUNK):
                deleted += conn.execute(
                    table.delete().where(
                        table.c.asset_key == key.asset_key.to_string(),
                        table.c.check_name == key.name,
                        table.c.partition.in_(chunk),
                    )
                ).rowcount
    return deleted


def forget_check_results_of_runs(instance: dg.DagsterInstance, run_ids: Sequence[str]) -> int:
    """Delete every stored check result (and planned row) these runs wrote: `delete_run` leaves
    them, and the UI reads every row of a check on each page load, so the per-run summaries of
    purged runs would grow with every run ever executed."""
    table = AssetCheckExecutionsTable
    deleted = 0
    with instance.event_log_storage.index_connection() as conn:
        for chunk in chunks(run_ids, FORGET_CHUNK):
            deleted += conn.execute(table.delete().where(table.c.run_id.in_(chunk))).rowcount
    return deleted


ASSET_EVENT_TYPES = ("ASSET_MATERIALIZATION", "ASSET_OBSERVATION", "ASSET_FAILED_TO_MATERIALIZE")


def forget_partition_history(
    instance: dg.DagsterInstance, asset_keys: Iterable[dg.AssetKey], partitions: Sequence[str]
) -> int:
    """Delete the asset events (and their tags) of these partitions from the event log index.

    A run's own log still lists them until the run is purged (SQLite keeps a copy in each
    run's file); what the asset pages read stops growing with the partitions ever seen.
    """
    events, tags = SqlEventLogStorageTable, AssetEventTagsTable
    deleted = 0
    with instance.event_log_storage.index_connection() as conn:
        for key in asset_keys:
            for chunk in chunks(partitions, FORGET_CHUNK):
                ids = (
                    sa.select(events.c.id)
                    .where(
                        events.c.asset_key == key.to_string(),
                        events.c.partition.in_(chunk),
                        events.c.dagster_event_type.in_(ASSET_EVENT_TYPES),
                    )
                    .scalar_subquery()
                )
                conn.execute(tags.delete().where(tags.c.event_id.in_(ids)))
                deleted += conn.execute(
                    events.delete().where(
                        events.c.asset_key == key.to_string(),
                        events.c.partition.in_(chunk),
                        events.c.dagster_event_type.in_(ASSET_EVENT_TYPES),
                    )
                ).rowcount
    return deleted


def mark_run_failed(instance: dg.DagsterInstance, run: dg.DagsterRun, message: str) -> None:
    """End a run whose process died FAILED, with the reason, as Dagster's run monitoring does."""
    instance.report_run_failed(run, message)

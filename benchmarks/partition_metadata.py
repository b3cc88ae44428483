"""Per-partition metadata in a ranged run: the cost per process of each way Dagster offers.

`python -m benchmarks.partition_metadata [--processes N] [--live L,L2] [--sqlite]` runs, on a
throwaway Dagster instance (PostgreSQL by default, with the production event settings), one
ranged run of N partitions of a toy dynamic-partitioned asset for each way of attaching
metadata to each partition, with L live partitions, and prints ms per partition and the ratio
to the first way, a run without per-partition metadata (Dagster's own cost per partition):

- accumulator: `dagster_internals.add_partition_metadata` (what the pipeline does), then one
  `Output` for the range, whose materializations Dagster writes in batches;
- add_asset_metadata: the public `context.add_asset_metadata(partition_key=...)`, then the
  `Output`: every call re-reads the live partitions;
- materializations: the public way without that re-read, one `dg.AssetMaterialization(
  partition=...)` per partition and no `Output`: Dagster writes each one on its own.
"""

import argparse
import os
import time
import uuid
from collections.abc import Callable

import dagster as dg
import sqlalchemy as sa

from ivyi_pipeline.orchestration.dagster_internals import add_partition_metadata

PARTITIONS = dg.DynamicPartitionsDefinition(name="toy_processes")
KEY = dg.AssetKey("toy_state")
PG_ADMIN = os.environ.get(
    "IVYI_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
EVENT_SETTINGS = {
    "DAGSTER_EVENT_BATCH_SIZE": "1000",
    "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "1",
}


def _values(key: str) -> dict:
    return {"process_id": key, "status": "DECISION_WINDOW_OPEN", "option_count": 12}


def _without_metadata(context: dg.AssetExecutionContext):
    yield dg.Output(None, "toy_state")


def _with_accumulator(context: dg.AssetExecutionContext):
    add_partition_metadata(context, KEY, {key: _values(key) for key in context.partition_keys})
    yield dg.Output(None, "toy_state")


def _with_add_asset_metadata(context: dg.AssetExecutionContext):
    for key in context.partition_keys:
        context.add_asset_metadata(_values(key), asset_key=KEY, partition_key=key)
    yield dg.Output(None, "toy_state")


def _with_materializations(context: dg.AssetExecutionContext):
    for key in context.partition_keys:
        yield dg.AssetMaterialization(asset_key=KEY, partition=key, metadata=_values(key))


WAYS: dict[str, Callable] = {
    "no metadata": _without_metadata,
    "accumulator": _with_accumulator,
    "add_asset_metadata": _with_add_asset_metadata,
    "materializations": _with_materializations,
}


def _job(way: str) -> dg.JobDefinition:
    outs = {
        "toy_state": dg.AssetOut(dagster_type=dg.Nothing, is_required=way != "materializations")
    }
    name = "toy_" + way.replace(" ", "_")
    asset = dg.multi_asset(outs=outs, partitions_def=PARTITIONS, name=name)(WAYS[way])
    return dg.Definitions(assets=[asset]).resolve_implicit_global_asset_job_def()


def measure(instance: dg.DagsterInstance, way: str, processes: int, live: int) -> float:
    """ms per partition of one ranged run over the last `processes` of `live` partitions."""
    existing = instance.get_dynamic_partitions(PARTITIONS.name)
    missing = [f"p{i:07d}" for i in range(len(existing), live)]
    instance.add_dynamic_partitions(PARTITIONS.name, missing)
    keys = sorted(instance.get_dynamic_partitions(PARTITIONS.name))[-processes:]
    job = _job(way)
    tags = {
        "dagster/asset_partition_range_start": keys[0],
        "dagster/asset_partition_range_end": keys[-1],
    }
    started = time.perf_counter()
    result = job.execute_in_process(instance=instance, tags=tags)
    elapsed = time.perf_counter() - started
    assert result.success
    found = {
        e.step_materialization_data.materialization.partition
        for e in result.get_asset_materialization_events()
    }
    assert found == set(keys), "every partition is materialized once with its metadata"
    return 1000 * elapsed / processes


def _instance_overrides(sqlite: bool) -> tuple[dict, Callable[[], None]]:
    if sqlite:
        return {}, lambda: None
    name = f"ivyi_bench_meta_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return {"storage": {"postgres": {"postgres_url": url}}}, drop


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.partition_metadata")
    parser.add_argument("--processes", type=int, default=200)
    parser.add_argument("--live", default="1000,10000", help="live partitions, comma-separated")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    args = parser.parse_args()
    os.environ.update(EVENT_SETTINGS)
    overrides, drop = _instance_overrides(args.sqlite)
    try:
        with dg.instance_for_test(overrides=overrides) as instance:
            print(f"{'way':<20} {'live':>7} {'ms/partition':>13} {'ratio':>7}")
            for live in (int(n) for n in args.live.split(",")):
                base = None
                for way in WAYS:
                    ms = measure(instance, way, args.processes, live)
                    base = base or ms
                    print(f"{way:<20} {live:>7} {ms:>13.2f} {ms / base:>6.1f}x", flush=True)
    finally:
        drop()


if __name__ == "__main__":
    main()

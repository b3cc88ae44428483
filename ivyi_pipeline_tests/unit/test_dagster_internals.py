"""The private Dagster paths of orchestration/dagster_internals.py still work as pinned.

These fail when Dagster is upgraded: re-check each path against the new version's source
(and whether a public way now exists) before moving the pin.
"""

import warnings

import dagster as dg

from ivyi_pipeline.orchestration import dagster_internals

TOY_PARTITIONS = dg.DynamicPartitionsDefinition(name="toy_processes")
TOY_KEY = dg.AssetKey("toy_state")


def test_the_installed_dagster_is_the_pinned_one():
    assert dg.__version__ == dagster_internals.PINNED_DAGSTER


with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.PreviewWarning)  # partitioned checks are a preview
    TOY_CHECK = dg.AssetCheckSpec("toy_check", asset=TOY_KEY, partitions_def=TOY_PARTITIONS)


@dg.multi_asset(
    outs={"toy_state": dg.AssetOut(dagster_type=dg.Nothing)},
    partitions_def=TOY_PARTITIONS,
    check_specs=[TOY_CHECK],
)
def toy_state(context: dg.AssetExecutionContext):
    keys = context.partition_keys
    dagster_internals.add_partition_metadata(context, TOY_KEY, {k: {"own_key": k} for k in keys})
    # A second call adds to what the first one attached.
    dagster_internals.add_partition_metadata(context, TOY_KEY, {keys[0]: {"second": "yes"}})
    yield dg.Output(None, "toy_state")
    for key in context.partition_keys:
        latest = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=TOY_KEY, asset_partitions=[key]), limit=1
        ).records[0]
        yield dagster_internals.partition_check_evaluation(
            context.assets_def.get_spec_for_check_key(dg.AssetCheckKey(TOY_KEY, "toy_check")),
            partition=key,
            passed=key != "b",
            severity=dg.AssetCheckSeverity.WARN,
            description=f"judged {key}",
            metadata={"process_id": key},
            target=latest,
        )
    yield dg.Output(None, "toy_state_toy_check")


def test_a_ranged_run_gives_each_partition_its_own_metadata_and_current_check_result():
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(TOY_PARTITIONS.name, ["a", "b", "c"])
        job = dg.Definitions(assets=[toy_state]).resolve_implicit_global_asset_job_def()

        result = job.execute_in_process(
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": "a",
                "dagster/asset_partition_range_end": "c",
            },
        )

        assert result.success
        metadata = {
            e.step_materialization_data.materialization.partition: (
                e.step_materialization_data.materialization.metadata["own_key"].value
            )
            for e in result.get_asset_materialization_events()
        }
        assert metadata == {"a": "a", "b": "b", "c": "c"}
        seconds = {
            e.step_materialization_data.materialization.partition
            for e in result.get_asset_materialization_events()
            if "second" in e.step_materialization_data.materialization.metadata
        }
        assert seconds == {"a"}
        evaluations = {e.partition: e for e in result.get_asset_check_evaluations()}
        assert {k: e.passed for k, e in evaluations.items()} == {"a": True, "b": False, "c": True}
        # What the UI's per-partition status needs: the result targets the latest materialization.
        check_key = dg.AssetCheckKey(TOY_KEY, "toy_check")
        infos = instance.event_log_storage.get_asset_check_partition_info([check_key])
        assert {info.partition_key: info.is_current for info in infos} == {
            "a": True,
            "b": True,
            "c": True,
        }


def test_forgetting_check_results_deletes_the_rows_of_the_given_partitions_only():
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(TOY_PARTITIONS.name, ["a", "b", "c"])
        job = dg.Definitions(assets=[toy_state]).resolve_implicit_global_asset_job_def()
        job.execute_in_process(
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": "a",
                "dagster/asset_partition_range_end": "c",
            },
        )
        check_key = dg.AssetCheckKey(TOY_KEY, "toy_check")

        deleted = dagster_internals.forget_check_results(instance, [check_key], ["a", "b"])

        assert deleted == 2
        infos = instance.event_log_storage.get_asset_check_partition_info([check_key])
        assert [info.partition_key for info in infos] == ["c"]


def test_forgetting_partition_history_leaves_the_other_partitions_materialized():
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(TOY_PARTITIONS.name, ["a", "b", "c"])
        job = dg.Definitions(assets=[toy_state]).resolve_implicit_global_asset_job_def()
        tags = {
            "dagster/asset_partition_range_start": "a",
            "dagster/asset_partition_range_end": "c",
        }
        job.execute_in_process(instance=instance, tags=tags)
        job.execute_in_process(instance=instance, tags=tags)

        deleted = dagster_internals.forget_partition_history(instance, [TOY_KEY], ["a", "b"])

        assert deleted == 4  # two materializations each
        assert instance.get_materialized_partitions(TOY_KEY) == {"c"}
        latest = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=TOY_KEY, asset_partitions=["c"]), limit=5
        ).records
        assert len(latest) == 2

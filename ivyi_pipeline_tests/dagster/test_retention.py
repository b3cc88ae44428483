"""Retention: completed processes leave Dagster's partitions, old runs leave its event log."""

import datetime as dt

import dagster as dg
import sqlalchemy as sa

from ivyi_pipeline.db import reads
from ivyi_pipeline.db.schema import gift_processes, process_transitions
from ivyi_pipeline.definitions import defs
from ivyi_pipeline.orchestration.checks import OPTIONS_NOT_EMPTY
from ivyi_pipeline.orchestration.partitions import ensure_process_partitions, partition_keys_for
from ivyi_pipeline.orchestration.resources import IvyiDatabase
from ivyi_pipeline_tests.factories import make_process


def _age(engine, pid: str, days: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            gift_processes.update()
            .where(gift_processes.c.id == pid)
            .values(
                updated_at=dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=days)
            )
        )


def test_only_long_completed_processes_lose_their_partition_and_keep_their_history(
    engine, database_url, monkeypatch
):
    monkeypatch.setattr(reads, "IN_CHUNK", 1)  # one live key per lookup: every chunk is read
    old_done = make_process(engine, status="COMPLETED")
    new_done = make_process(engine, status="COMPLETED")
    old_open = make_process(engine, status="DECISION_WINDOW_OPEN")
    retired_before = make_process(engine, status="COMPLETED")  # its partition is already gone
    _age(engine, retired_before, 400)
    _age(engine, old_done, 40)
    _age(engine, new_done, 1)
    _age(engine, old_open, 40)
    with dg.instance_for_test() as instance:
        keys = ensure_process_partitions(instance, [old_done, new_done, old_open], engine)
        result = defs.resolve_job_def("dagster_retention_job").execute_in_process(
            instance=instance, resources={"ivyi_db": IvyiDatabase(url=database_url)}
        )
        remaining = set(instance.get_dynamic_partitions("gift_processes"))

    assert result.success
    assert result.output_for_node("retire_completed_partitions") == 1
    assert remaining == {keys[new_done], keys[old_open]}
    with engine.connect() as conn:
        history = conn.execute(
            sa.select(sa.func.count()).where(process_transitions.c.process_id == old_done)
        ).scalar()
    assert history == 8  # CREATED .. COMPLETED along the shortest path, all kept


def test_retired_partitions_lose_their_check_results_and_asset_events_and_live_ones_keep_them(
    engine, database_url
):
    done = make_process(engine, status="COMPLETED")
    live = make_process(engine, status="DECISION_WINDOW_OPEN")
    _age(engine, done, 40)
    with dg.instance_for_test() as instance:
        keys = ensure_process_partitions(instance, [done, live], engine)
        for pid in (done, live):
            instance.report_runless_asset_event(
                dg.AssetMaterialization("gift_process_state", partition=keys[pid])
            )
            instance.report_runless_asset_event(
                dg.AssetCheckEvaluation(
                    asset_key=OPTIONS_NOT_EMPTY.asset_key,
                    check_name=OPTIONS_NOT_EMPTY.name,
                    passed=False,
                    partition=keys[pid],
                )
            )
        result = defs.resolve_job_def("dagster_retention_job").execute_in_process(
            instance=instance, resources={"ivyi_db": IvyiDatabase(url=database_url)}
        )
        infos = instance.event_log_storage.get_asset_check_partition_info([OPTIONS_NOT_EMPTY.key])
        materialized = instance.get_materialized_partitions(dg.AssetKey("gift_process_state"))

    assert result.success
    assert [info.partition_key for info in infos] == [keys[live]]
    assert materialized == {keys[live]}


def test_finished_runs_older_than_the_retention_are_purged_and_recent_ones_kept(
    engine, database_url
):
    with dg.instance_for_test() as instance:
        job = defs.resolve_job_def("dagster_retention_job")
        resources = {"ivyi_db": IvyiDatabase(url=database_url)}
        first = job.execute_in_process(instance=instance, resources=resources)
        keep_all = job.execute_in_process(instance=instance, resources=resources)
        purge_all = job.execute_in_process(
            instance=instance,
            resources=resources,
            run_config={"ops": {"purge_old_runs": {"config": {"run_retention_days": -1}}}},
        )
        left = {run.run_id for run in instance.get_runs()}

    assert keep_all.output_for_node("purge_old_runs") == 0
    assert purge_all.output_for_node("purge_old_runs") == 2
    assert first.run_id not in left
    assert keep_all.run_id not in left
    assert purge_all.run_id in left


@dg.op
def _judge_options(context: dg.OpExecutionContext):
    """A run's one summary result of a rule, as a ranged run of the pipeline writes."""
    yield dg.AssetCheckEvaluation(
        asset_key=OPTIONS_NOT_EMPTY.asset_key, check_name=OPTIONS_NOT_EMPTY.name, passed=True
    )
    yield dg.Output(None)


def test_purged_runs_take_their_check_results_with_them_which_delete_run_leaves(
    engine, database_url
):
    judging = dg.GraphDefinition("judging", node_defs=[_judge_options]).to_job()
    with dg.instance_for_test() as instance:
        purged, deleted = (judging.execute_in_process(instance=instance) for _ in range(2))
        job = defs.resolve_job_def("dagster_retention_job")
        resources = {"ivyi_db": IvyiDatabase(url=database_url)}

        def runs_with_results() -> set[str]:
            history = instance.event_log_storage.get_asset_check_execution_history(
                OPTIONS_NOT_EMPTY.key, limit=100
            )
            return {record.run_id for record in history}

        before = runs_with_results()
        instance.delete_run(deleted.run_id)  # Dagster's own delete, the control: it leaves them
        after_dagsters_delete = runs_with_results()
        purge = job.execute_in_process(
            instance=instance,
            resources=resources,
            run_config={"ops": {"purge_old_runs": {"config": {"run_retention_days": -1}}}},
        )
        after_purge = runs_with_results()

    assert purge.success
    assert before == {purged.run_id, deleted.run_id}
    assert after_dagsters_delete == before, "delete_run leaves the check results"
    assert after_purge == {deleted.run_id}, "the purge forgot the results of the runs it purged"


def test_an_instance_keyed_by_process_ids_moves_to_the_occurrence_keys(engine, database_url):
    """Keys of the former scheme (the process id) and of deleted processes are retired; a
    process still under way gets its current key first; completed ones just leave."""
    open_process = make_process(engine, status="DECISION_WINDOW_OPEN")
    done = make_process(engine, status="COMPLETED")
    _age(engine, done, 40)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(
            "gift_processes", [open_process, done, "0b7e0a4e-0000-5000-8000-00000000dead"]
        )
        result = defs.resolve_job_def("dagster_retention_job").execute_in_process(
            instance=instance, resources={"ivyi_db": IvyiDatabase(url=database_url)}
        )
        remaining = instance.get_dynamic_partitions("gift_processes")

    assert result.success
    assert result.output_for_node("retire_completed_partitions") == 3
    assert remaining == [partition_keys_for(engine, [open_process])[open_process]]

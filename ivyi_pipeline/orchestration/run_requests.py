"""Turn a set of due processes into few runs: one per process while few, ranges beyond."""

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime

import dagster as dg

from ivyi_pipeline.orchestration import tags
from ivyi_pipeline.orchestration.partitions import partition_keys_for, process_ids_of

LIVE_KEYS_PER_RANGE = 40
"""A range spans at least 1/40 of the live keys: a ranged run reads every live key 7 times
(Dagster 6, `process_ids` 1; benchmarks.range_reads), so the reads a process pays stay the
same as the live keys grow (BENCHMARKS.md, issue 20)."""
MAX_RANGE = 5_000


def range_size(batch_size: int, live_keys: int) -> int:
    """Partitions a ranged run may span: `batch_size`, widened as the live keys grow."""
    return min(max(batch_size, -(-live_keys // LIVE_KEYS_PER_RANGE)), max(batch_size, MAX_RANGE))


def plan_runs(
    process_ids: Sequence[str],
    event: str,
    as_of: datetime,
    partition_order: Sequence[str] | None,
    batch_size: int,
    single_runs_up_to: int,
    due: Mapping[str, tuple[str, str]] | None = None,
    keys: Mapping[str, str] | None = None,
) -> list[dg.RunRequest]:
    """Run requests covering every process, with deterministic run keys.

    Up to `single_runs_up_to` processes (or any number when `partition_order` is None) get a
    run each, tagged with the process and occasion ids; more are grouped into runs of at
    most `range_size(batch_size, live keys)` partitions, each a contiguous range of
    `partition_order`. A run also
    advances the other processes inside its range, which is harmless: every step acts only
    on processes in its own source state. `due` maps a process id to its (occasion id,
    status); the status is part of the run key, so a process that moved on is run again.
    `keys` maps a process id to its partition key (`ensure_process_partitions` returns it).
    """
    ids, due = sorted(set(process_ids)), due or {}
    keys = {**partition_keys_for(None, ids), **(keys or {})}
    common = {tags.EVENT: str(event), tags.AS_OF: as_of.isoformat()}
    if len(ids) <= single_runs_up_to or partition_order is None:
        return [_single_run(pid, keys[pid], str(event), common, due.get(pid)) for pid in ids]
    position = {key: i for i, key in enumerate(partition_order)}
    ordered = sorted((keys[pid] for pid in ids if keys[pid] in position), key=position.__getitem__)
    pid_of = dict(zip(ordered, process_ids_of(ordered), strict=True))
    requests = []
    for batch in _ranges(ordered, position, range_size(batch_size, len(partition_order))):
        states = "|".join(f"{key}:{due.get(pid_of[key], ('', ''))[1]}" for key in batch)
        digest = hashlib.sha1(states.encode()).hexdigest()[:12]
        requests.append(
            dg.RunRequest(
                run_key=f"{event}:{batch[0]}..{batch[-1]}:{digest}",
                tags={
                    **common,
                    tags.RANGE_START: batch[0],
                    tags.RANGE_END: batch[-1],
                    tags.BATCH_SIZE: str(len(batch)),
                },
            )
        )
    return requests


def _ranges(ordered: Sequence[str], position: Mapping[str, int], size: int) -> list[list[str]]:
    """Consecutive ids cut so that each range spans at most `size` partitions, not just ids."""
    ranges: list[list[str]] = []
    for pid in ordered:
        if not ranges or position[pid] - position[ranges[-1][0]] >= size:
            ranges.append([])
        ranges[-1].append(pid)
    return ranges


def _single_run(
    pid: str, key: str, event: str, common: dict[str, str], due: tuple[str, str] | None
) -> dg.RunRequest:
    run_tags = {**common, tags.PROCESS_ID: pid}
    if due:
        run_tags[tags.OCCASION_ID] = due[0]
    status = due[1] if due else ""
    return dg.RunRequest(run_key=f"{event}:{key}:{status}", partition_key=key, tags=run_tags)

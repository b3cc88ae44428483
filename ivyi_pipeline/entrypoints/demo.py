"""`ivyi demo`: a small synthetic data set driven through simulated days to completion."""

import dataclasses
import sys
from collections.abc import Callable
from datetime import datetime, time, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
import sqlalchemy as sa

from ivyi_pipeline.clock import from_db
from ivyi_pipeline.data.db_write import write_dataset
from ivyi_pipeline.data.origin import (
    Origin,
    dataset_origin,
    domain_tables,
    holds_data,
    record_origin,
)
from ivyi_pipeline.data.synthetic import generate_dataset
from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.locks import load_lock
from ivyi_pipeline.db.pipeline_state import forget_state
from ivyi_pipeline.db.reads import chunks
from ivyi_pipeline.db.schema import gift_processes
from ivyi_pipeline.definitions import defs
from ivyi_pipeline.domain.occurrences import occurrences_between
from ivyi_pipeline.domain.partition_keys import partition_key
from ivyi_pipeline.domain.states import GiftProcessStatus as S
from ivyi_pipeline.entrypoints.local_runs import QUIET_CONSOLE, tick
from ivyi_pipeline.entrypoints.progress import Progress
from ivyi_pipeline.errors import DatasetNotOurs, IvyiError
from ivyi_pipeline.orchestration import tags
from ivyi_pipeline.settings import Settings, redact_url
from ivyi_pipeline.workflows.gifting_process import find
from ivyi_pipeline.workflows.gifting_process.confirm import record_confirmation
from ivyi_pipeline.workflows.gifting_process.funnel_report import transition_instants
from ivyi_pipeline.workflows.gifting_process.status import funnel

HORIZON_DAYS = 28
GENERATED_OCCASIONS = 250


def seed_demo_data(engine: sa.Engine, start: datetime, seed: int) -> int:
    """Write a data set whose occasions all fall in the next four weeks; return their count."""
    data = generate_dataset(as_of=start.date(), occasions=GENERATED_OCCASIONS, seed=seed)
    first, last = start.date() + timedelta(days=1), start.date() + timedelta(days=HORIZON_DAYS)
    soon = data.occasions.apply(
        lambda o: bool(
            occurrences_between(
                pd.Timestamp(o["date"]).date(), bool(o["recurs_yearly"]), first, last
            )
        ),
        axis=1,
    )
    data = dataclasses.replace(data, occasions=data.occasions[soon].reset_index(drop=True))
    with engine.begin() as conn:
        if holds_data(conn):
            raise _not_empty(engine, dataset_origin(conn))
        write_dataset(conn, data)
        record_origin(conn, Origin.DEMO)
    return len(data.occasions)


def _confirm_every_other(engine: sa.Engine, now: datetime) -> int:
    """The giver confirms their second-ranked gift in every other open window."""
    with engine.connect() as conn:
        open_ids = (
            conn.execute(
                sa.select(gift_processes.c.id).where(
                    gift_processes.c.status == S.DECISION_WINDOW_OPEN.value,
                    gift_processes.c.window_closes_at > now.replace(tzinfo=None),
                )
            )
            .scalars()
            .all()
        )
        pending = find.pending_confirmations(conn, open_ids)
        choices = {pid: find.ranked_gift_ids(conn, pid) for pid in open_ids if pid not in pending}
    confirmed = 0
    for pid, ranked in sorted(choices.items()):
        if int(pid[:8], 16) % 2 == 0 and ranked:
            record_confirmation(engine, pid, ranked[min(1, len(ranked) - 1)], now)
            confirmed += 1
    return confirmed


def _not_empty(engine: sa.Engine, origin: str | None) -> IvyiError:
    """The refusal for a database that holds data: suggest --reset only for the demo's own."""
    url = engine.url.render_as_string(hide_password=True)
    if origin == Origin.DEMO:
        return IvyiError(
            f"the database at {url} already holds the demo's data; "
            "run `ivyi demo --reset` to start the demo over"
        )
    return DatasetNotOurs(
        f"the database at {url} holds data that `ivyi demo` did not write "
        f"(origin: {origin or 'not recorded'}), so the demo leaves it alone; run the demo on "
        "another database: set IVYI_HOME to an empty folder and unset IVYI_DATABASE_URL"
    )


def reset(engine: sa.Engine, instance: dg.DagsterInstance) -> int:
    """Delete the demo's data set and its runs and partitions; return the processes it had.

    Only a data set recorded as the demo's (`dataset_origin` = demo) is deleted, checked in
    the deleting transaction; any other non-empty database raises DatasetNotOurs, with
    nothing deleted. In the Dagster instance only the runs and partitions that name one of
    the demo's processes go.
    """
    with engine.begin() as conn:
        load_lock(conn)
        origin = dataset_origin(conn)
        if origin != Origin.DEMO and holds_data(conn):
            raise _not_empty(engine, origin)
        rows = conn.execute(
            sa.select(
                gift_processes.c.id, gift_processes.c.occasion_id, gift_processes.c.occurrence_date
            )
        ).all()
        for table in reversed(domain_tables()):
            conn.execute(table.delete())
        forget_state(conn)
    # A process is named by its id (run tags, keys of the former scheme) or by its key.
    names = [row.id for row in rows]
    names += [partition_key(row.occurrence_date, row.occasion_id) for row in rows]
    forget_processes(instance, names)
    for run_id in instance.get_run_ids(dg.RunsFilter(tags={tags.DEMO_FUNNEL: "true"})):
        instance.delete_run(run_id)
    return len(rows)


def forget_processes(instance: dg.DagsterInstance, names: list[str]) -> None:
    """Delete the runs that name one of these processes (id or partition key) and their
    dynamic partitions."""
    known = set(instance.get_dynamic_partitions("gift_processes"))
    for chunk in chunks(names):
        for tag in (tags.PROCESS_ID, tags.RANGE_START, tags.RANGE_END, "dagster/partition"):
            for run_id in instance.get_run_ids(dg.RunsFilter(tags={tag: chunk})):
                instance.delete_run(run_id)
        for key in chunk:
            if key in known:
                instance.delete_dynamic_partition("gift_processes", key)


def run_demo(
    settings: Settings,
    instance: dg.DagsterInstance,
    as_of: datetime,
    days: int,
    seed: int,
    echo: Callable[[str], None],
    fresh: bool = False,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Seed, tick once a simulated day (09:00 UTC) until every process is COMPLETED, then
    materialize the funnel as of every instant a process moved, and print how to open the UI.

    `progress` (the command's, on a terminal) follows the days and their runs."""
    progress = progress or Progress("demo", enabled=False)
    engine = get_engine(settings.database_url)
    if fresh:
        reset(engine, instance)
    start = datetime.combine(as_of.date(), time(9), tzinfo=as_of.tzinfo)
    expected = seed_demo_data(engine, start, seed)
    echo(f"seeded {expected} occasions in the next {HORIZON_DAYS} days")
    counts: dict[str, int] = {}
    for day in range(days):
        now = start + timedelta(days=day)
        progress.set_stage(f"day {day + 1} of at most {days}")
        confirmed = _confirm_every_other(engine, now)
        # The funnel's history is recorded below, one materialization a moving instant.
        summary = tick(instance, defs, now, funnel=False, progress=progress)
        counts = funnel(engine)
        line = ", ".join(f"{status}={counts[status]}" for status in S if status in counts)
        echo(
            f"day {day:2d} {now:%Y-%m-%d}: {len(summary.succeeded)} run(s), "
            f"{confirmed} confirmed by givers | {line or 'no processes yet'}"
        )
        if summary.failed:
            raise IvyiError(f"{len(summary.failed)} run(s) failed on {now:%Y-%m-%d}")
        if counts.get(S.COMPLETED, 0) == expected:
            break
    progress.set_stage("materializing the funnel as of every simulated instant")
    materialize_funnel_history(instance, engine, echo)
    echo(
        "open the Dagster UI (webserver and daemon) on this data:\n"
        f"  IVYI_HOME={settings.home} IVYI_DATABASE_URL={redact_url(settings.database_url)} "
        f"DAGSTER_HOME={settings.dagster_home} {Path(sys.executable).with_name('ivyi')} ui"
    )
    return counts


def materialize_funnel_history(
    instance: dg.DagsterInstance, engine: sa.Engine, echo: Callable[[str], None]
) -> int:
    """Materialize gifting_funnel as of every instant a process moved; return how many."""
    job = defs.resolve_job_def("gifting_funnel_job")
    instants = transition_instants(engine)
    for at in instants:
        job.execute_in_process(
            instance=instance,
            tags={tags.AS_OF: from_db(at).isoformat(), tags.DEMO_FUNNEL: "true"},
            run_config=QUIET_CONSOLE,
        )
    echo(f"materialized the gifting funnel as of {len(instants)} simulated instants")
    return len(instants)

"""`ivyi demo`: a small synthetic data set driven through simulated days to completion."""

import dataclasses
import sys
from collections.abc import Callable
from datetime import datetime, time, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
import sqlalchemy as sa

from ivyi_pipeline.data.db_write import write_dataset
from ivyi_pipeline.data.synthetic import generate_dataset
from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.schema import gift_processes, metadata, occasions
from ivyi_pipeline.definitions import defs
from ivyi_pipeline.domain.occurrences import occurrences_between
from ivyi_pipeline.errors import IvyiError
from ivyi_pipeline.local_runs import tick
from ivyi_pipeline.settings import Settings, redact_url
from ivyi_pipeline.ui import materialize_funnel_history
from ivyi_pipeline.workflows.gifting_process import find
from ivyi_pipeline.workflows.gifting_process.confirm import record_confirmation
from ivyi_pipeline.workflows.gifting_process.states import GiftProcessStatus as S
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
        write_dataset(conn, data)
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


def _is_empty(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(occasions)).scalar() == 0


def reset(engine: sa.Engine, instance: dg.DagsterInstance) -> None:
    """Empty the domain tables and the Dagster instance's runs and partitions."""
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    instance.wipe()
    for key in instance.get_dynamic_partitions("gift_processes"):
        instance.delete_dynamic_partition("gift_processes", key)


def run_demo(
    settings: Settings,
    instance: dg.DagsterInstance,
    as_of: datetime,
    days: int,
    seed: int,
    echo: Callable[[str], None],
    fresh: bool = False,
) -> dict[str, int]:
    """Seed, tick once a simulated day (09:00 UTC) until every process is COMPLETED, then
    materialize the funnel as of every instant a process moved, and print how to open the UI."""
    engine = get_engine(settings.database_url)
    if fresh:
        reset(engine, instance)
    if not _is_empty(engine):
        raise IvyiError(
            f"the database at {redact_url(settings.database_url)} already holds data; "
            "run `ivyi demo --reset` to start over"
        )
    start = datetime.combine(as_of.date(), time(9), tzinfo=as_of.tzinfo)
    expected = seed_demo_data(engine, start, seed)
    echo(f"seeded {expected} occasions in the next {HORIZON_DAYS} days")
    counts: dict[str, int] = {}
    for day in range(days):
        now = start + timedelta(days=day)
        confirmed = _confirm_every_other(engine, now)
        summary = tick(instance, defs, now)
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
    materialize_funnel_history(instance, engine, echo)
    echo(
        "open the Dagster UI (webserver and daemon) on this data:\n"
        f"  IVYI_HOME={settings.home} IVYI_DATABASE_URL={redact_url(settings.database_url)} "
        f"DAGSTER_HOME={settings.dagster_home} {Path(sys.executable).with_name('ivyi')} ui"
    )
    return counts

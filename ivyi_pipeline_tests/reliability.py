"""Helpers of the reliability tests: run the job or `ivyi`, snapshot and compare tables."""

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.schema import (
    gift_options,
    gift_processes,
    inbox_events,
    orders,
    process_transitions,
    ranked_decisions,
    simulated_provider_orders,
)
from ivyi_pipeline.instance import EMBEDDED_CONFIG
from ivyi_pipeline.orchestration.assets import gifting_process
from ivyi_pipeline.orchestration.jobs import gifting_process_job
from ivyi_pipeline.orchestration.resources import (
    Clock,
    GiftingSettings,
    IvyiDatabase,
    SimulatedFulfilment,
)
from ivyi_pipeline.orchestration.sensors import gifting_sensors
from ivyi_pipeline_tests.factories import AT, make_gift, make_process

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def definitions(database_url: str, fulfilment: SimulatedFulfilment | None = None):
    """The project's definitions on this database, with a chosen simulated provider."""
    return dg.Definitions(
        assets=[gifting_process],
        jobs=[gifting_process_job],
        sensors=gifting_sensors,
        resources={
            "ivyi_db": IvyiDatabase(url=database_url),
            "gifting": GiftingSettings(),
            "fulfilment": fulfilment or SimulatedFulfilment(),
            "clock": Clock(),
        },
    )


def run_job(instance, defs, process_ids, at: dt.datetime = AT):
    """Execute gifting_process_job over one process or a contiguous range of them."""
    # Partitions are ordered by insertion: add them sorted so that the range covers them all.
    instance.add_dynamic_partitions("gift_processes", sorted(process_ids))
    job = defs.resolve_job_def("gifting_process_job")
    tags = {"ivyi/as_of": at.isoformat()}
    if len(process_ids) == 1:
        return job.execute_in_process(
            instance=instance,
            partition_key=process_ids[0],
            tags=tags,
            run_config=QUIET,
            raise_on_error=False,
        )
    keys = sorted(process_ids)
    tags |= {
        "dagster/asset_partition_range_start": keys[0],
        "dagster/asset_partition_range_end": keys[-1],
    }
    return job.execute_in_process(
        instance=instance, tags=tags, run_config=QUIET, raise_on_error=False
    )


def confirmed_processes(engine: sa.Engine, n: int) -> list[str]:
    """n processes in CONFIRMED with a selected gift, ready to be ordered."""
    gift = make_gift(engine, price_cents=2500)
    ids = [make_process(engine, status="CONFIRMED") for _ in range(n)]
    with engine.begin() as conn:
        conn.execute(
            gift_processes.update()
            .where(gift_processes.c.id.in_(ids))
            .values(selected_gift_id=gift)
        )
    return sorted(ids)


def events_of(result, event_type: dg.DagsterEventType) -> list:
    """The run's events of one type."""
    return [e for e in result.all_events if e.event_type == event_type]


COMPARED = {
    "gift_processes": (
        gift_processes,
        [
            "id",
            "status",
            "selected_gift_id",
            "window_opens_at",
            "window_closes_at",
            "blocked_reason",
        ],
    ),
    "gift_options": (gift_options, ["process_id", "gift_id", "category", "price_cents"]),
    "ranked_decisions": (ranked_decisions, ["process_id", "rank", "gift_id", "score"]),
    "process_transitions": (
        process_transitions,
        ["process_id", "from_status", "to_status", "event"],
    ),
    "inbox_events": (inbox_events, ["process_id", "kind", "gift_id", "outcome"]),
    "orders": (
        orders,
        [
            "process_id",
            "gift_id",
            "idempotency_key",
            "provider_order_id",
            "price_cents",
            "placed_at",
            "shipped_at",
            "delivered_at",
        ],
    ),
    "simulated_provider_orders": (
        simulated_provider_orders,
        ["idempotency_key", "provider_order_id", "gift_id"],
    ),
}
"""The tables a run writes, and the columns compared (surrogate ids and audit times left out)."""


TIMES = {"window_opens_at", "window_closes_at", "placed_at", "shipped_at", "delivered_at"}
"""Instants that follow the tick that happened to move a process, left out when `timeless`."""


def snapshot(engine: sa.Engine, timeless: bool = False) -> dict[str, list[tuple]]:
    """Every compared table as a sorted list of rows (duplicates kept, so they show)."""
    found = {}
    with engine.connect() as conn:
        for name, (table, columns) in COMPARED.items():
            kept = [c for c in columns if not (timeless and c in TIMES)]
            rows = conn.execute(sa.select(*(table.c[c] for c in kept))).all()
            found[name] = sorted((tuple(r) for r in rows), key=repr)
    return found


IVYI = str(Path(sys.executable).with_name("ivyi"))


class Deployment:
    """One domain database and one Dagster home, driven through the `ivyi` command."""

    def __init__(self, url: str, home: Path, dagster_yaml: str | None = None):
        self.url = url
        home.mkdir(parents=True)
        (home / "dagster_home").mkdir()
        (home / "dagster_home" / "dagster.yaml").write_text(
            dagster_yaml or EMBEDDED_CONFIG.read_text()
        )
        self.env = {
            **os.environ,
            "IVYI_DATABASE_URL": self.url,
            "IVYI_HOME": str(home / "ivyi"),
            "DAGSTER_HOME": str(home / "dagster_home"),
            "PYTHONWARNINGS": "ignore",
        }

    def start(self, *args: str) -> subprocess.Popen:
        """Start `ivyi ARGS` without waiting."""
        return subprocess.Popen(
            [IVYI, *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def run(self, *args: str) -> subprocess.CompletedProcess:
        """Run `ivyi ARGS` to the end."""
        return subprocess.run([IVYI, *args], env=self.env, capture_output=True, text=True)

    def tables(self) -> dict[str, list[tuple]]:
        """The compared tables, checked for duplicates; see `converged_tables`."""
        engine = get_engine(self.url)
        try:
            return converged_tables(engine)
        finally:
            engine.dispose()


def converged_tables(engine: sa.Engine) -> dict[str, list[tuple]]:
    """The timeless snapshot, checked for duplicates; processes sharing a recipient as (id, status).

    Their options exclude gifts already ordered for that recipient, so they depend on which of
    them a run happened to order first (a batching effect, not a fault's).
    """
    with engine.connect() as conn:
        shared = set(
            conn.execute(
                sa.select(gift_processes.c.id).where(
                    gift_processes.c.recipient_id.in_(
                        sa.select(gift_processes.c.recipient_id)
                        .group_by(gift_processes.c.recipient_id)
                        .having(sa.func.count() > 1)
                    )
                )
            ).scalars()
        )
    tables = snapshot(engine, timeless=True)
    _no_duplicates(tables)
    _orders_follow_decisions(tables)
    return {
        name: [
            row[:2] if name == "gift_processes" and row[0] in shared else row
            for row in rows
            if name == "gift_processes" or row[0] not in shared
        ]
        for name, rows in tables.items()
    }


def _no_duplicates(tables: dict[str, list[tuple]]) -> None:
    for name in ("gift_options", "ranked_decisions", "orders", "process_transitions"):
        rows = tables[name]
        assert len(rows) == len(set(rows)), f"duplicate rows in {name}"
    keys = [row[0] for row in tables["simulated_provider_orders"]]
    assert len(keys) == len(set(keys)), "a process was ordered twice with the provider"


def _orders_follow_decisions(tables: dict[str, list[tuple]]) -> None:
    selected = {row[0]: row[2] for row in tables["gift_processes"]}
    ranked = {(row[0], row[2]) for row in tables["ranked_decisions"]}
    provider = {row[0]: row[2] for row in tables["simulated_provider_orders"]}
    for pid, gift, *_ in tables["orders"]:
        assert selected[pid] == gift == provider[pid]
        assert (pid, gift) in ranked


def difference(found: dict, expected: dict) -> str:
    """Up to five extra and five missing rows per table, one per line."""
    lines = []
    for name in expected:
        extra = sorted(set(found[name]) - set(expected[name]), key=repr)
        missing = sorted(set(expected[name]) - set(found[name]), key=repr)
        lines += [f"{name}: extra {row}" for row in extra[:5]]
        lines += [f"{name}: missing {row}" for row in missing[:5]]
    return "\n".join(lines)


@contextmanager
def signal_only_in_the_wakeup_pipe(monkeypatch, signum: int) -> Iterator[None]:
    """A stop signal as Dagster's own handler leaves it: the CLI's handler never ran (no
    `_STOP`), and only the wakeup pipe the CLI watches (`set_wakeup_fd`) holds its number."""
    from ivyi_pipeline.entrypoints import local_runs

    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    monkeypatch.setattr(local_runs, "_SIGNALS", [read_fd])
    monkeypatch.setattr(local_runs, "_STOP", [])
    os.write(write_fd, bytes([signum]))  # what Python writes when a signal arrives
    try:
        yield
    finally:
        monkeypatch.setattr(local_runs, "_SIGNALS", [])
        os.close(read_fd)
        os.close(write_fd)

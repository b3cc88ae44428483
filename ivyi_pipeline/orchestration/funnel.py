"""The gifting funnel: one summary asset, refreshed after every tick and daemon run.

Every `ivyi` command that runs processes (tick, batch, backfill-missed, redrive) reports the
funnel once as of its instant when it ends (`report_funnel`); under the daemon,
`gifting_funnel_sensor` reports it once per evaluation after runs finished (or the clock moved
on an hour). Each report is one runless materialization: its cost follows the ticks, not the
processes. `gifting_funnel_job` (the daily schedule, *Materialize* in the UI) computes the
same as of its `ivyi/as_of` tag, else the data's clock (the later of the wall clock and the
last tick's instant, so that a simulation ahead of the wall clock is counted as ticked).
The job is in jobs.py, the schedule in schedules.py, the sensor in sensors.py.
"""

from datetime import datetime

import dagster as dg
import pandas as pd
import sqlalchemy as sa

from ivyi_pipeline.clock import parse_instant
from ivyi_pipeline.domain.states import GiftProcessStatus as S
from ivyi_pipeline.orchestration import tags
from ivyi_pipeline.orchestration.metadata_tables import metadata_table
from ivyi_pipeline.orchestration.resources import Clock, IvyiDatabase
from ivyi_pipeline.workflows.gifting_process.data_clock import data_now
from ivyi_pipeline.workflows.gifting_process.funnel_report import FunnelReport, funnel_report

TABLE_ROWS = 50
"""Rows of each funnel table: the open windows closing soonest, the blocked, the failed."""
GIFTING_FUNNEL = dg.AssetKey("gifting_funnel")

STATUS_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("status", "string"),
        dg.TableColumn("processes", "int"),
        dg.TableColumn("median_hours_in_status", "float", description="stays that had ended"),
    ]
)
OPEN_WINDOWS_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("process_id", "string"),
        dg.TableColumn("occasion_id", "string"),
        dg.TableColumn("occurrence_date", "string"),
        dg.TableColumn("window_closes_at", "string"),
        dg.TableColumn("hours_left", "float", description="negative: closed, default not taken"),
    ]
)
REASON_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("process_id", "string"),
        dg.TableColumn("status", "string"),
        dg.TableColumn("reason", "string"),
    ]
)


def funnel_metadata(report: FunnelReport) -> dict[str, dg.MetadataValue]:
    """Numbers the UI plots across materializations, and the tables behind them."""
    by_status = pd.DataFrame(
        {
            "status": [str(s) for s in S],
            "processes": [report.by_status[s] for s in S],
            "median_hours_in_status": [report.median_hours.get(s) for s in S],
        }
    )
    windows = len(report.open_windows)
    numbers = {
        "processes": report.total,
        "open_windows": windows,
        "open_windows_not_listed": max(0, windows - TABLE_ROWS),
        "windows_closing_24h": len(report.closing_soon),
        "blocked_processes": len(report.blocked),
        "failed_processes": len(report.failed),
        **{f"status_{s.lower()}": report.by_status[s] for s in S},
    }
    medians = {f"median_hours_{s.lower()}": hours for s, hours in report.median_hours.items()}
    return {
        "as_of": dg.MetadataValue.text(f"{report.as_of:%Y-%m-%d %H:%M}Z"),
        "summary": dg.MetadataValue.md(report.summary()),
        **{key: dg.MetadataValue.int(int(n)) for key, n in numbers.items()},
        **{key: dg.MetadataValue.float(float(h)) for key, h in medians.items()},
        "by_status": metadata_table(by_status, STATUS_SCHEMA, TABLE_ROWS),
        "open_windows_soonest": metadata_table(
            report.open_windows, OPEN_WINDOWS_SCHEMA, TABLE_ROWS
        ),
        "blocked": metadata_table(report.blocked, REASON_SCHEMA, TABLE_ROWS),
        "failed": metadata_table(report.failed, REASON_SCHEMA, TABLE_ROWS),
    }


@dg.asset(
    group_name="gifting_reports",
    kinds={"pandas", "sql"},
    deps=["gift_process_state"],
    description=(
        "Funnel after every tick: processes by status, median hours in each status, every "
        "open decision window with its closing time (the 50 soonest listed), blocked and "
        "failed processes with their reasons."
    ),
)
def gifting_funnel(
    context: dg.AssetExecutionContext, ivyi_db: IvyiDatabase, clock: Clock
) -> dg.MaterializeResult:
    """The funnel as of the run's `ivyi/as_of` tag, else the clock (the data's, when unset)."""
    tagged = context.run.tags.get(tags.AS_OF)
    engine = ivyi_db.get_engine()
    at = parse_instant(tagged) if tagged else funnel_as_of(engine, clock)
    report = funnel_report(engine, at)
    context.log.info(report.summary())
    context.instance.add_run_tags(context.run_id, {tags.OUTCOME: report.headline()})
    return dg.MaterializeResult(metadata=funnel_metadata(report))


def funnel_as_of(engine: sa.Engine, clock: Clock) -> datetime:
    """The clock's fixed instant, else the data's clock (never behind the last tick)."""
    return clock.now() if clock.as_of else data_now(engine, clock.now())


def funnel_materialization(engine: sa.Engine, at: datetime, source: str) -> dg.AssetMaterialization:
    """The funnel as of `at`, as a runless materialization saying who refreshed it."""
    report = funnel_report(engine, at)
    return dg.AssetMaterialization(
        asset_key=GIFTING_FUNNEL,
        description=f"{report.headline()} (refreshed by {source})",
        metadata={**funnel_metadata(report), "refreshed_by": dg.MetadataValue.text(source)},
    )


def report_funnel(
    instance: dg.DagsterInstance, engine: sa.Engine, at: datetime, source: str
) -> None:
    """Record the funnel as of `at` once (what every `ivyi` command does when it ends)."""
    instance.report_runless_asset_event(funnel_materialization(engine, at, source))

"""The daily gifting funnel: one summary asset (its job in jobs.py, its schedule in
schedules.py)."""

import dagster as dg
import pandas as pd

from ivyi_pipeline.clock import parse_instant
from ivyi_pipeline.domain.states import GiftProcessStatus as S
from ivyi_pipeline.orchestration import tags
from ivyi_pipeline.orchestration.metadata_tables import metadata_table
from ivyi_pipeline.orchestration.resources import Clock, IvyiDatabase
from ivyi_pipeline.workflows.gifting_process.funnel_report import FunnelReport, funnel_report

TABLE_ROWS = 50

STATUS_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("status", "string"),
        dg.TableColumn("processes", "int"),
        dg.TableColumn("median_hours_in_status", "float", description="stays that had ended"),
    ]
)
CLOSING_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("process_id", "string"),
        dg.TableColumn("occasion_id", "string"),
        dg.TableColumn("window_closes_at", "string"),
        dg.TableColumn("hours_left", "float"),
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
    numbers = {
        "processes": report.total,
        "windows_closing_24h": len(report.closing_soon),
        "blocked_processes": len(report.blocked),
        "failed_processes": len(report.failed),
        **{f"status_{s.lower()}": report.by_status[s] for s in S},
    }
    medians = {f"median_hours_{s.lower()}": hours for s, hours in report.median_hours.items()}
    closing = report.closing_soon.assign(
        window_closes_at=pd.to_datetime(report.closing_soon["window_closes_at"])
    )
    return {
        "as_of": dg.MetadataValue.text(f"{report.as_of:%Y-%m-%d %H:%M}Z"),
        "summary": dg.MetadataValue.md(report.summary()),
        **{key: dg.MetadataValue.int(int(n)) for key, n in numbers.items()},
        **{key: dg.MetadataValue.float(float(h)) for key, h in medians.items()},
        "by_status": metadata_table(by_status, STATUS_SCHEMA, TABLE_ROWS),
        "closing_in_24h": metadata_table(closing, CLOSING_SCHEMA, TABLE_ROWS),
        "blocked": metadata_table(report.blocked, REASON_SCHEMA, TABLE_ROWS),
        "failed": metadata_table(report.failed, REASON_SCHEMA, TABLE_ROWS),
    }


@dg.asset(
    group_name="gifting_reports",
    kinds={"pandas", "sql"},
    deps=["gift_process_state"],
    description=(
        "Daily funnel: processes by status, median hours in each status, decision windows "
        "closing in the next 24 hours, blocked and failed processes with their reasons."
    ),
)
def gifting_funnel(
    context: dg.AssetExecutionContext, ivyi_db: IvyiDatabase, clock: Clock
) -> dg.MaterializeResult:
    """The funnel as of the run's `ivyi/as_of` tag, else the clock."""
    tagged = context.run.tags.get(tags.AS_OF)
    at = parse_instant(tagged) if tagged else clock.now()
    report = funnel_report(ivyi_db.get_engine(), at)
    context.log.info(report.summary())
    context.instance.add_run_tags(context.run_id, {tags.OUTCOME: report.headline()})
    return dg.MaterializeResult(metadata=funnel_metadata(report))

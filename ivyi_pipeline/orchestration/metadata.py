"""Materialization metadata an analyst reads in the UI, one entry per process partition."""

from collections.abc import Sequence

import dagster as dg
import pandas as pd
import sqlalchemy as sa

from ivyi_pipeline.domain.ranking import WEIGHTS
from ivyi_pipeline.orchestration.dagster_internals import add_partition_metadata
from ivyi_pipeline.orchestration.metadata_tables import metadata_table
from ivyi_pipeline.orchestration.run_context import partition_keys_by_process
from ivyi_pipeline.workflows.gifting_process import find
from ivyi_pipeline.workflows.gifting_process.funnel_report import transitions_of

TABLE_ROWS = 50
SCORE_FORMULA = "score = " + " + ".join(f"{w:.2f} × {name}" for name, w in WEIGHTS.items())

OPTIONS_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("gift_id", "string"),
        dg.TableColumn("category", "string"),
        dg.TableColumn("price_cents", "int"),
        dg.TableColumn("affinity", "float", description="the recipient's classifier affinity"),
    ]
)

HISTORY_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("at", "string"),
        dg.TableColumn("status", "string"),
        dg.TableColumn("event", "string"),
        dg.TableColumn("reason", "string"),
    ]
)

RANKED_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("rank", "int"),
        dg.TableColumn("gift_id", "string"),
        dg.TableColumn("category", "string"),
        dg.TableColumn("price_cents", "int"),
        dg.TableColumn("score", "float"),
        dg.TableColumn("affinity_score", "float"),
        dg.TableColumn("price_fit", "float"),
        dg.TableColumn("occasion_fit", "float"),
        dg.TableColumn("novelty", "float"),
    ]
)


def _add(context: dg.AssetExecutionContext, asset: str, pid: str, values: dict) -> None:
    """Attach `values` to the materialization of one process's partition of `asset`."""
    key = partition_keys_by_process(context)[pid]
    add_partition_metadata(context, dg.AssetKey(asset), key, {"process_id": pid, **values})


def describe_options(context: dg.AssetExecutionContext, engine: sa.Engine, ids: Sequence[str]):
    """Option count, price range, budget and a preview of each process's options."""
    with engine.connect() as conn:
        procs = find.processes_in(conn, ids).set_index("process_id")
        options = find.options_of(conn, list(procs.index))
        history = transitions_of(conn, list(procs.index))
    generated = history[history["to_status"] == "OPTIONS_GENERATED"].set_index("process_id")["at"]
    by_process = dict(tuple(options.groupby("process_id"))) if not options.empty else {}
    for pid, proc in procs.iterrows():
        rows = by_process.get(pid, options.iloc[0:0])
        values = {
            "option_count": dg.MetadataValue.int(len(rows)),
            "budget_cents": dg.MetadataValue.int(_cents(proc.budget_cents)),
            "status": str(proc.status),
            "dagster/row_count": dg.MetadataValue.int(len(rows)),
            "dagster/column_schema": OPTIONS_SCHEMA,
        }
        if pid in generated.index:
            values["generated_at"] = f"{pd.Timestamp(generated[pid]):%Y-%m-%d %H:%M}Z"
        if len(rows):
            preview = rows.sort_values(["affinity", "price_cents"], ascending=[False, False])
            values |= {
                "min_price_cents": dg.MetadataValue.int(int(rows["price_cents"].min())),
                "max_price_cents": dg.MetadataValue.int(int(rows["price_cents"].max())),
                "categories": ", ".join(sorted(rows["category"].unique())),
                "options": metadata_table(preview, OPTIONS_SCHEMA, TABLE_ROWS),
            }
        if isinstance(proc.blocked_reason, str):
            values["blocked_reason"] = proc.blocked_reason
        _add(context, "gift_options", pid, values)


def describe_rankings(context: dg.AssetExecutionContext, engine: sa.Engine, ids: Sequence[str]):
    """Each process's ranked options with their score components and the budget used."""
    with engine.connect() as conn:
        procs = find.processes_in(conn, ids).set_index("process_id")
        ranked = find.rankings_of(conn, list(procs.index))
    by_process = dict(tuple(ranked.groupby("process_id"))) if not ranked.empty else {}
    for pid, proc in procs.iterrows():
        if pid not in by_process:
            _add(
                context,
                "ranked_decisions",
                pid,
                {"ranked_count": dg.MetadataValue.int(0), "status": str(proc.status)},
            )
            continue
        rows = by_process[pid].sort_values("rank")
        top = rows.iloc[0]
        budget = _cents(proc.budget_cents) or 1
        _add(
            context,
            "ranked_decisions",
            pid,
            {
                "ranked_count": dg.MetadataValue.int(len(rows)),
                "status": str(proc.status),
                "dagster/row_count": dg.MetadataValue.int(len(rows)),
                "dagster/column_schema": RANKED_SCHEMA,
                "top_gift_id": str(top.gift_id),
                "top_gift_category": str(top.category),
                "top_gift_price_cents": dg.MetadataValue.int(int(top.price_cents)),
                "top_score": dg.MetadataValue.float(float(top.score)),
                "score_formula": SCORE_FORMULA,
                "budget_cents": dg.MetadataValue.int(budget),
                "budget_used_by_top_pct": dg.MetadataValue.float(
                    round(100 * float(top.price_cents) / budget, 1)
                ),
                "ranking": metadata_table(rows, RANKED_SCHEMA),
            },
        )


def _cents(value) -> int:
    return 0 if value is None or pd.isna(value) else int(value)


def describe_states(context: dg.AssetExecutionContext, engine: sa.Engine, ids: Sequence[str]):
    """Status, occasion, window and choice of every process in the run."""
    with engine.connect() as conn:
        procs = find.processes_in(conn, ids)
        history = transitions_of(conn, procs["process_id"].tolist())
    history = history.rename(columns={"to_status": "status"}).fillna({"reason": ""})
    by_process = dict(tuple(history.groupby("process_id"))) if not history.empty else {}
    for proc in procs.itertuples(index=False):
        values = {
            "status": str(proc.status),
            "occasion_id": proc.occasion_id,
            "occurrence_date": str(proc.occurrence_date),
        }
        if proc.window_closes_at is not None and not pd.isna(proc.window_closes_at):
            values["window_closes_at"] = f"{proc.window_closes_at:%Y-%m-%d %H:%M}Z"
        if isinstance(proc.selected_gift_id, str):
            values["selected_gift_id"] = proc.selected_gift_id
        if isinstance(proc.blocked_reason, str):
            values["blocked_reason"] = proc.blocked_reason
        if proc.process_id in by_process:
            values["history"] = metadata_table(by_process[proc.process_id], HISTORY_SCHEMA)
        _add(context, "gift_process_state", proc.process_id, values)

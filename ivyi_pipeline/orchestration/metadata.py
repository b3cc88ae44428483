"""Materialization metadata an analyst reads in the UI, one entry per process partition."""

from collections.abc import Mapping, Sequence

import dagster as dg
import pandas as pd
import sqlalchemy as sa

from ivyi_pipeline.domain.ranking import WEIGHTS
from ivyi_pipeline.domain.states import GiftProcessStatus as S
from ivyi_pipeline.orchestration.dagster_internals import add_partition_metadata
from ivyi_pipeline.orchestration.metadata_tables import metadata_tables
from ivyi_pipeline.orchestration.run_scope import partition_keys_by_process
from ivyi_pipeline.workflows.gifting_process import find
from ivyi_pipeline.workflows.gifting_process.funnel_report import transitions_of

TABLE_ROWS = 10
"""Rows of a process's options and ranking tables shown (the best first; counts give all)."""
SCORE_FORMULA = "score = " + " + ".join(f"{w:.2f} × {name}" for name, w in WEIGHTS.items())

OPTIONS_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("gift_id", "string"),
        dg.TableColumn("gift_name", "string", description="the gift's product name"),
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
        dg.TableColumn("gift_name", "string", description="the gift's product name"),
        dg.TableColumn("category", "string"),
        dg.TableColumn("price_cents", "int"),
        dg.TableColumn("score", "float"),
        dg.TableColumn("affinity_score", "float"),
        dg.TableColumn("price_fit", "float"),
        dg.TableColumn("occasion_fit", "float"),
        dg.TableColumn("novelty", "float"),
    ]
)


def _add(context: dg.AssetExecutionContext, asset: str, values_by_process: dict[str, dict]) -> None:
    """Attach each process's values to the materialization of its partition of `asset`."""
    key_of = partition_keys_by_process(context)
    add_partition_metadata(
        context,
        dg.AssetKey(asset),
        {key_of[pid]: {"process_id": pid, **values} for pid, values in values_by_process.items()},
    )


def describe_options(context: dg.AssetExecutionContext, engine: sa.Engine, ids: Sequence[str]):
    """Option count, price range, budget and a preview of each process's options."""
    with engine.connect() as conn:
        procs = find.processes_in(conn, ids).set_index("process_id")
        options = find.options_of(conn, list(procs.index))
        generated = find.entered_at(conn, list(procs.index), S.OPTIONS_GENERATED)
    # One sort and one table build for the whole run: each process's preview is its options,
    # highest affinity first, then the dearest.
    options = options.sort_values(
        ["process_id", "affinity", "price_cents"], ascending=[True, False, False], kind="stable"
    )
    previews = metadata_tables(options, OPTIONS_SCHEMA, "process_id", TABLE_ROWS)
    stats = options.groupby("process_id").agg(
        count=("gift_id", "size"), low=("price_cents", "min"), high=("price_cents", "max")
    )
    categories = (
        options.drop_duplicates(["process_id", "category"])
        .sort_values(["process_id", "category"])
        .groupby("process_id")["category"]
        .agg(", ".join)
    )
    described = {}
    for pid, status, budget, blocked in zip(
        procs.index, procs["status"], procs["budget_cents"], procs["blocked_reason"], strict=True
    ):
        count = int(stats.at[pid, "count"]) if pid in stats.index else 0
        values = {
            "option_count": dg.MetadataValue.int(count),
            "budget_cents": dg.MetadataValue.int(_cents(budget)),
            "status": str(status),
            "dagster/row_count": dg.MetadataValue.int(count),
        }
        if pid in generated:
            values["generated_at"] = f"{pd.Timestamp(generated[pid]):%Y-%m-%d %H:%M}Z"
        if count:
            values |= {
                "min_price_cents": dg.MetadataValue.int(int(stats.at[pid, "low"])),
                "max_price_cents": dg.MetadataValue.int(int(stats.at[pid, "high"])),
                "categories": categories[pid],
                "options": previews[pid],
            }
        if isinstance(blocked, str):
            values["blocked_reason"] = blocked
        described[pid] = values
    _add(context, "gift_options", described)


def describe_rankings(context: dg.AssetExecutionContext, engine: sa.Engine, ids: Sequence[str]):
    """Each process's ranked options with their score components and the budget used."""
    with engine.connect() as conn:
        procs = find.processes_in(conn, ids).set_index("process_id")
        ranked = find.rankings_of(conn, list(procs.index))
    ranked = ranked.sort_values(["process_id", "rank"], kind="stable")
    tables = metadata_tables(ranked, RANKED_SCHEMA, "process_id", TABLE_ROWS)
    tops = ranked.drop_duplicates("process_id").set_index("process_id")
    counts = ranked.groupby("process_id").size()
    described = {}
    for pid, status, budget_cents in zip(
        procs.index, procs["status"], procs["budget_cents"], strict=True
    ):
        if pid not in tables:
            described[pid] = {"ranked_count": dg.MetadataValue.int(0), "status": str(status)}
            continue
        top = tops.loc[pid]
        budget = _cents(budget_cents) or 1
        described[pid] = {
            "ranked_count": dg.MetadataValue.int(int(counts[pid])),
            "status": str(status),
            "dagster/row_count": dg.MetadataValue.int(int(counts[pid])),
            "top_gift_id": str(top.gift_id),
            "top_gift_name": str(top.gift_name),
            "top_gift_category": str(top.category),
            "top_gift_price_cents": dg.MetadataValue.int(int(top.price_cents)),
            "top_score": dg.MetadataValue.float(float(top.score)),
            "score_formula": SCORE_FORMULA,
            "budget_cents": dg.MetadataValue.int(budget),
            "budget_used_by_top_pct": dg.MetadataValue.float(
                round(100 * float(top.price_cents) / budget, 1)
            ),
            "ranking": tables[pid],
        }
    _add(context, "ranked_decisions", described)


def _cents(value) -> int:
    return 0 if value is None or pd.isna(value) else int(value)


def describe_states(
    context: dg.AssetExecutionContext,
    engine: sa.Engine,
    ids: Sequence[str],
    verdicts: Mapping[str, Mapping[str, object]],
):
    """Status, occasion, window, choice and every rule's verdict of every process in the run."""
    with engine.connect() as conn:
        procs = find.processes_in(conn, ids)
        history = transitions_of(conn, procs["process_id"].tolist())
    history = history.rename(columns={"to_status": "status"}).fillna({"reason": ""})
    histories = metadata_tables(history, HISTORY_SCHEMA, "process_id")
    described = {}
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
        values |= verdicts.get(proc.process_id, {})
        if proc.process_id in histories:
            values["history"] = histories[proc.process_id]
        described[proc.process_id] = values
    _add(context, "gift_process_state", described)

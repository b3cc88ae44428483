"""Data-quality rules on each process's options, ranking and choice (behind the asset checks).

"In stock" is a fact about one moment: options are drawn from the in-stock catalogue when they
are generated, and a gift may sell out afterwards without the options being wrong (the default
selection then skips it). So affordability and stock are checked only for the processes whose
options were generated at the given instant, against the catalogue as it stands then; the
other rules are invariants that hold at any time and are checked for every process.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from ivyi_pipeline.clock import to_db
from ivyi_pipeline.db.schema import gifts, process_transitions
from ivyi_pipeline.workflows.gifting_process import find
from ivyi_pipeline.workflows.gifting_process.states import GiftProcessStatus as S

CHUNK = 500
WINDOW_OPENED = {
    S.DECISION_WINDOW_OPEN,
    S.DEFAULT_SELECTED,
    S.CONFIRMED,
    S.ORDERED,
    S.SHIPPED,
    S.COMPLETED,
}
PAST_GENERATION = WINDOW_OPENED | {S.OPTIONS_GENERATED}


@dataclass
class QualityReport:
    """The processes a rule looked at; errors break an invariant, warnings need attention."""

    rule: str
    checked: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    warnings: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when no process broke the rule."""
        return not self.errors and not self.warnings

    @property
    def failing(self) -> dict[str, str]:
        """Every failing process with its problem, errors first."""
        return {**self.errors, **self.warnings}

    def summary(self) -> str:
        """One sentence: how many processes were checked and how many failed, with an example."""
        if not self.checked:
            return f"{self.rule}: no process in this run to check."
        if self.passed:
            return f"{self.rule}: all {len(self.checked)} process(es) pass."
        pid, problem = next(iter(self.failing.items()))
        return (
            f"{self.rule}: {len(self.failing)} of {len(self.checked)} process(es) fail, "
            f"e.g. process {pid}: {problem}."
        )


def _chunks(ids: Sequence[str]):
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


def _in_stock(conn: sa.Connection, gift_ids: Sequence[str]) -> dict[str, bool]:
    found: dict[str, bool] = {}
    for chunk in _chunks(sorted(set(gift_ids))):
        rows = conn.execute(sa.select(gifts.c.id, gifts.c.in_stock).where(gifts.c.id.in_(chunk)))
        found.update({gift_id: bool(in_stock) for gift_id, in_stock in rows})
    return found


def generated_at(conn: sa.Connection, process_ids: Sequence[str], at: datetime) -> list[str]:
    """The listed processes whose options were generated at exactly this instant."""
    pt = process_transitions
    found: set[str] = set()
    for chunk in _chunks(list(process_ids)):
        found.update(
            conn.execute(
                sa.select(pt.c.process_id).where(
                    pt.c.process_id.in_(chunk),
                    pt.c.to_status == S.OPTIONS_GENERATED.value,
                    pt.c.at == to_db(at),
                )
            ).scalars()
        )
    return sorted(found)


def options_present(engine: sa.Engine, process_ids: Sequence[str]) -> QualityReport:
    """Every process that reached option generation has at least one option."""
    report = QualityReport("options are non-empty")
    with engine.connect() as conn:
        procs = find.processes_in(conn, process_ids)
        procs = procs[procs["status"] != S.CREATED]
        counts = find.options_of(conn, procs["process_id"].tolist()).groupby("process_id").size()
    for proc in procs.itertuples(index=False):
        report.checked.append(proc.process_id)
        if counts.get(proc.process_id, 0):
            continue
        if proc.status == S.OCCASION_DETECTED:
            reason = proc.blocked_reason if isinstance(proc.blocked_reason, str) else None
            report.warnings[proc.process_id] = f"blocked: {reason}" if reason else "no options yet"
        else:
            report.errors[proc.process_id] = f"is {proc.status} but has no gift options"
    return report


def options_affordable_and_in_stock(
    engine: sa.Engine, process_ids: Sequence[str], at: datetime
) -> QualityReport:
    """Options generated at `at` are all within budget and in stock, as of `at`."""
    report = QualityReport("options are affordable and in stock")
    with engine.connect() as conn:
        fresh = generated_at(conn, process_ids, at)
        budgets = find.processes_in(conn, fresh).set_index("process_id")["budget_cents"]
        options = find.options_of(conn, fresh)
        stock = _in_stock(conn, options["gift_id"].tolist())
    report.checked = fresh
    for pid, rows in options.groupby("process_id"):
        budget = budgets.get(pid)
        problems = [
            f"gift {r.gift_id} costs {int(r.price_cents)} cents, over the budget of "
            f"{int(budget)} cents"
            for r in rows.itertuples(index=False)
            if pd.isna(budget) or int(r.price_cents) > int(budget)
        ] + [
            f"gift {r.gift_id} is out of stock"
            for r in rows.itertuples(index=False)
            if not stock.get(r.gift_id, False)
        ]
        if problems:
            report.errors[str(pid)] = "; ".join(problems[:3])
    return report


def _rank_problem(rows: pd.DataFrame, options: set[str]) -> str | None:
    ranks = sorted(int(r) for r in rows["rank"])
    if ranks != list(range(1, len(ranks) + 1)):
        shown = ", ".join(str(r) for r in ranks[:12])
        return f"ranks are {shown}, not 1..{len(ranks)} without gaps"
    strays = sorted(set(rows["gift_id"]) - options)
    if strays:
        return f"ranked gift {strays[0]} is not one of its options"
    return None


def ranks_without_gaps(engine: sa.Engine, process_ids: Sequence[str]) -> QualityReport:
    """Ranked options are numbered 1..n, each one of the process's options."""
    report = QualityReport("ranks are 1..n without gaps")
    with engine.connect() as conn:
        procs = find.processes_in(conn, process_ids)
        ranked = find.rankings_of(conn, procs["process_id"].tolist())
        options = find.options_of(conn, ranked["process_id"].unique().tolist())
    option_ids = options.groupby("process_id")["gift_id"].agg(set).to_dict()
    by_process = dict(tuple(ranked.groupby("process_id"))) if not ranked.empty else {}
    for proc in procs.itertuples(index=False):
        rows = by_process.get(proc.process_id)
        if rows is None:
            if proc.status in WINDOW_OPENED:
                report.checked.append(proc.process_id)
                report.errors[proc.process_id] = (
                    f"is {proc.status} but its options were never ranked"
                )
            continue
        report.checked.append(proc.process_id)
        problem = _rank_problem(rows, option_ids.get(proc.process_id, set()))
        if problem:
            report.errors[proc.process_id] = problem
    return report


def selected_gift_ranked(engine: sa.Engine, process_ids: Sequence[str]) -> QualityReport:
    """A process's selected gift, once chosen, is one of its ranked options."""
    report = QualityReport("the selected gift is one of the ranked options")
    with engine.connect() as conn:
        procs = find.processes_in(conn, process_ids)
        chosen = procs[procs["selected_gift_id"].notna()]
        ranked = find.rankings_of(conn, chosen["process_id"].tolist())
    ranked_ids = ranked.groupby("process_id")["gift_id"].agg(set).to_dict()
    for proc in chosen.itertuples(index=False):
        report.checked.append(proc.process_id)
        among = ranked_ids.get(proc.process_id, set())
        if proc.selected_gift_id not in among:
            report.errors[proc.process_id] = (
                f"selected gift {proc.selected_gift_id} is not among its "
                f"{len(among)} ranked options"
            )
    return report

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

import sqlalchemy as sa

from ivyi_pipeline.clock import to_db
from ivyi_pipeline.db.schema import (
    gift_options,
    gift_processes,
    gifts,
    process_transitions,
    ranked_decisions,
    relationships,
)
from ivyi_pipeline.domain.states import (
    GENERATE_OPTIONS,
    OPEN_DECISION_WINDOW,
    START_WORKFLOW,
    at_or_after,
)
from ivyi_pipeline.workflows.gifting_process import find

WINDOW_OPENED = at_or_after(OPEN_DECISION_WINDOW.moves_to)
"""The statuses of a process whose decision window has opened: its options are ranked."""
AWAITING_OPTIONS = GENERATE_OPTIONS.edge.source
"""Where a process waits for its options (no options there is a warning, not an error)."""


@dataclass
class QualityReport:
    """The processes a rule looked at; errors break an invariant, warnings need attention."""

    rule: str
    checked: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    warnings: dict[str, str] = field(default_factory=dict)
    not_judged: str = "does not apply to it yet"
    """Why a process of the run was not judged (say, the giver is still choosing)."""

    @property
    def passed(self) -> bool:
        """True when no process broke the rule."""
        return not self.errors and not self.warnings

    @property
    def failing(self) -> dict[str, str]:
        """Every failing process with its problem, errors first."""
        return {**self.errors, **self.warnings}

    def verdict(self, process_id: str) -> str:
        """One sentence on one checked process: its problem, or that it passes."""
        problem = self.failing.get(process_id)
        if problem is None:
            return f"{self.rule}: passes."
        return f"{self.rule}: fails: {problem}."

    def unjudged(self) -> str:
        """One sentence on a process of the run this rule did not judge."""
        return f"{self.rule}: {self.not_judged}."

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


RULES = (
    "options_not_empty",
    "options_affordable_and_in_stock",
    "ranks_without_gaps",
    "selected_gift_is_ranked",
)
"""The rules by the name of their asset check, in the order the UI lists them."""


def judge(engine: sa.Engine, process_ids: Sequence[str], at: datetime) -> dict[str, QualityReport]:
    """Every rule's report on the listed processes as of `at`, by rule name."""
    return dict(
        zip(
            RULES,
            (
                options_present(engine, process_ids),
                options_affordable_and_in_stock(engine, process_ids, at),
                ranks_without_gaps(engine, process_ids),
                selected_gift_ranked(engine, process_ids),
            ),
            strict=True,
        )
    )


def generated_at(conn: sa.Connection, process_ids: Sequence[str], at: datetime) -> list[str]:
    """The listed processes whose options were generated at exactly this instant."""
    pt = process_transitions
    query = (
        sa.select(pt.c.process_id)
        .where(pt.c.to_status == GENERATE_OPTIONS.moves_to.value, pt.c.at == to_db(at))
        .order_by(pt.c.process_id)
    )
    return [row.process_id for row in find.rows_in(conn, query, pt.c.process_id, process_ids)]


def options_present(engine: sa.Engine, process_ids: Sequence[str]) -> QualityReport:
    """Every process that reached option generation has at least one option."""
    report = QualityReport("options are non-empty")
    gp, go = gift_processes, gift_options
    query = (
        sa.select(gp.c.id, gp.c.status, gp.c.blocked_reason, sa.func.count(go.c.gift_id))
        .select_from(gp)
        .outerjoin(go, go.c.process_id == gp.c.id)
        .where(gp.c.status.in_([s.value for s in at_or_after(START_WORKFLOW.moves_to)]))
        .group_by(gp.c.id, gp.c.status, gp.c.blocked_reason)
        .order_by(gp.c.id)
    )
    with engine.connect() as conn:
        rows = find.rows_in(conn, query, gp.c.id, process_ids)
    for pid, status, blocked_reason, option_count in rows:
        report.checked.append(pid)
        if option_count:
            continue
        if status == AWAITING_OPTIONS:
            report.warnings[pid] = (
                f"blocked: {blocked_reason}" if blocked_reason else "no options yet"
            )
        else:
            report.errors[pid] = f"is {status} but has no gift options"
    return report


def options_affordable_and_in_stock(
    engine: sa.Engine, process_ids: Sequence[str], at: datetime
) -> QualityReport:
    """Options generated at `at` are all within budget and in stock, as of `at`."""
    report = QualityReport(
        "options are affordable and in stock",
        not_judged="judged only by the run that generated its options (an earlier "
        "materialization of this partition), or not yet",
    )
    go, gp, rel = gift_options, gift_processes, relationships
    over_budget = rel.c.budget_cents.is_(None) | (go.c.price_cents > rel.c.budget_cents)
    out_of_stock = sa.func.coalesce(gifts.c.in_stock, sa.false()).is_(sa.false())
    # Only the offending rows come back: a clean run reads nothing but the process ids.
    query = (
        sa.select(
            go.c.process_id,
            go.c.gift_id,
            go.c.price_cents,
            rel.c.budget_cents,
            over_budget.label("over_budget"),
            out_of_stock.label("out_of_stock"),
        )
        .select_from(go)
        .join(gp, gp.c.id == go.c.process_id)
        .outerjoin(rel, rel.c.id == gp.c.relationship_id)
        .outerjoin(gifts, gifts.c.id == go.c.gift_id)
        .where(over_budget | out_of_stock)
        .order_by(go.c.process_id, go.c.gift_id)
    )
    with engine.connect() as conn:
        fresh = generated_at(conn, process_ids, at)
        rows = find.rows_in(conn, query, go.c.process_id, fresh)
    report.checked = fresh
    problems: dict[str, tuple[list[str], list[str]]] = {}
    for row in rows:
        budget_problems, stock_problems = problems.setdefault(row.process_id, ([], []))
        if row.over_budget:
            budget = "no budget" if row.budget_cents is None else f"{int(row.budget_cents)} cents"
            cost = f"gift {row.gift_id} costs {int(row.price_cents)} cents"
            budget_problems.append(f"{cost}, over the budget of {budget}")
        if row.out_of_stock:
            stock_problems.append(f"gift {row.gift_id} is out of stock")
    for pid, (budget_problems, stock_problems) in problems.items():
        report.errors[pid] = "; ".join((budget_problems + stock_problems)[:3])
    return report


def ranks_without_gaps(engine: sa.Engine, process_ids: Sequence[str]) -> QualityReport:
    """Ranked options are numbered 1..n, each one of the process's options."""
    report = QualityReport("ranks are 1..n without gaps")
    rd, go, gp = ranked_decisions, gift_options, gift_processes
    stray = sa.case((go.c.gift_id.is_(None), rd.c.gift_id))
    # One row per process: its rank facts, aggregated in the database.
    query = (
        sa.select(
            gp.c.id,
            gp.c.status,
            sa.func.count(rd.c.rank).label("ranked"),
            sa.func.min(rd.c.rank).label("low"),
            sa.func.max(rd.c.rank).label("high"),
            sa.func.min(stray).label("stray"),
        )
        .select_from(gp)
        .outerjoin(rd, rd.c.process_id == gp.c.id)
        .outerjoin(go, (go.c.process_id == rd.c.process_id) & (go.c.gift_id == rd.c.gift_id))
        .group_by(gp.c.id, gp.c.status)
        .order_by(gp.c.id)
    )
    with engine.connect() as conn:
        for row in find.rows_in(conn, query, gp.c.id, process_ids):
            if not row.ranked:
                if row.status in WINDOW_OPENED:
                    report.checked.append(row.id)
                    report.errors[row.id] = f"is {row.status} but its options were never ranked"
                continue
            report.checked.append(row.id)
            # Ranks are unique per process (primary key), so n ranks from 1 to n leave no gap.
            gapless = row.low == 1 and row.high == row.ranked
            if not gapless:
                ranks = sorted(
                    conn.execute(sa.select(rd.c.rank).where(rd.c.process_id == row.id)).scalars()
                )
                shown = ", ".join(str(r) for r in ranks[:12])
                report.errors[row.id] = f"ranks are {shown}, not 1..{len(ranks)} without gaps"
            elif row.stray is not None:
                report.errors[row.id] = f"ranked gift {row.stray} is not one of its options"
    return report


def selected_gift_ranked(engine: sa.Engine, process_ids: Sequence[str]) -> QualityReport:
    """A process's selected gift, once chosen, is one of its ranked options."""
    report = QualityReport("the selected gift is one of the ranked options")
    gp, rd = gift_processes, ranked_decisions
    # One row per chosen process, the selected gift looked up by (process, gift): a run over
    # processes that chose long ago reads no ranking rows, only one index entry each.
    query = (
        sa.select(gp.c.id, gp.c.selected_gift_id, rd.c.rank)
        .select_from(gp)
        .outerjoin(rd, (rd.c.process_id == gp.c.id) & (rd.c.gift_id == gp.c.selected_gift_id))
        .where(gp.c.selected_gift_id.is_not(None))
        .order_by(gp.c.id)
    )
    with engine.connect() as conn:
        rows = find.rows_in(conn, query, gp.c.id, process_ids)
        outside = {row.id: row.selected_gift_id for row in rows if row.rank is None}
        ranked = dict(
            find.rows_in(
                conn,
                sa.select(rd.c.process_id, sa.func.count()).group_by(rd.c.process_id),
                rd.c.process_id,
                outside,
            )
        )
    for row in rows:
        report.checked.append(row.id)
        if row.id in outside:
            report.errors[row.id] = (
                f"selected gift {row.selected_gift_id} is not among its "
                f"{ranked.get(row.id, 0)} ranked options"
            )
    return report

"""The gifting process's steps, each the handler of one seed event, in bulk over processes.

Every step acts only on the processes that are in its source state, so running a step
again, or over processes that are elsewhere in their lifecycle, changes nothing.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from ivyi_pipeline.clock import from_db, to_db
from ivyi_pipeline.db.bulk import insert_frame_ignoring_conflicts, update_rows
from ivyi_pipeline.db.engine import insert_ignoring_conflicts
from ivyi_pipeline.db.reads import chunks
from ivyi_pipeline.db.schema import gift_options, gifts, inbox_events, orders, ranked_decisions
from ivyi_pipeline.domain import states
from ivyi_pipeline.domain.decision_window import (
    WindowPolicy,
    confirmation_counts,
    window_closed,
)
from ivyi_pipeline.domain.enums import InboxKind
from ivyi_pipeline.domain.grace import DEFAULT_GRACE_DAYS, past_grace, too_late_reason
from ivyi_pipeline.domain.options import DEFAULT_MAX_OPTIONS, generate_options_for_processes
from ivyi_pipeline.domain.ranking import DEFAULT_TOP_N, rank_gifts
from ivyi_pipeline.domain.states import Step
from ivyi_pipeline.errors import InvalidTransition
from ivyi_pipeline.features.fulfilment import (
    FulfilmentProvider,
    ProviderError,
    with_carrier_reports,
)
from ivyi_pipeline.workflows.gifting_process import find
from ivyi_pipeline.workflows.gifting_process.step_report import StepReport
from ivyi_pipeline.workflows.gifting_process.update import (
    close_fulfilment_events,
    close_inbox_events,
    set_blocked,
    transition_along,
)


@dataclass(frozen=True)
class GiftingRules:
    """The tunable business rules of the gifting process."""

    window: WindowPolicy = field(default_factory=WindowPolicy)
    max_options: int = DEFAULT_MAX_OPTIONS
    top_n: int = DEFAULT_TOP_N


def _missing(conn: sa.Connection, process_ids: Sequence[str]) -> list[str]:
    return sorted(set(process_ids) - find.existing_ids(conn, process_ids))


def _context_problems(procs: pd.DataFrame) -> dict[str, str]:
    """Processes whose relationship is gone or inconsistent, with the reason."""
    problems: dict[str, str] = {}
    for row in procs.itertuples(index=False):
        if pd.isna(row.budget_cents):
            problems[row.process_id] = f"relationship {row.relationship_id} no longer exists"
        elif row.relationship_deleted_at is not None and not pd.isna(row.relationship_deleted_at):
            problems[row.process_id] = f"relationship {row.relationship_id} was deleted"
        elif pd.isna(row.occasion_kind):
            problems[row.process_id] = f"occasion {row.occasion_id} no longer exists"
    return problems


def _too_late(procs: pd.DataFrame, at: datetime, grace_days: int) -> dict[str, str]:
    """Processes whose occasion passed more than `grace_days` before `at`, with the reason.

    The backfill's belated rule, applied to catch-up: a tick, batch or re-drive that reaches
    a process long after its occasion blocks it instead of selecting or ordering a gift.
    """
    today = at.date()
    return {
        row.process_id: too_late_reason(row.occurrence_date, today, grace_days)
        for row in procs.itertuples(index=False)
        if past_grace(row.occurrence_date, today, grace_days)
    }


def start_workflow(
    engine: sa.Engine,
    process_ids: Sequence[str],
    at: datetime,
    grace_days: int = DEFAULT_GRACE_DAYS,
) -> StepReport:
    """start-workflow: attach the occasion's context; CREATED -> OCCASION_DETECTED."""
    step = states.START_WORKFLOW
    report = StepReport(step.name)
    with engine.begin() as conn:
        report.missing = _missing(conn, process_ids)
        procs = find.processes_in(conn, process_ids, step.edge.source)
        report.blocked = _too_late(procs, at, grace_days) | _context_problems(procs)
        ready = [pid for pid in procs["process_id"] if pid not in report.blocked]
        report.advanced = transition_along(conn, step.edge, ready, at, blocked_reason=None)
        set_blocked(conn, report.blocked, at)
    return report


def generate_options(
    engine: sa.Engine, process_ids: Sequence[str], at: datetime, rules: GiftingRules
) -> StepReport:
    """occasion-detected: find gift options; OCCASION_DETECTED -> OPTIONS_GENERATED."""
    step = states.GENERATE_OPTIONS
    report = StepReport(step.name)
    with engine.begin() as conn:
        procs = find.processes_in(conn, process_ids, step.edge.source)
        report.blocked = _context_problems(procs)
        procs = procs[~procs["process_id"].isin(list(report.blocked))]
        if procs.empty:
            set_blocked(conn, report.blocked, at)
            return report
        catalogue = find.catalogue(conn, int(procs["budget_cents"].max()))
        affinities = find.affinities_of(conn, procs["recipient_id"].unique().tolist())
        given = find.gifts_given_to(conn, procs["recipient_id"].unique().tolist())
        given_by_recipient = given.groupby("recipient_id")["gift_id"].agg(set).to_dict()
        recipients = procs["recipient_id"].tolist()
        found = generate_options_for_processes(
            catalogue,
            procs["budget_cents"].astype("int64").tolist(),
            [affinities.get(r, {}) for r in recipients],
            [given_by_recipient.get(r, ()) for r in recipients],
            rules.max_options,
        )
        owners = procs["process_id"].to_numpy()
        with_options = set(found["owner"].unique().tolist())
        for i, proc in enumerate(procs.itertuples(index=False)):
            if i not in with_options:
                report.blocked[proc.process_id] = (
                    f"no gift in stock within the budget of {int(proc.budget_cents)} cents"
                )
        ready = [pid for i, pid in enumerate(owners) if i in with_options]
        if len(found):
            rows = found.assign(process_id=owners[found["owner"].to_numpy()]).drop(columns="owner")
            insert_frame_ignoring_conflicts(conn, gift_options, rows)
        report.advanced = transition_along(conn, step.edge, ready, at, blocked_reason=None)
        set_blocked(conn, report.blocked, at)
    return report


def rank_options(
    engine: sa.Engine, process_ids: Sequence[str], at: datetime, rules: GiftingRules
) -> StepReport:
    """options-generated, first half: rank each process's options (no state change)."""
    step = states.RANK_OPTIONS
    report = StepReport(step.name)
    with engine.begin() as conn:
        procs = find.processes_in(conn, process_ids, step.edge.source)
        ranked = find.processes_with_ranks(conn, procs["process_id"].tolist())
        procs = procs[~procs["process_id"].isin(ranked)]
        if procs.empty:
            return report
        options = find.options_of(conn, procs["process_id"].tolist()).merge(
            procs[["process_id", "recipient_id", "budget_cents", "depth", "occasion_kind"]],
            on="process_id",
        )
        given = find.gifts_given_to(conn, procs["recipient_id"].unique().tolist())
        received = procs[["process_id", "recipient_id"]].merge(given, on="recipient_id")
        decisions = rank_gifts(options, received, rules.top_n)
        if not decisions.empty:
            insert_frame_ignoring_conflicts(conn, ranked_decisions, decisions)
        report.advanced = sorted(decisions["process_id"].unique().tolist())
    return report


def open_decision_window(
    engine: sa.Engine, process_ids: Sequence[str], at: datetime, rules: GiftingRules
) -> StepReport:
    """options-generated, second half: OPTIONS_GENERATED -> DECISION_WINDOW_OPEN."""
    step = states.OPEN_DECISION_WINDOW
    report = StepReport(step.name)
    with engine.begin() as conn:
        procs = find.processes_in(conn, process_ids, step.edge.source)
        ranked = set(find.processes_with_ranks(conn, procs["process_id"].tolist()))
        windows = {
            proc.process_id: {
                "window_opens_at": to_db(at),
                "window_closes_at": to_db(rules.window.closes_at(at, proc.occurrence_date)),
            }
            for proc in procs.itertuples(index=False)
            if proc.process_id in ranked
        }
        report.waiting = {
            pid: "options are not ranked yet" for pid in procs["process_id"] if pid not in ranked
        }
        report.advanced = transition_along(conn, step.edge, list(windows), at, windows)
    return report


def select_default(
    engine: sa.Engine,
    process_ids: Sequence[str],
    at: datetime,
    grace_days: int = DEFAULT_GRACE_DAYS,
) -> StepReport:
    """decision-window-open: on expiry take the top-ranked gift in stock -> DEFAULT_SELECTED.

    Not for an occasion past the grace period: the process is blocked with the reason.
    """
    step = states.SELECT_DEFAULT
    report = StepReport(step.name)
    with engine.begin() as conn:
        procs = find.processes_in(conn, process_ids, step.edge.source)
        pending = _received_by(find.pending_confirmations(conn, procs["process_id"].tolist()), at)
        too_late = _too_late(procs, at, grace_days)
        due: list[str] = []
        for proc in procs.itertuples(index=False):
            closes = from_db(proc.window_closes_at)
            if proc.process_id in too_late and proc.process_id not in pending:
                continue
            if proc.process_id in pending:
                report.waiting[proc.process_id] = "the giver's confirmation is being applied"
            elif not window_closed(closes, at):
                report.waiting[proc.process_id] = (
                    f"decision window open until {closes:%Y-%m-%d %H:%M}Z"
                )
            else:
                due.append(proc.process_id)
        top = find.top_ranked_in_stock(conn, due)
        report.blocked = {
            pid: "none of the ranked gifts is in stock any more" for pid in due if pid not in top
        } | {pid: why for pid, why in too_late.items() if pid not in pending}
        report.advanced = transition_along(
            conn,
            step.edge,
            list(top),
            at,
            {pid: {"selected_gift_id": gift} for pid, gift in top.items()},
            blocked_reason=None,
        )
        set_blocked(conn, report.blocked, at)
    return report


def _received_by(pending: dict[str, tuple], at: datetime) -> dict[str, tuple]:
    """The pending confirmations received at or before `at` (the others are not due yet)."""
    return {
        pid: event for pid, event in pending.items() if confirmation_counts(from_db(event[2]), at)
    }


def _not_yet_received(pending: dict[str, tuple], at: datetime) -> dict[str, str]:
    return {
        pid: (
            f"the giver's confirmation was received at {from_db(received):%Y-%m-%d %H:%M}Z, "
            f"after {at:%Y-%m-%d %H:%M}Z: not applied before it was received"
        )
        for pid, (_, _, received) in pending.items()
        if not confirmation_counts(from_db(received), at)
    }


def confirm_selection(engine: sa.Engine, process_ids: Sequence[str], at: datetime) -> StepReport:
    """option-confirmed / option-selected: the giver's choice or the default -> CONFIRMED."""
    step = states.CONFIRM_SELECTION
    # The giver's choice moves a process along the edge from where it stands; a default still
    # standing when no choice came is confirmed as it is.
    by_giver = {e.source: e for e in (states.GIVER_CONFIRMED, states.GIVER_OVERRODE_DEFAULT)}
    report = StepReport(step.name)
    with engine.begin() as conn:
        procs = find.processes_in(conn, process_ids).set_index("process_id")
        pending = find.pending_confirmations(conn, procs.index.tolist())
        report.waiting = _not_yet_received(pending, at)
        pending = _received_by(pending, at)
        chosen: dict[str, dict[str, object]] = {source: {} for source in by_giver}
        outcomes: dict[int, str] = {}
        ranked = find.ranked_gift_ids_of(conn, list(pending))
        for pid, (event_id, gift_id, received_at) in pending.items():
            proc = procs.loc[pid]
            closes = from_db(proc.window_closes_at)
            if proc.status not in chosen:
                error = InvalidTransition(proc.status, step.moves_to, pid)
                report.refused.append(error)
                outcomes[event_id] = f"REJECTED: {error}"
            elif closes is not None and window_closed(closes, from_db(received_at)):
                outcomes[event_id] = "REJECTED: received after the decision window closed"
            elif gift_id not in ranked.get(pid, ()):
                outcomes[event_id] = "REJECTED: gift is not among the ranked options"
            else:
                chosen[proc.status][pid] = {"selected_gift_id": gift_id}
                outcomes[event_id] = "APPLIED"
        moved: list[str] = []
        for source, edge in by_giver.items():
            moved += transition_along(conn, edge, list(chosen[source]), at, chosen[source])
        default = states.DEFAULT_CONFIRMED
        defaults = [
            pid
            for pid in procs.index[procs["status"] == default.source]
            if pid not in chosen.get(default.source, {})
        ]
        defaulted = transition_along(conn, default, defaults, at)
        for pid in [pid for picks in chosen.values() for pid in picks if pid not in set(moved)]:
            # Its history holds a later instant than `at`; the event stays in the inbox.
            del outcomes[pending[pid][0]]
            report.waiting[pid] = f"its history already has a change after {at:%Y-%m-%d %H:%M}Z"
        close_inbox_events(conn, outcomes, at)
        report.advanced = moved + defaulted
    return report


def place_order(
    engine: sa.Engine,
    process_ids: Sequence[str],
    at: datetime,
    provider: FulfilmentProvider,
    grace_days: int = DEFAULT_GRACE_DAYS,
) -> StepReport:
    """Order the selected gift, at most once per process (idempotency key): -> ORDERED.

    A selected gift that went out of stock after the confirmation is replaced by the
    best-ranked gift still in stock (the rule of the default path); with none in stock the
    process stays CONFIRMED, blocked with the reason, and is ordered once stock returns.
    A process whose occasion passed beyond the grace period is not ordered: it stays
    CONFIRMED, blocked with the reason (`_too_late`).
    """
    report = StepReport(states.PLACE_ORDER.name)
    with engine.connect() as conn:
        procs = find.processes_in(conn, process_ids, states.ORDERED_AS_SELECTED.source)
        too_late = _too_late(procs, at, grace_days)
        procs = procs[~procs["process_id"].isin(list(too_late))]
        gift_of, replaced, report.blocked = _in_stock_choices(conn, procs)
        report.blocked |= too_late
    if report.blocked:
        with engine.begin() as conn:
            set_blocked(conn, report.blocked, at)
    placed: dict[str, dict] = {}
    for pid, gift_id in gift_of.items():
        try:
            order_id = provider.place_order(pid, gift_id, at)
        except ProviderError as exc:
            report.failed[pid] = f"fulfilment provider error: {exc}"
            continue
        placed[pid] = {
            "process_id": pid,
            "gift_id": gift_id,
            "idempotency_key": pid,
            "provider_order_id": order_id,
            "placed_at": to_db(at),
        }
    if not placed:
        return report
    with engine.begin() as conn:
        prices = find.prices_of(conn, [row["gift_id"] for row in placed.values()])
        rows = [{**row, "price_cents": prices[row["gift_id"]]} for row in placed.values()]
        insert_ignoring_conflicts(conn, orders, rows)
        as_selected = [pid for pid in placed if pid not in replaced]
        substituted = {
            pid: {"selected_gift_id": placed[pid]["gift_id"]} for pid in placed if pid in replaced
        }
        report.advanced = transition_along(
            conn, states.ORDERED_AS_SELECTED, as_selected, at, blocked_reason=None
        ) + transition_along(
            conn,
            states.ORDERED_A_SUBSTITUTE,
            list(substituted),
            at,
            substituted,
            blocked_reason=None,
        )
    return report


SOLD_OUT_REPLACED = states.ORDERED_A_SUBSTITUTE.reason


def _in_stock_choices(
    conn: sa.Connection, procs: pd.DataFrame
) -> tuple[dict[str, str], set[str], dict[str, str]]:
    """The gift to order per process, the processes whose gift was replaced, and the blocked."""
    selected = dict(zip(procs["process_id"], procs["selected_gift_id"], strict=True))
    sold_out: set[str] = set()
    for chunk in chunks(sorted(set(selected.values()))):
        sold_out.update(
            conn.execute(
                sa.select(gifts.c.id).where(gifts.c.id.in_(chunk), gifts.c.in_stock.is_(False))
            ).scalars()
        )
    replaced = sorted(pid for pid, gift in selected.items() if gift in sold_out)
    best = find.top_ranked_in_stock(conn, replaced)
    blocked = {
        pid: "the selected gift and every other ranked gift are out of stock"
        for pid in replaced
        if pid not in best
    }
    choice = {pid: best.get(pid, gift) for pid, gift in selected.items() if pid not in blocked}
    return choice, set(best), blocked


@dataclass(frozen=True)
class _Milestone:
    """A fulfilment update the provider reports, and the step that answers it."""

    step: Step
    kind: InboxKind
    stamp: str
    """The `orders` column and the provider's `Tracking` field holding when it happened."""
    not_yet: str


SHIPPED = _Milestone(states.RECORD_SHIPMENT, InboxKind.SHIPPED, "shipped_at", "has not shipped")
DELIVERED = _Milestone(
    states.COMPLETE_PROCESS, InboxKind.DELIVERED, "delivered_at", "has not been delivered"
)


def record_shipment(
    engine: sa.Engine, process_ids: Sequence[str], at: datetime, provider: FulfilmentProvider
) -> StepReport:
    """A fulfilment update says the parcel left: ORDERED -> SHIPPED."""
    return _apply_fulfilment(engine, process_ids, at, provider, SHIPPED)


def complete_process(
    engine: sa.Engine, process_ids: Sequence[str], at: datetime, provider: FulfilmentProvider
) -> StepReport:
    """A fulfilment update says the gift arrived: SHIPPED -> COMPLETED."""
    return _apply_fulfilment(engine, process_ids, at, provider, DELIVERED)


def _apply_fulfilment(
    engine: sa.Engine,
    process_ids: Sequence[str],
    at: datetime,
    provider: FulfilmentProvider,
    milestone: _Milestone,
) -> StepReport:
    edge, kind, stamp = milestone.step.edge, milestone.kind, milestone.stamp
    report = StepReport(milestone.step.name)
    with engine.connect() as conn:
        procs = find.processes_in(conn, process_ids, edge.source)
    ids = procs["process_id"].tolist()
    tracking = with_carrier_reports(engine, provider.tracking(ids, at), ids, at) if ids else {}
    happened = {
        pid: getattr(tracking[pid], stamp)
        for pid in ids
        if pid in tracking and getattr(tracking[pid], stamp) is not None
    }
    report.waiting = {
        pid: f"the parcel {milestone.not_yet} yet" for pid in ids if pid not in happened
    }
    if not happened:
        return report
    with engine.begin() as conn:
        # The provider's updates land in the inbox first, as a webhook would deliver them.
        insert_ignoring_conflicts(
            conn,
            inbox_events,
            [
                {"process_id": pid, "kind": kind.value, "received_at": to_db(when)}
                for pid, when in happened.items()
            ],
        )
        update_rows(
            conn, orders, "process_id", {pid: {stamp: to_db(w)} for pid, w in happened.items()}
        )
        report.advanced = transition_along(conn, edge, list(happened), at)
        close_fulfilment_events(conn, report.advanced, kind, at)
    return report

"""Read gift processes and the feature data a step coordinates (the seed's find operations)."""

from collections.abc import Sequence

import pandas as pd
import sqlalchemy as sa

from ivyi_pipeline.db.reads import chunks, frame_in, read_frame, rows_in
from ivyi_pipeline.db.schema import (
    gift_options,
    gift_processes,
    gifts,
    inbox_events,
    occasions,
    preferences,
    process_transitions,
    ranked_decisions,
    relationships,
)
from ivyi_pipeline.domain.enums import InboxKind

Due = dict[str, tuple[str, str]]
"""{process id: (occasion id, status)}: what the sensors and the batch request runs for."""


def by_process(bind: sa.Engine | sa.Connection, *where: sa.ColumnElement[bool]) -> Due:
    """{process id: (occasion id, status)} of the processes meeting every condition."""
    gp = gift_processes
    query = sa.select(gp.c.id, gp.c.occasion_id, gp.c.status).where(*where)
    if isinstance(bind, sa.Engine):
        with bind.connect() as conn:
            return by_process(conn, *where)
    return {pid: (occasion_id, str(status)) for pid, occasion_id, status in bind.execute(query)}


def processes_in(
    conn: sa.Connection, process_ids: Sequence[str], status: str | None = None
) -> pd.DataFrame:
    """The listed processes (optionally only those in status) with their feature context."""
    gp, occ, rel = gift_processes, occasions, relationships
    query = (
        sa.select(
            gp.c.id.label("process_id"),
            gp.c.status,
            gp.c.occasion_id,
            gp.c.occurrence_date,
            gp.c.recipient_id,
            gp.c.relationship_id,
            gp.c.selected_gift_id,
            gp.c.window_opens_at,
            gp.c.window_closes_at,
            gp.c.blocked_reason,
            gp.c.belated,
            sa.func.coalesce(gp.c.relationship_depth_override, rel.c.depth).label("depth"),
            rel.c.budget_cents,
            rel.c.deleted_at.label("relationship_deleted_at"),
            rel.c.recipient_id.label("relationship_recipient_id"),
            occ.c.kind.label("occasion_kind"),
        )
        .select_from(gp)
        .outerjoin(rel, rel.c.id == gp.c.relationship_id)
        .outerjoin(occ, occ.c.id == gp.c.occasion_id)
    )
    if status is not None:
        query = query.where(gp.c.status == status)
    frame = frame_in(conn, query, gp.c.id, process_ids)
    return frame.sort_values("process_id", kind="mergesort")


def existing_ids(conn: sa.Connection, process_ids: Sequence[str]) -> set[str]:
    """The subset of process_ids that name a stored process."""
    found: set[str] = set()
    for chunk in chunks(process_ids):
        found.update(
            conn.execute(sa.select(gift_processes.c.id).where(gift_processes.c.id.in_(chunk)))
            .scalars()
            .all()
        )
    return found


def catalogue(conn: sa.Connection, max_price_cents: int) -> pd.DataFrame:
    """In-stock gifts priced at most max_price_cents (the gifts feature's suggestions)."""
    query = sa.select(gifts.c.id, gifts.c.category, gifts.c.price_cents, gifts.c.in_stock).where(
        gifts.c.in_stock.is_(True), gifts.c.price_cents <= max_price_cents
    )
    return read_frame(conn, query.order_by(gifts.c.id))


def affinities_of(conn: sa.Connection, user_ids: Sequence[str]) -> dict[str, dict[str, float]]:
    """Each user's classifier affinities by category (the classifier feature)."""
    out: dict[str, dict[str, float]] = {}
    for chunk in chunks(list(user_ids)):
        rows = conn.execute(
            sa.select(preferences.c.user_id, preferences.c.category, preferences.c.affinity).where(
                preferences.c.user_id.in_(chunk)
            )
        )
        for user_id, category, affinity in rows:
            out.setdefault(user_id, {})[category] = float(affinity)
    return out


def gifts_given_to(conn: sa.Connection, recipient_ids: Sequence[str]) -> pd.DataFrame:
    """(recipient_id, gift_id, category) of every gift selected for these recipients before."""
    gp = gift_processes
    query = sa.select(
        gp.c.recipient_id, gp.c.selected_gift_id.label("gift_id"), gifts.c.category
    ).join(gifts, gifts.c.id == gp.c.selected_gift_id)
    return frame_in(conn, query, gp.c.recipient_id, list(recipient_ids))


def ranked_gift_ids(conn: sa.Connection, process_id: str) -> list[str]:
    """The gift ids ranked for a process, best first."""
    return list(
        conn.execute(
            sa.select(ranked_decisions.c.gift_id)
            .where(ranked_decisions.c.process_id == process_id)
            .order_by(ranked_decisions.c.rank)
        ).scalars()
    )


def ranked_gift_ids_of(conn: sa.Connection, process_ids: Sequence[str]) -> dict[str, set[str]]:
    """The gift ids ranked for each of the listed processes (one query per chunk)."""
    rd = ranked_decisions
    found: dict[str, set[str]] = {}
    for pid, gift_id in rows_in(
        conn, sa.select(rd.c.process_id, rd.c.gift_id), rd.c.process_id, process_ids
    ):
        found.setdefault(pid, set()).add(gift_id)
    return found


def processes_with_ranks(conn: sa.Connection, process_ids: Sequence[str]) -> list[str]:
    """The listed processes that already have ranked decisions."""
    found: set[str] = set()
    for chunk in chunks(process_ids):
        found.update(
            conn.execute(
                sa.select(ranked_decisions.c.process_id)
                .where(ranked_decisions.c.process_id.in_(chunk))
                .distinct()
            ).scalars()
        )
    return sorted(found)


def entered_at(conn: sa.Connection, process_ids: Sequence[str], status: str) -> dict[str, object]:
    """When each listed process last entered `status` (naive UTC), for those that did."""
    pt = process_transitions
    query = (
        sa.select(pt.c.process_id, sa.func.max(pt.c.at))
        .where(pt.c.to_status == str(status))
        .group_by(pt.c.process_id)
    )
    return dict(rows_in(conn, query, pt.c.process_id, process_ids))


def options_of(conn: sa.Connection, process_ids: Sequence[str]) -> pd.DataFrame:
    """Stored gift options of the listed processes, with each gift's name (a product's)."""
    go = gift_options
    query = sa.select(
        go.c.process_id,
        go.c.gift_id,
        gifts.c.name.label("gift_name"),
        go.c.category,
        go.c.price_cents,
        go.c.affinity,
    ).join(gifts, gifts.c.id == go.c.gift_id)
    return frame_in(conn, query, go.c.process_id, process_ids)


def pending_confirmations(
    conn: sa.Connection, process_ids: Sequence[str]
) -> dict[str, tuple[int, str, object]]:
    """Unprocessed confirmations by process: (inbox event id, gift id, received_at)."""
    found = {}
    for chunk in chunks(process_ids):
        rows = conn.execute(
            sa.select(
                inbox_events.c.process_id,
                inbox_events.c.id,
                inbox_events.c.gift_id,
                inbox_events.c.received_at,
            ).where(
                inbox_events.c.process_id.in_(chunk),
                inbox_events.c.kind == InboxKind.CONFIRMATION.value,
                inbox_events.c.processed_at.is_(None),
            )
        )
        for pid, event_id, gift_id, received_at in rows:
            found[pid] = (event_id, gift_id, received_at)
    return found


def top_ranked_in_stock(conn: sa.Connection, process_ids: Sequence[str]) -> dict[str, str]:
    """Each process's best-ranked gift that is still in stock."""
    best: dict[str, str] = {}
    for chunk in chunks(process_ids):
        rows = conn.execute(
            sa.select(ranked_decisions.c.process_id, ranked_decisions.c.gift_id)
            .join(gifts, gifts.c.id == ranked_decisions.c.gift_id)
            .where(ranked_decisions.c.process_id.in_(chunk), gifts.c.in_stock.is_(True))
            .order_by(ranked_decisions.c.process_id, ranked_decisions.c.rank)
        )
        for pid, gift_id in rows:
            best.setdefault(pid, gift_id)
    return best


def prices_of(conn: sa.Connection, gift_ids: Sequence[str]) -> dict[str, int]:
    """Price in cents of each gift."""
    prices: dict[str, int] = {}
    for chunk in chunks(list(set(gift_ids))):
        rows = conn.execute(sa.select(gifts.c.id, gifts.c.price_cents).where(gifts.c.id.in_(chunk)))
        prices.update({gift_id: int(price) for gift_id, price in rows})
    return prices


def rankings_of(conn: sa.Connection, process_ids: Sequence[str]) -> pd.DataFrame:
    """Ranked decisions of the listed processes, with each gift's name, category and price."""
    rd = ranked_decisions
    query = sa.select(
        rd, gifts.c.name.label("gift_name"), gifts.c.category, gifts.c.price_cents
    ).join(gifts, gifts.c.id == rd.c.gift_id)
    return frame_in(conn, query, rd.c.process_id, process_ids)

"""Read gift processes and the feature data a step coordinates (the seed's find operations)."""

from collections.abc import Iterable, Sequence

import pandas as pd
import sqlalchemy as sa

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

CHUNK = 500


def chunks(ids: Sequence[str]) -> Iterable[list[str]]:
    """The ids in lists of CHUNK, small enough for an IN (...) on every backend."""
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


def rows_in(
    conn: sa.Connection, query: sa.Select, column: sa.ColumnElement, ids: Iterable[str]
) -> list[sa.Row]:
    """The query's rows whose column is one of ids, read in chunks in id order."""
    return [
        row
        for chunk in chunks(sorted(set(ids)))
        for row in conn.execute(query.where(column.in_(chunk)))
    ]


def read_frame(conn: sa.Connection, query: sa.Select) -> pd.DataFrame:
    """The query's rows as a DataFrame with its column names (also when empty)."""
    result = conn.execute(query)
    # Plain tuples: pandas builds a frame from them about twice as fast as from Row objects.
    rows = list(map(tuple, result.all()))
    return pd.DataFrame.from_records(rows, columns=list(result.keys()))


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
    frames = [read_frame(conn, query.where(gp.c.id.in_(chunk))) for chunk in chunks(process_ids)]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=[c.name for c in query.selected_columns])
    return pd.concat(frames, ignore_index=True).sort_values("process_id", kind="mergesort")


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
    frames = [
        read_frame(
            conn,
            sa.select(gp.c.recipient_id, gp.c.selected_gift_id.label("gift_id"), gifts.c.category)
            .join(gifts, gifts.c.id == gp.c.selected_gift_id)
            .where(gp.c.recipient_id.in_(chunk)),
        )
        for chunk in chunks(list(recipient_ids))
    ]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=["recipient_id", "gift_id", "category"])
    return pd.concat(frames, ignore_index=True)


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
    frames = [
        read_frame(
            conn,
            sa.select(
                gift_options.c.process_id,
                gift_options.c.gift_id,
                gifts.c.name.label("gift_name"),
                gift_options.c.category,
                gift_options.c.price_cents,
                gift_options.c.affinity,
            )
            .join(gifts, gifts.c.id == gift_options.c.gift_id)
            .where(gift_options.c.process_id.in_(chunk)),
        )
        for chunk in chunks(process_ids)
    ]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(
            columns=["process_id", "gift_id", "gift_name", "category", "price_cents", "affinity"]
        )
    return pd.concat(frames, ignore_index=True)


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
    frames = [
        read_frame(
            conn,
            sa.select(rd, gifts.c.name.label("gift_name"), gifts.c.category, gifts.c.price_cents)
            .join(gifts, gifts.c.id == rd.c.gift_id)
            .where(rd.c.process_id.in_(chunk)),
        )
        for chunk in chunks(process_ids)
    ]
    frames = [f for f in frames if not f.empty]
    if not frames:
        columns = [*(c.name for c in rd.columns), "gift_name", "category", "price_cents"]
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)

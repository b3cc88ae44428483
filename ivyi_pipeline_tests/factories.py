"""Test data builders: insert one row with sensible defaults and return its id."""

import datetime as dt
import threading
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from ivyi_pipeline.db.schema import (
    gift_processes,
    gifts,
    inbox_events,
    occasions,
    preferences,
    relationships,
    users,
)
from ivyi_pipeline.domain.occurrences import occurrences_between
from ivyi_pipeline.domain.states import (
    GIFT_PROCESS_TRANSITIONS,
    GiftProcessStatus,
    edges_between,
)
from ivyi_pipeline.workflows.gifting_process.create import Occurrence, create_processes
from ivyi_pipeline.workflows.gifting_process.update import transition

AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
"""The default instant at which factory rows are created and moved."""

DEFAULT_OCCASION_DATE = dt.date(1990, 6, 15)


def new_id() -> str:
    """A fresh random id in the schema's 36-character form."""
    return str(uuid.uuid4())


def _insert(engine: sa.Engine, table: sa.Table, row: dict) -> None:
    with engine.begin() as conn:
        conn.execute(table.insert(), row)


def make_user(engine: sa.Engine, **overrides) -> str:
    """Insert a user; return its id."""
    user_id = overrides.pop("id", None) or new_id()
    row = {"id": user_id, "name": "Test User", "email": f"user-{user_id[:8]}@example.test"}
    _insert(engine, users, {**row, **overrides})
    return user_id


def make_relationship(
    engine: sa.Engine,
    giver_id: str | None = None,
    recipient_id: str | None = None,
    depth: str = "FRIEND",
    budget_cents: int = 5000,
    **overrides,
) -> str:
    """Insert a relationship, creating the giver and the recipient when not given; return its id."""
    rel_id = overrides.pop("id", None) or new_id()
    row = {
        "id": rel_id,
        "giver_id": giver_id or make_user(engine, name="Test Giver"),
        "recipient_id": recipient_id or make_user(engine, name="Test Recipient"),
        "depth": depth,
        "budget_cents": budget_cents,
    }
    _insert(engine, relationships, {**row, **overrides})
    return rel_id


def make_occasion(
    engine: sa.Engine,
    relationship_id: str | None = None,
    recipient_id: str | None = None,
    kind: str = "BIRTHDAY",
    date: dt.date = DEFAULT_OCCASION_DATE,
    recurs_yearly: bool = True,
    id: str | None = None,
    **overrides,
) -> str:
    """Insert an occasion with month_day filled in; create its relationship when not given."""
    if relationship_id is None:
        relationship_id = make_relationship(engine, recipient_id=recipient_id)
    if recipient_id is None:
        with engine.connect() as conn:
            recipient_id = conn.execute(
                sa.select(relationships.c.recipient_id).where(relationships.c.id == relationship_id)
            ).scalar_one()
    occasion_id = id or new_id()
    row = {
        "id": occasion_id,
        "relationship_id": relationship_id,
        "recipient_id": recipient_id,
        "kind": kind,
        "date": date,
        "recurs_yearly": recurs_yearly,
        "month_day": date.month * 100 + date.day,
    }
    _insert(engine, occasions, {**row, **overrides})
    return occasion_id


def make_gift(
    engine: sa.Engine,
    category: str = "books",
    price_cents: int = 2500,
    in_stock: bool = True,
    tags: str = "",
    **overrides,
) -> str:
    """Insert a catalogue gift; return its id."""
    gift_id = overrides.pop("id", None) or new_id()
    row = {
        "id": gift_id,
        "name": f"Test {category} gift",
        "category": category,
        "price_cents": price_cents,
        "in_stock": in_stock,
        "tags": tags,
    }
    _insert(engine, gifts, {**row, **overrides})
    return gift_id


def make_preference(
    engine: sa.Engine,
    user_id: str | None = None,
    category: str = "books",
    affinity: float = 0.5,
) -> tuple[str, str]:
    """Insert a classifier preference, creating the user when not given; return its key."""
    user_id = user_id or make_user(engine)
    _insert(engine, preferences, {"user_id": user_id, "category": category, "affinity": affinity})
    return user_id, category


def occurrence_of(engine: sa.Engine, occasion_id: str, occurrence_date: dt.date | None = None):
    """The Occurrence of a stored occasion on occurrence_date (default: the occasion's date)."""
    with engine.connect() as conn:
        occ = conn.execute(sa.select(occasions).where(occasions.c.id == occasion_id)).one()
    return Occurrence(
        occasion_id=occ.id,
        occurrence_date=occurrence_date or occ.date,
        recipient_id=occ.recipient_id,
        relationship_id=occ.relationship_id,
    )


def path_to(status: str) -> list[GiftProcessStatus]:
    """The shortest list of statuses a new process moves through to reach status."""
    goal = GiftProcessStatus(status)
    paths = deque([[GiftProcessStatus.CREATED]])
    while paths:
        path = paths.popleft()
        if path[-1] == goal:
            return path
        paths.extend(path + [nxt] for nxt in GIFT_PROCESS_TRANSITIONS[path[-1]])
    raise ValueError(f"{goal} cannot be reached from CREATED")


def make_process(
    engine: sa.Engine,
    occasion_id: str | None = None,
    occurrence_date: dt.date | None = None,
    status: str = "CREATED",
    at: dt.datetime = AT,
    belated: bool = False,
) -> str:
    """Create a process with create_processes and walk it, with history, to status: each move
    along the step table's first edge between the two statuses (its event and reason).

    Its occurrence defaults to the occasion's next one on or after `at` (a yearly occasion
    dated in 1990 is gifted this year, not 36 years late, which the belated rule refuses).
    """
    occasion_id = occasion_id or make_occasion(engine)
    occurrence = occurrence_of(engine, occasion_id, occurrence_date)
    if occurrence_date is None:
        upcoming = occurrences_between(
            occurrence.occurrence_date, True, at.date(), at.date() + dt.timedelta(days=366)
        )
        with engine.connect() as conn:
            yearly = conn.execute(
                sa.select(occasions.c.recurs_yearly).where(occasions.c.id == occasion_id)
            ).scalar()
        if yearly and occurrence.occurrence_date < at.date():
            occurrence = occurrence_of(engine, occasion_id, upcoming[0])
    (process_id,) = create_processes(engine, [occurrence], at, belated=belated)
    path = path_to(status)
    with engine.begin() as conn:
        for current, target in zip(path, path[1:], strict=False):
            edge = edges_between(current, target)[0]
            transition(conn, process_id, current, target, edge.event.value, at, edge.reason)
    return process_id


def make_new_process(
    engine: sa.Engine, occurrence_date: dt.date, at: dt.datetime = AT, **relationship
) -> str:
    """A CREATED process for a one-off occasion of a new recipient who likes games (0.9).

    `relationship` overrides the relationship's columns (budget_cents, depth, ...).
    """
    recipient = make_user(engine)
    make_preference(engine, recipient, "games", 0.9)
    rel = make_relationship(engine, recipient_id=recipient, **relationship)
    occasion_id = make_occasion(
        engine, relationship_id=rel, date=occurrence_date, recurs_yearly=False
    )
    return make_process(engine, occasion_id, at=at)


def make_confirmation(
    engine: sa.Engine,
    process_id: str,
    gift_id: str,
    received_at: dt.datetime,
    processed_at: dt.datetime | None = None,
) -> None:
    """Insert the giver's confirmation of gift_id into the process's inbox (naive UTC times)."""
    row = {
        "process_id": process_id,
        "kind": "CONFIRMATION",
        "gift_id": gift_id,
        "received_at": received_at,
        "processed_at": processed_at,
    }
    _insert(engine, inbox_events, row)


def process_status(engine: sa.Engine, process_id: str) -> str | None:
    """The stored status of a process, None when it does not exist."""
    with engine.connect() as conn:
        return conn.execute(
            sa.select(gift_processes.c.status).where(gift_processes.c.id == process_id)
        ).scalar()


def race(workers: int, fn: Callable[[int], object], timeout: float = 60) -> list[object]:
    """Run fn(i) in `workers` threads released together; return each result or exception."""
    barrier = threading.Barrier(workers, timeout=timeout)

    def run(i: int) -> object:
        barrier.wait()
        try:
            return fn(i)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run, i) for i in range(workers)]
        return [f.result(timeout=timeout) for f in futures]

"""The relational schema of users, relationships, occasions, gifts and gift processes."""

import sqlalchemy as sa

from ivyi_pipeline.domain.enums import (
    GiftIntent,
    GiftProcessStep,
    InboxKind,
    OccasionKind,
    RelationshipDepth,
    SignalIntensity,
)
from ivyi_pipeline.domain.states import GiftProcessStatus

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = sa.String(36)


def _enum(enum_cls, name: str) -> sa.Enum:
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


def _now() -> sa.TextClause:
    return sa.text("CURRENT_TIMESTAMP")


users = sa.Table(
    "users",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False, server_default=_now()),
)

relationships = sa.Table(
    "relationships",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("giver_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("recipient_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("depth", _enum(RelationshipDepth, "relationship_depth"), nullable=False),
    sa.Column("budget_cents", sa.BigInteger, nullable=False),
    sa.Column("deleted_at", sa.DateTime, nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False, server_default=_now()),
    sa.CheckConstraint("budget_cents > 0", name="budget_positive"),
    sa.Index(None, "giver_id"),
    sa.Index(None, "recipient_id"),
)

occasions = sa.Table(
    "occasions",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column(
        "relationship_id",
        ID,
        sa.ForeignKey("relationships.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("recipient_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", _enum(OccasionKind, "occasion_kind"), nullable=False),
    sa.Column("date", sa.Date, nullable=False),
    sa.Column("recurs_yearly", sa.Boolean, nullable=False),
    # MMDD of the date: yearly occurrences are found by an indexed range on it.
    sa.Column("month_day", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False, server_default=_now()),
    sa.Index(None, "recurs_yearly", "month_day"),
    sa.Index(None, "date"),
    sa.Index(None, "created_at"),
    sa.Index(None, "relationship_id"),
)

gifts = sa.Table(
    "gifts",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("price_cents", sa.BigInteger, nullable=False),
    sa.Column("tags", sa.Text, nullable=False, server_default=""),
    sa.Column("in_stock", sa.Boolean, nullable=False),
    sa.CheckConstraint("price_cents > 0", name="price_positive"),
    sa.Index(None, "in_stock", "price_cents"),
    sa.Index(None, "category"),
)

preferences = sa.Table(
    "classifier_preferences",
    metadata,
    sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("category", sa.String(64), primary_key=True),
    sa.Column("affinity", sa.Float, nullable=False),
    sa.CheckConstraint("affinity >= 0 AND affinity <= 1", name="affinity_unit"),
)

gift_processes = sa.Table(
    "gift_processes",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("occasion_id", sa.String(100), sa.ForeignKey("occasions.id"), nullable=False),
    sa.Column("occurrence_date", sa.Date, nullable=False),
    sa.Column(
        "status",
        _enum(GiftProcessStatus, "gift_process_status"),
        nullable=False,
        server_default=GiftProcessStatus.CREATED.value,
    ),
    sa.Column("selected_gift_id", ID, sa.ForeignKey("gifts.id"), nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False, server_default=_now()),
    sa.Column("updated_at", sa.DateTime, nullable=False, server_default=_now()),
    sa.Column("recipient_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column(
        "current_step",
        _enum(GiftProcessStep, "gift_process_step"),
        nullable=False,
        server_default=GiftProcessStep.INTENT_LEVEL_1.value,
    ),
    sa.Column(
        "relationship_id",
        ID,
        sa.ForeignKey("relationships.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("intent", _enum(GiftIntent, "gift_intent"), nullable=True),
    sa.Column(
        "relationship_depth_override",
        _enum(RelationshipDepth, "gift_relationship_depth"),
        nullable=True,
    ),
    sa.Column("signal_intensity", _enum(SignalIntensity, "gift_signal_intensity"), nullable=True),
    sa.Column("belated", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("window_opens_at", sa.DateTime, nullable=True),
    sa.Column("window_closes_at", sa.DateTime, nullable=True),
    sa.Column("blocked_reason", sa.Text, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.UniqueConstraint("occasion_id", "occurrence_date"),
    sa.Index(None, "status", "window_closes_at"),
    sa.Index(None, "status", "updated_at"),
    sa.Index(None, "occurrence_date"),
    sa.Index(None, "recipient_id"),
    sa.Index(None, "relationship_id"),
)

gift_options = sa.Table(
    "gift_options",
    metadata,
    sa.Column(
        "process_id",
        ID,
        sa.ForeignKey("gift_processes.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("gift_id", ID, sa.ForeignKey("gifts.id"), primary_key=True),
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("price_cents", sa.BigInteger, nullable=False),
    sa.Column("affinity", sa.Float, nullable=False),
)

ranked_decisions = sa.Table(
    "ranked_decisions",
    metadata,
    sa.Column(
        "process_id",
        ID,
        sa.ForeignKey("gift_processes.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("rank", sa.Integer, primary_key=True),
    sa.Column("gift_id", ID, sa.ForeignKey("gifts.id"), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("affinity_score", sa.Float, nullable=False),
    sa.Column("price_fit", sa.Float, nullable=False),
    sa.Column("occasion_fit", sa.Float, nullable=False),
    sa.Column("novelty", sa.Float, nullable=False),
    sa.UniqueConstraint("process_id", "gift_id"),
)

process_transitions = sa.Table(
    "process_transitions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "process_id",
        ID,
        sa.ForeignKey("gift_processes.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("from_status", _enum(GiftProcessStatus, "transition_from"), nullable=True),
    sa.Column("to_status", _enum(GiftProcessStatus, "transition_to"), nullable=False),
    sa.Column("event", sa.String(64), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("at", sa.DateTime, nullable=False),
    # The state machine is acyclic, so a process enters each state at most once.
    sa.UniqueConstraint("process_id", "to_status"),
    sa.Index(None, "to_status", "at"),
)

inbox_events = sa.Table(
    "inbox_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "process_id",
        ID,
        sa.ForeignKey("gift_processes.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("kind", _enum(InboxKind, "inbox_kind"), nullable=False),
    sa.Column("gift_id", ID, sa.ForeignKey("gifts.id"), nullable=True),
    sa.Column("received_at", sa.DateTime, nullable=False),
    sa.Column("processed_at", sa.DateTime, nullable=True),
    sa.Column("outcome", sa.Text, nullable=True),
    sa.UniqueConstraint("process_id", "kind"),
    sa.Index(None, "processed_at", "id"),
)

orders = sa.Table(
    "orders",
    metadata,
    sa.Column(
        "process_id",
        ID,
        sa.ForeignKey("gift_processes.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("gift_id", ID, sa.ForeignKey("gifts.id"), nullable=False),
    sa.Column("idempotency_key", sa.String(100), nullable=False, unique=True),
    sa.Column("provider_order_id", sa.String(100), nullable=False),
    sa.Column("price_cents", sa.BigInteger, nullable=False),
    sa.Column("placed_at", sa.DateTime, nullable=False),
    sa.Column("shipped_at", sa.DateTime, nullable=True),
    sa.Column("delivered_at", sa.DateTime, nullable=True),
)

simulated_provider_orders = sa.Table(
    "simulated_provider_orders",
    metadata,
    sa.Column("idempotency_key", sa.String(100), primary_key=True),
    sa.Column("provider_order_id", sa.String(100), nullable=False, unique=True),
    sa.Column("gift_id", ID, nullable=False),
    sa.Column("placed_at", sa.DateTime, nullable=False),
)

# Small named facts the pipeline keeps about itself in the domain database (the one truth):
# the local driver's sensor cursors and last tick, where the data set came from (the demo or
# a load). Dagster's instance never holds the only copy of any of them.
pipeline_state = sa.Table(
    "pipeline_state",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

# The first answer of every POST the HTTP API handled, keyed by its Idempotency-Key and
# written in the transaction of the request's own write, so a retry replays it.
api_idempotency = sa.Table(
    "api_idempotency",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("response_body", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Index(None, "created_at"),
)

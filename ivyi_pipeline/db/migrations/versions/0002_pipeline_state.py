"""pipeline state: small named facts the pipeline keeps about itself

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 13:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pipeline_state",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_pipeline_state")),
    )


def downgrade() -> None:
    op.drop_table("pipeline_state")

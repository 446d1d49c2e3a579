"""Initial schema: api_keys, messages, feedback, incidents.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("scopes", sa.String(200), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ, nullable=True),
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant", sa.String(100), nullable=False),
        sa.Column("customer_id", sa.String(200), nullable=True),
        sa.Column("ticket_id", sa.String(200), nullable=True),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("scores", sa.Text, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("text_redacted", sa.Text, nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
        sa.Column("duplicate_of", sa.String(36), nullable=True),
        sa.Column("repeat_count", sa.Integer, nullable=False),
        sa.Column("incident_id", sa.String(36), nullable=True),
        sa.Column("uncertainty", sa.Float, nullable=False),
    )
    op.create_index("ix_messages_customer", "messages", ["tenant", "customer_id", "status", "received_at"])
    op.create_index("ix_messages_tenant_time", "messages", ["tenant", "received_at"])
    op.create_index("ix_messages_ticket", "messages", ["tenant", "ticket_id"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant", sa.String(100), nullable=False),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("agent_id", sa.String(200), nullable=False),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("tenant", "message_id", "agent_id", name="uq_feedback_message_agent"),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant", sa.String(100), nullable=False),
        sa.Column("first_seen", TZ, nullable=False),
        sa.Column("last_seen", TZ, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("customers", sa.Text, nullable=False),
        sa.Column("top_terms", sa.Text, nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
    )
    op.create_index("ix_incidents_tenant_time", "incidents", ["tenant", "last_seen"])


def downgrade() -> None:
    for name in ("incidents", "feedback", "messages", "api_keys"):
        op.drop_table(name)

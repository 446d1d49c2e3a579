"""Table definitions (SQLAlchemy Core). Migrations in migrations/versions create exactly these."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

metadata = MetaData()

api_keys = Table(
    "api_keys", metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant", String(100), nullable=False),
    Column("name", String(200), nullable=False, default=""),
    Column("prefix", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("scopes", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

messages = Table(
    "messages", metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant", String(100), nullable=False),
    Column("customer_id", String(200), nullable=True),
    Column("ticket_id", String(200), nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("language", String(8), nullable=False, default="und"),
    Column("labels", Text, nullable=False, default="[]"),
    Column("scores", Text, nullable=False, default="{}"),
    Column("status", String(10), nullable=False, default="open"),
    Column("text_redacted", Text, nullable=False, default=""),
    Column("signature", Text, nullable=False, default=""),
    Column("duplicate_of", String(36), nullable=True),
    Column("repeat_count", Integer, nullable=False, default=0),
    Column("incident_id", String(36), nullable=True),
    Column("uncertainty", Float, nullable=False, default=1.0),
    Index("ix_messages_customer", "tenant", "customer_id", "status", "received_at"),
    Index("ix_messages_tenant_time", "tenant", "received_at"),
    Index("ix_messages_ticket", "tenant", "ticket_id"),
)

feedback = Table(
    "feedback", metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant", String(100), nullable=False),
    Column("message_id", String(36), nullable=False),
    Column("agent_id", String(200), nullable=False, default=""),
    Column("labels", Text, nullable=False),
    Column("note", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tenant", "message_id", "agent_id", name="uq_feedback_message_agent"),
)

incidents = Table(
    "incidents", metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant", String(100), nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("size", Integer, nullable=False, default=1),
    Column("customers", Text, nullable=False, default="[]"),
    Column("top_terms", Text, nullable=False, default="[]"),
    Column("signature", Text, nullable=False, default=""),
    Index("ix_incidents_tenant_time", "tenant", "last_seen"),
)

"""Persistence: API keys, stored messages (redacted) for duplicate detection, feedback, incidents.

One SQLAlchemy 2 Core code path for SQLite (default, WAL) and PostgreSQL; schema via Alembic migrations.
"""

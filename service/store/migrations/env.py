"""Alembic environment: runs migrations on the connection handed over by service.store.db.upgrade."""

from alembic import context

from service.store.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `triage db upgrade` (service.store.db.upgrade)")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

"""Alembic environment: always handed a live connection by mlradar._storage._engine."""

from alembic import context

from mlradar._storage.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

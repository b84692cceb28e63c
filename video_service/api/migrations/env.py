"""Alembic's entry point: the migrations run on the connection `db.migrate` hands over (it
holds the lock that lets several processes start at once)."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()

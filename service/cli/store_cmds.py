"""Store commands: API keys, database migrations, retention."""

from __future__ import annotations

import typer
from rich.table import Table

from service.cli._common import console, handle_errors, stdout_write

keys_app = typer.Typer(help="API keys: create, list, revoke (stored hashed).", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
store_app = typer.Typer(help="Stored messages.", no_args_is_help=True)


def _store():
    from service.settings import get_settings
    from service.store.repo import Store

    return Store(get_settings().db_url)


@keys_app.command("create")
@handle_errors
def keys_create(tenant: str = typer.Option(..., help="Tenant the key belongs to; everything it stores is scoped to it."),
                scope: str = typer.Option("classify", help="Comma-separated scopes: classify, feedback, admin."),
                name: str = typer.Option("", help="A note to recognise the key by.")) -> None:
    """Create a key; it is printed once on standard output and only its hash is stored."""
    key_id, key = _store().create_key(tenant, [s.strip() for s in scope.split(",") if s.strip()], name)
    console.print(f"created key {key_id} for tenant {tenant!r} (scopes: {scope}); store it now, it is not shown again")
    stdout_write(key + "\n")


@keys_app.command("list")
@handle_errors
def keys_list() -> None:
    """List keys (prefix, tenant, scopes, created, revoked) without secrets."""
    table = Table()
    for col in ["id", "prefix", "tenant", "scopes", "name", "created", "revoked"]:
        table.add_column(col)
    for k in _store().list_keys():
        table.add_row(k["id"], k["prefix"], k["tenant"], k["scopes"], k["name"], str(k["created_at"])[:19], str(k["revoked_at"] or "")[:19])
    console.print(table)


@keys_app.command("revoke")
@handle_errors
def keys_revoke(key: str = typer.Argument(..., help="Key id or prefix.")) -> None:
    """Revoke a key (takes effect in running services within 30 seconds)."""
    from service.errors import NotFoundError

    if _store().revoke_key(key) == 0:
        raise NotFoundError(f"no active key with id or prefix {key!r}")
    console.print(f"revoked {key}")


@db_app.command("upgrade")
@handle_errors
def db_upgrade() -> None:
    """Apply database migrations (the service also does this at start-up)."""
    from service.settings import get_settings

    store = _store()
    console.print(f"database at {get_settings().db_url.split('@')[-1]} is up to date")
    store.close()


@store_app.command("prune")
@handle_errors
def store_prune(days: int | None = typer.Option(None, help="Delete messages older than this (default TRIAGE_RETENTION_DAYS).")) -> None:
    """Delete stored messages past the retention period."""
    from service.settings import get_settings

    days = days if days is not None else get_settings().retention_days
    console.print(f"deleted {_store().prune(days)} messages older than {days} days")

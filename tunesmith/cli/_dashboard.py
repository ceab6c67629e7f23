"""``tunesmith dashboard``: serve the live web dashboard of a storage (read-only unless --allow-writes)."""

from __future__ import annotations

import ipaddress
import secrets

import click

from tunesmith.cli._open import command_storage_option, open_storage, storage_url

__all__ = ["dashboard_command"]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command("dashboard")
@command_storage_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="Port to listen on.")
@click.option("--base-url", default="", metavar="/PREFIX", help="Path prefix when served behind a proxy.")
@click.option(
    "--token", default=None, envvar="TUNESMITH_DASHBOARD_TOKEN",
    help="Require this token (generated and printed when listening beyond loopback without one).",
)
@click.option("--allow-writes", is_flag=True, help="Let the dashboard change studies (notes, delete).")
@click.pass_context
def dashboard_command(
    ctx: click.Context, storage: str | None, host: str, port: int, base_url: str, token: str | None,
    allow_writes: bool,
) -> None:
    """Serve a live web dashboard of the storage's studies; open the URL it prints.

    The storage is opened read-only unless --allow-writes. Bound to anything but
    loopback, the dashboard needs a token: one is generated and printed if none is given.
    """
    try:
        from tunesmith.dashboard import create_app
        from tunesmith.dashboard._server import DashboardServer, server_config
    except ImportError as e:
        raise click.ClickException(str(e)) from e
    url = storage_url(ctx, storage)
    store = open_storage(url, read_only=not allow_writes)
    if token is None and not _is_loopback(host):
        token = secrets.token_urlsafe(24)
        click.echo(f"Listening on {host}, beyond this machine: access needs the token {token}")
    try:
        app = create_app(store, base_url=base_url, token=token, allow_writes=allow_writes)
    except ValueError as e:
        raise click.UsageError(str(e)) from e
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    shown = f"[{shown}]" if ":" in shown else shown
    base = app.openapi_url[: -len("/openapi.json")]
    click.echo(f"tunesmith dashboard of {url} ({'read-write' if allow_writes else 'read-only'})")
    click.echo(f"Open http://{shown}:{port}{base}/{'?token=' + token if token else ''}")
    DashboardServer(server_config(app, host, port)).run()

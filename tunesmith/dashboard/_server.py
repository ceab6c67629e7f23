"""Serving the dashboard with uvicorn: :func:`run_server`; :class:`DashboardServer` ends event streams first."""

from __future__ import annotations

from typing import Any

import uvicorn

from tunesmith.dashboard._app import create_app
from tunesmith.storage import Storage

__all__ = ["DashboardServer", "run_server", "server_config"]


class DashboardServer(uvicorn.Server):
    """A uvicorn server that ends the app's open event streams when it stops, so shutdown never waits on them."""

    async def shutdown(self, sockets: Any = None) -> None:
        app = self.config.loaded_app
        while app is not None and not hasattr(app, "state"):  # unwrap uvicorn's middleware
            app = getattr(app, "app", None)
        if app is not None:
            await app.state.dashboard.events.close()
        await super().shutdown(sockets)


def server_config(app: Any, host: str, port: int, **options: Any) -> uvicorn.Config:
    """uvicorn's configuration for the dashboard (no access log: the pages poll; shutdown bounded)."""
    options.setdefault("log_level", "warning")
    return uvicorn.Config(app, host=host, port=port, access_log=False, timeout_graceful_shutdown=5, **options)


def run_server(
    storage: Storage | str, host: str = "127.0.0.1", port: int = 8080, base_url: str = "",
    token: str | None = None, allow_writes: bool = False,
) -> None:
    """Serve the dashboard of ``storage`` until interrupted (see :func:`create_app` for the arguments).

    >>> run_server("sqlite:///tunesmith.db", port=8080)  # doctest: +SKIP
    """
    app = create_app(storage, base_url=base_url, token=token, allow_writes=allow_writes)
    DashboardServer(server_config(app, host, port, log_level="info")).run()

"""One local Prefect server per state directory, started on first use and reused.

Without ``PREFECT_API_URL`` Prefect starts a temporary server inside every process that runs
a flow (17-25 s on a small machine, each time). rodrunner instead starts one server process
under ``<daemon.state_dir>/prefect-server`` the first time a command needs it and reuses it
afterwards: its database (the record of every flow run) stays there.

- :mod:`rodrunner.localprefect.control`: find, start, lease, stop (the client side).
- :mod:`rodrunner.localprefect.server`: the server process (``python -m rodrunner.localprefect``):
  Prefect's API with the services rodrunner does not use turned off, which exits
  ``prefect.idle_timeout`` seconds after its last client has gone.

``rodrunner prefect-server status|stop`` reads and stops it.
"""

from __future__ import annotations

from rodrunner.localprefect.control import (
    LocalServer,
    ensure_local_prefect,
    release_lease,
    server_dir,
    server_status,
    stop_server,
)

__all__ = [
    "LocalServer",
    "ensure_local_prefect",
    "release_lease",
    "server_dir",
    "server_status",
    "stop_server",
]

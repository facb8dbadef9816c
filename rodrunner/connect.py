"""The iRODS client for a configuration: the configured server, or the sandbox started for it.

Every entry point that opens iRODS from a configuration (the commands, the flows, the daemon,
the API) calls :func:`open_irods`. With ``irods.sandbox: DIR`` it first starts, or joins, the
in-process sandbox serving DIR (:func:`rodrunner.sandbox.shared_sandbox`: one server per
directory and process, the last client out stops it) and logs in there with ``irods.zone``,
``irods.user`` and ``irods.password`` (``rods`` when unset); otherwise it is
``iRODSClient(config)``. The iRODS client itself never starts a sandbox.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING

from rodrunner.config import IRODSConfig
from rodrunner.irods.client import iRODSClient

if TYPE_CHECKING:
    from rodrunner.sandbox import SandboxInfo

__all__ = ["SANDBOX_PASSWORD", "open_irods", "sandbox_login"]

SANDBOX_PASSWORD = "rods"  # noqa: S105  (the documented sandbox default)


def open_irods(config: IRODSConfig) -> iRODSClient:
    """An open :class:`iRODSClient` for ``config`` (close it, or use it as a context manager);
    the sandbox of ``irods.sandbox`` runs until the client is closed."""
    if config.sandbox is None:
        return iRODSClient(config)
    from rodrunner.sandbox import shared_sandbox  # only when asked for: it is a server

    stack = ExitStack()
    try:
        info = stack.enter_context(
            shared_sandbox(
                config.sandbox,
                zone=config.zone,
                user=config.user,
                password=_password(config),
                hash=config.sandbox_hash_scheme,
            )
        )
        return iRODSClient(sandbox_login(config, info), on_close=stack.close)
    except BaseException:
        stack.close()
        raise


def sandbox_login(config: IRODSConfig, info: SandboxInfo) -> IRODSConfig:
    """``config`` aimed at the running sandbox ``info`` (pure): its address and account, the
    configuration's resource, checksum scheme and transfer settings; no sandbox, no
    environment file."""
    return config.model_copy(
        update={
            "host": info.host,
            "port": info.port,
            "zone": info.zone,
            "user": info.user,
            "password": info.password,
            "sandbox": None,
            "env_file": None,
        }
    )


def _password(config: IRODSConfig) -> str:
    return config.password.get_secret_value() if config.password else SANDBOX_PASSWORD

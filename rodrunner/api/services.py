"""The clients the API's routes share, opened and closed by the app's lifespan."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from rodrunner.config import AppConfig
from rodrunner.connect import open_irods
from rodrunner.errors import IRODSError, RodrunnerError, TransientIRODSError
from rodrunner.flowruns.launcher import FlowLauncher
from rodrunner.irods.client import iRODSClient
from rodrunner.ledger.connection import ledger_file
from rodrunner.ledger.store import Ledger

__all__ = ["Services"]

log = structlog.get_logger()


@dataclass
class Services:
    """The configuration and the clients; iRODS is (re)connected on demand."""

    config: AppConfig
    launcher: FlowLauncher
    _irods: iRODSClient | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, config: AppConfig) -> Services:
        """Everything the routes need; an unreachable iRODS is reported later, not fatal here."""
        services = cls(config, FlowLauncher(config))
        try:
            services.irods()
        except RodrunnerError as exc:
            log.warning("api.irods_unavailable", error=str(exc))
        return services

    @property
    def ledger_path(self) -> Path:
        """Where the daemon's ledger is (or would be): ``daemon.state_dir/ledger.sqlite3``."""
        return ledger_file(self.config.daemon.state_dir)

    def read_ledger(self) -> Ledger:
        """The daemon's ledger, opened read-only for one request (close it after).

        Raises :class:`~rodrunner.errors.LedgerUnavailableError` when the daemon never ran.
        """
        return Ledger.open_read_only(self.config.daemon.state_dir)

    def write_ledger(self) -> Ledger:
        """The daemon's ledger, opened read-write for the operator's retry (close it after);
        never created here."""
        return Ledger.open(self.config.daemon.state_dir, create=False)

    def irods(self) -> iRODSClient:
        """The shared iRODS client, opened now if it is not yet (or was dropped)."""
        with self._lock:
            if self._irods is None:
                self._irods = open_irods(self.config.irods)
            return self._irods

    def drop_irods(self, exc: IRODSError) -> None:
        """Forget the client after a transient failure: the next call connects afresh."""
        if not isinstance(exc, TransientIRODSError) or self.config.irods.sandbox is not None:
            return  # an embedded sandbox lives as long as its client: keep it
        with self._lock:
            client, self._irods = self._irods, None
        if client is not None:
            client.close()

    def close(self) -> None:
        """Close in reverse order of opening."""
        with self._lock:
            client, self._irods = self._irods, None
        self.launcher.close()
        if client is not None:
            client.close()

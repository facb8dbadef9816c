"""The iRODS sandbox: a small iRODS-protocol server for trials and tests, not for production.

It speaks the XML protocol python-irodsclient 3.3 uses, keeps data in ``<root>/vault`` and its
catalog in ``<root>/catalog.sqlite``. In-process use::

    with run_sandbox(tmp_path) as info:
        session = iRODSSession(host=info.host, port=info.port, user=info.user,
                               password=info.password.get_secret_value(), zone=info.zone)

``resources=("secondResc",)`` adds resources besides ``demoResc``, each with its own vault
under ``<root>/resources/``, for replicas. ``Sandbox`` is the same as an object (``start()``,
``stop()``, ``faults``, ``restart()``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from rodrunner.errors import ConfigError

# Handler modules register their APIs on import.
from rodrunner.sandbox import (  # noqa: F401  (registers handlers)
    admin,
    checksums,
    colls,
    dataobjects,
    genquery,
    hints,
    metadata,
    namespace,
    put,
    replicas,
    server,
)
from rodrunner.sandbox.dispatch import Settings
from rodrunner.sandbox.faults import Faults
from rodrunner.sandbox.limits import Limits

__all__ = ["Faults", "Sandbox", "SandboxInfo", "run_sandbox", "shared_sandbox"]


@dataclass(frozen=True)
class SandboxInfo:
    """How to reach a running sandbox."""

    host: str
    port: int
    zone: str
    user: str
    password: SecretStr
    root: Path
    faults: Faults = field(default_factory=Faults, compare=False, repr=False)


class Sandbox:
    """One sandbox server; ``start()`` listens in a background thread, ``stop()`` ends it."""

    def __init__(
        self,
        root: Path | str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        zone: str = "tempZone",
        user: str = "rods",
        password: str = "rods",  # noqa: S107  (the documented sandbox default)
        hash: str = "sha256",
        tls_cert: Path | str | None = None,
        tls_key: Path | str | None = None,
        resources: Sequence[str] = (),
        limits: Limits | None = None,
    ) -> None:
        if hash not in ("sha256", "md5"):
            raise ValueError(f"sandbox hash must be 'sha256' or 'md5', not {hash!r}")
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("give both tls_cert and tls_key, or neither")
        settings = Settings(
            root=Path(root),
            zone=zone,
            user=user,
            password=password,
            hash=hash,
            resources=tuple(resources),
            tls_cert=Path(tls_cert) if tls_cert is not None else None,
            tls_key=Path(tls_key) if tls_key is not None else None,
            limits=limits if limits is not None else Limits(),
        )
        self.hash = hash
        self._server = server.Server(settings, host=host, port=port)
        self.info = SandboxInfo(
            host=self._server.host,
            port=self._server.port,
            zone=zone,
            user=user,
            password=SecretStr(password),
            root=Path(root),
            faults=self._server.faults,
        )

    @property
    def faults(self) -> Faults:
        """The fault knobs of this sandbox (all off by default)."""
        return self._server.faults

    def start(self) -> SandboxInfo:
        """Start serving; returns the connection settings."""
        self._server.start()
        return self.info

    def restart(self) -> None:
        """Close every client connection, as a server restart would."""
        self._server.close_connections()

    def stop(self) -> None:
        """Stop serving and release the port, the threads and the catalog."""
        self._server.stop()


@contextmanager
def run_sandbox(
    root: Path | str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    zone: str = "tempZone",
    user: str = "rods",
    password: str = "rods",  # noqa: S107  (the documented sandbox default)
    hash: str = "sha256",
    tls_cert: Path | str | None = None,
    tls_key: Path | str | None = None,
    resources: Sequence[str] = (),
) -> Iterator[SandboxInfo]:
    """Run a sandbox in a thread for the duration of the ``with`` block."""
    sandbox = Sandbox(
        root,
        host=host,
        port=port,
        zone=zone,
        user=user,
        password=password,
        hash=hash,
        tls_cert=tls_cert,
        tls_key=tls_key,
        resources=resources,
    )
    sandbox.start()
    try:
        yield sandbox.info
    finally:
        sandbox.stop()


_shared_lock = threading.Lock()
_shared: dict[Path, tuple[Sandbox, int]] = {}


@contextmanager
def shared_sandbox(
    root: Path | str,
    *,
    zone: str = "tempZone",
    user: str = "rods",
    password: str = "rods",  # noqa: S107  (the documented sandbox default)
    hash: str = "sha256",
) -> Iterator[SandboxInfo]:
    """The one in-process sandbox serving ``root``, shared by every caller in this process.

    ``irods.sandbox: DIR`` makes each iRODS client of a process (the daemon runs several
    ingests at once) ask for the sandbox of DIR: the first starts it, the last one out stops
    it, and no two servers ever share one catalog and vault.
    """
    key = Path(root).resolve()
    with _shared_lock:
        entry = _shared.get(key)
        if entry is None:
            sandbox = Sandbox(key, zone=zone, user=user, password=password, hash=hash)
            sandbox.start()
        else:
            sandbox = entry[0]
            if sandbox.hash != hash:
                raise ConfigError(
                    f"the sandbox in '{key}' already runs with checksum scheme "
                    f"{sandbox.hash} in this process, not {hash}; give every configuration of "
                    "one process the same irods.sandbox_hash_scheme, or another irods.sandbox",
                    key="irods.sandbox_hash_scheme",
                )
            if (sandbox.info.zone, sandbox.info.user) != (zone, user):
                raise ConfigError(
                    f"the sandbox in '{key}' already runs for {sandbox.info.user}#"
                    f"{sandbox.info.zone} in this process, not {user}#{zone}; give every "
                    "configuration of one process the same irods.zone and irods.user, or "
                    "another irods.sandbox directory",
                    key="irods.sandbox",
                )
        _shared[key] = (sandbox, (entry[1] if entry else 0) + 1)
    try:
        yield sandbox.info
    finally:
        with _shared_lock:
            sandbox, count = _shared[key]
            if count > 1:
                _shared[key] = (sandbox, count - 1)
            else:
                del _shared[key]
                sandbox.stop()

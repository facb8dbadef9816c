"""Fixtures of the reliability suite: one real Prefect server per session, a share per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from irods.session import iRODSSession

from rodrunner.sandbox import SandboxInfo
from tests.reliability.harness import PrefectServer, Share


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """``prefect server start`` for the whole session; daemons reach it by PREFECT_API_URL."""
    server = PrefectServer(tmp_path_factory.mktemp("prefect-server"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def share(
    tmp_path: Path,
    irods_sandbox: SandboxInfo,
    irods_session: iRODSSession,
    prefect_server: PrefectServer,
) -> Iterator[Share]:
    """A sequencer share, a fresh sandbox, the session's Prefect server, the daemon lives."""
    s = Share(tmp_path, irods_sandbox, irods_session, prefect_server)
    try:
        yield s
    finally:
        s.stop_all()
        irods_sandbox.faults.reset()
        if prefect_server.proc is None or prefect_server.proc.poll() is not None:
            prefect_server.start()  # a test that stopped it and failed leaves it up again

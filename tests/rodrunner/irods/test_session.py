"""rodrunner.irods.session: the session pool against the sandbox over TCP."""

from __future__ import annotations

import threading

from rodrunner.irods.credentials import session_settings
from rodrunner.irods.session import SessionPool
from rodrunner.sandbox import SandboxInfo
from tests.conftest import sandbox_irods_config


def _pool(info: SandboxInfo) -> SessionPool:
    return SessionPool(session_settings(sandbox_irods_config(info)), None)


def test_each_busy_thread_gets_its_own_session_and_idle_ones_are_reused(
    irods_sandbox: SandboxInfo,
) -> None:
    """Two threads holding a worker at once get two sessions; a later worker reuses one."""
    pool = _pool(irods_sandbox)
    held: list[object] = []
    both_in = threading.Barrier(2, timeout=30)

    def work() -> None:
        with pool.worker() as session:
            held.append(session)
            both_in.wait()

    try:
        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len({id(s) for s in held}) == 2
        assert pool.main not in held
        with pool.worker() as again:
            assert again in held
    finally:
        pool.close()


def test_close_ends_every_connection_once(irods_sandbox: SandboxInfo) -> None:
    """close() logs every session out (no socket left) and a second close does nothing."""
    pool = _pool(irods_sandbox)
    with pool.worker() as worker:
        worker.collections.get(f"/{irods_sandbox.zone}/home/{irods_sandbox.user}")
    pool.main.collections.get(f"/{irods_sandbox.zone}/home/{irods_sandbox.user}")
    connections = [*pool.main.pool.idle, *worker.pool.idle]
    assert connections
    pool.close()
    pool.close()
    assert all(conn.socket is None for conn in connections)
    assert not pool.main.pool.idle

"""Open data objects in the sandbox with the real python-irodsclient: the replica being written
is shared state of the server that every data-object API respects."""

from __future__ import annotations

import pytest
from irods import exception as ex
from irods.session import iRODSSession

from rodrunner.sandbox import SandboxInfo
from tests.conftest import sandbox_session

HOME = "/tempZone/home/rods"


def test_an_object_being_written_is_off_limits_to_other_connections_until_closed(
    irods_sandbox: SandboxInfo, irods_session: iRODSSession
) -> None:
    """While one session writes an object, another can neither open it for writing nor
    unlink it; after the close both work."""
    other = sandbox_session(irods_sandbox)
    try:
        f = irods_session.data_objects.open(f"{HOME}/busy", "w")
        f.write(b"first")
        f.flush()
        with pytest.raises(ex.SYS_REPLICA_INACCESSIBLE):
            other.data_objects.open(f"{HOME}/busy", "w")
        with pytest.raises(ex.SYS_REPLICA_INACCESSIBLE):
            other.data_objects.unlink(f"{HOME}/busy", force=True)
        f.close()
        with other.data_objects.open(f"{HOME}/busy", "w") as g:
            g.write(b"second")
        other.data_objects.unlink(f"{HOME}/busy", force=True)
        assert not other.data_objects.exists(f"{HOME}/busy")
    finally:
        other.cleanup()

"""The sandbox server with the real python-irodsclient: dispatch of API requests."""

from __future__ import annotations

import pytest
from irods import exception as ex
from irods.message import iRODSMessage
from irods.session import iRODSSession


def test_unknown_api_gets_an_error_naming_it_and_the_connection_survives(
    irods_session: iRODSSession,
) -> None:
    """An unimplemented API number is answered with SYS_UNMATCHED_API_NUM naming the number."""
    with irods_session.pool.get_connection() as conn:
        conn.send(iRODSMessage("RODS_API_REQ", int_info=99999))
        with pytest.raises(ex.SYS_UNMATCHED_API_NUM, match="99999"):
            conn.recv()
        conn.send(iRODSMessage("RODS_API_REQ", int_info=99998))
        with pytest.raises(ex.SYS_UNMATCHED_API_NUM, match="99998"):
            conn.recv()

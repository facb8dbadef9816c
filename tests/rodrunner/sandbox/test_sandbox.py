"""The in-process sandbox shared by every client of one process."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from rodrunner.errors import ConfigError
from rodrunner.sandbox import shared_sandbox


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def test_shared_sandbox_is_one_server_per_directory(tmp_path: Path) -> None:
    """Two users of one sandbox directory get the same server; the last one out stops it."""
    with shared_sandbox(tmp_path / "irods") as first:
        with shared_sandbox(tmp_path / "irods") as second:
            assert (first.host, first.port) == (second.host, second.port)
        assert _accepts(first.host, first.port)
    assert not _accepts(first.host, first.port)


def test_shared_sandbox_refuses_another_identity(tmp_path: Path) -> None:
    """Asking the running sandbox of a directory for another zone is a ConfigError naming it."""
    with shared_sandbox(tmp_path / "irods"):
        other = shared_sandbox(tmp_path / "irods", zone="otherZone")
        with pytest.raises(ConfigError, match="already runs for rods#tempZone") as info:
            other.__enter__()
    assert info.value.key == "irods.sandbox"

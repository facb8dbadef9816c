"""The server's version: logged once at connect, a warning for an unchecked major version."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from rodrunner.irods.client import iRODSClient
from rodrunner.sandbox import SandboxInfo
from tests.conftest import sandbox_irods_config as _config


def test_supported_version_is_logged_once(irods_sandbox: SandboxInfo) -> None:
    """The sandbox answers as 5.0.2: one info line irods.server_version, no warning."""
    with iRODSClient(_config(irods_sandbox)) as client, capture_logs() as logs:
        client.ping()
        client.ping()
        assert client.server_version == (5, 0, 2)
    lines = [e for e in logs if e["event"] == "irods.server_version"]
    assert [(e["log_level"], e["version"]) for e in lines] == [("info", "5.0.2")]


@pytest.mark.parametrize(("reported", "text"), [("(6, 0, 0)", "6.0.0"), ("(4, 2, 12)", "4.2.12")])
def test_unchecked_version_is_a_warning(
    irods_sandbox: SandboxInfo, monkeypatch: pytest.MonkeyPatch, reported: str, text: str
) -> None:
    """A server reporting another major version (or 4.2) works but is named in a warning."""
    monkeypatch.setenv("PYTHON_IRODSCLIENT_REPORTED_SERVER_VERSION", reported)
    with iRODSClient(_config(irods_sandbox)) as client, capture_logs() as logs:
        client.ping()
    lines = [e for e in logs if e["event"] == "irods.server_version"]
    assert [(e["log_level"], e["version"]) for e in lines] == [("warning", text)]
    assert "4.3.x, 5.0.x" in lines[0]["problem"]

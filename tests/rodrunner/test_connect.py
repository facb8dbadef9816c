"""rodrunner.connect.open_irods: the configured server, or the sandbox it starts, over TCP."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from pydantic import SecretStr

from rodrunner.config import IRODSConfig
from rodrunner.connect import open_irods, sandbox_login
from rodrunner.errors import ConfigError
from rodrunner.irods.client import iRODSClient
from rodrunner.sandbox import SandboxInfo
from tests.conftest import sandbox_irods_config


def _listening(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(5)
        return sock.connect_ex((host, port)) == 0


def test_embedded_sandbox_from_config(tmp_path: Path) -> None:
    """irods.sandbox starts a sandbox in-process for the client's lifetime."""
    config = IRODSConfig(sandbox=tmp_path / "sb", password=SecretStr("sandpass"))
    with open_irods(config) as c:
        path = f"{c.home}/hello.txt"
        c.put_bytes(path, b"hello")
        assert c.read_bytes(path) == b"hello"


def test_the_sandbox_stops_with_its_last_client(tmp_path: Path) -> None:
    """Two clients of one irods.sandbox share one server, which stops when the last closes;
    a later client starts it again on the same catalog and vault."""
    config = IRODSConfig(sandbox=tmp_path / "sb", sandbox_hash_scheme="md5")
    first = open_irods(config)
    host, port = first._sessions.main.host, first._sessions.main.port
    with open_irods(config) as second:
        assert (second._sessions.main.host, second._sessions.main.port) == (host, port)
        second.put_bytes(f"{second.home}/kept.txt", b"kept")
    assert _listening(host, port)
    first.close()
    assert not _listening(host, port)
    with open_irods(config) as again:
        assert again.read_bytes(f"{again.home}/kept.txt") == b"kept"
        assert again.hash_scheme == "md5"


def test_a_configured_server_is_reached_as_configured(irods_sandbox: SandboxInfo) -> None:
    """Without irods.sandbox, open_irods logs in to irods.host:irods.port and starts nothing."""
    with open_irods(sandbox_irods_config(irods_sandbox)) as client:
        assert client.whoami == f"{irods_sandbox.user}#{irods_sandbox.zone}"
        assert client.collection_exists(client.home)


def test_the_client_alone_refuses_a_sandbox_configuration(tmp_path: Path) -> None:
    """iRODSClient never starts a sandbox: with irods.sandbox set it raises a ConfigError that
    names the key and open_irods, and nothing listens or is written in the directory."""
    config = IRODSConfig(sandbox=tmp_path / "sb")
    with pytest.raises(ConfigError, match="open_irods") as caught:
        iRODSClient(config)
    assert caught.value.key == "irods.sandbox"
    assert not (tmp_path / "sb").exists()


def test_sandbox_login_keeps_the_settings_and_aims_at_the_sandbox(tmp_path: Path) -> None:
    """The login for a running sandbox keeps resource, schemes and transfer settings, takes
    the sandbox's address and account, and names neither a sandbox nor an environment file."""
    config = IRODSConfig(
        sandbox=tmp_path / "sb",
        env_file=tmp_path / "irods_environment.json",
        resource="secondResc",
        hash_scheme="md5",
        transfer_threads=7,
        avu_prefix="seq::",
    )
    info = SandboxInfo("127.0.0.1", 40123, "tempZone", "rods", SecretStr("pw-x"), tmp_path)
    login = sandbox_login(config, info)
    assert (login.host, login.port) == ("127.0.0.1", 40123)
    assert (login.zone, login.user) == ("tempZone", "rods")
    assert login.password is not None
    assert login.password.get_secret_value() == "pw-x"
    assert (login.sandbox, login.env_file) == (None, None)
    assert (login.resource, login.hash_scheme, login.transfer_threads, login.avu_prefix) == (
        "secondResc",
        "md5",
        7,
        "seq::",
    )
    assert "pw-x" not in repr(login)


def test_a_second_configuration_of_one_sandbox_must_agree(tmp_path: Path) -> None:
    """Another checksum scheme for a sandbox directory already running is a ConfigError naming
    irods.sandbox_hash_scheme; the running sandbox keeps serving its client and stops with it."""
    config = IRODSConfig(sandbox=tmp_path / "sb")
    with open_irods(config) as first:
        host, port = first._sessions.main.host, first._sessions.main.port
        with pytest.raises(ConfigError) as caught:
            open_irods(config.model_copy(update={"sandbox_hash_scheme": "md5"}))
        assert caught.value.key == "irods.sandbox_hash_scheme"
        assert first.collection_exists(first.home)
    assert not _listening(host, port)

"""``rodrunner api``: refuses a non-loopback address without a token; serves on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from rodrunner.cli import main
from rodrunner.localprefect import server_dir, server_status, stop_server


def _config(tmp_path: Path, **api: object) -> Path:
    path = tmp_path / "config.yaml"
    data = {
        "irods": {"sandbox": str(tmp_path / "sandbox")},
        "sequencer": {"base_dir": str(tmp_path / "seq")},
        "daemon": {"state_dir": str(tmp_path / "state")},
        "api": api,
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "seq-host.example.org"])  # noqa: S104
def test_non_loopback_without_token_exits_2_with_one_message(
    tmp_path: Path, host: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A non-loopback --host without api.token: exit 2, a message naming api.token, no server."""
    assert main(["api", "--config", str(_config(tmp_path)), "--host", host]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: refusing to serve the API on")
    assert "api.token" in err
    assert "Traceback" not in err


def test_api_host_from_config_is_checked_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """api.host 0.0.0.0 in the file without a token is refused the same way."""
    assert main(["api", "--config", str(_config(tmp_path, host="0.0.0.0"))]) == 2  # noqa: S104
    assert "api.token" in capsys.readouterr().err


def test_a_bad_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A configuration error is one message and exit 2."""
    assert main(["api", "--config", str(tmp_path / "missing.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.slow
def test_serves_health_on_loopback_with_an_embedded_sandbox(tmp_path: Path) -> None:
    """`rodrunner api` on 127.0.0.1 answers /health (200) and refuses /runs without the token."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = _config(tmp_path, token="cli-test-token")
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rodrunner", "api", "--config", str(config), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=60)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the API did not come up: {proc.stderr.read()[-2000:]!r}")  # type: ignore[union-attr]
                time.sleep(0.2)
        assert health.status_code == 200, health.text
        assert health.json()["components"]["irods"]["status"] == "ok"
        assert httpx.get(f"http://127.0.0.1:{port}/runs", timeout=60).status_code == 401
        # No PREFECT_API_URL: flow runs go to the local Prefect server of the state dir.
        assert server_status(server_dir(tmp_path / "state"))["healthy"] is True
    finally:
        proc.terminate()
        proc.wait(120)
        assert proc.stderr is not None
        proc.stderr.close()
        stop_server(server_dir(tmp_path / "state"))

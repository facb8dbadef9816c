"""``rodrunner sandbox`` as a real process: the listening line, a client, SIGTERM."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from irods.session import iRODSSession

from rodrunner.cli import main


def test_sandbox_prints_its_line_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    """The command prints one 'listening' line with the real port, serves (with the resources
    asked for), exits 0 on SIGTERM."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rodrunner",
            "sandbox",
            "--port",
            "0",
            "--root",
            str(tmp_path),
            "--resource",
            "secondResc",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.fullmatch(r"iRODS sandbox listening on 127\.0\.0\.1:(\d+) zone=tempZone\n", line)
        assert match, line
        session = iRODSSession(
            host="127.0.0.1",
            port=int(match.group(1)),
            user="rods",
            password="rods",
            zone="tempZone",
        )
        try:
            assert session.collections.get("/tempZone/home/rods").name == "rods"
            second = session.resources.get("secondResc")
            assert second.vault_path == str(tmp_path / "resources" / "secondResc")
        finally:
            session.cleanup()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0
        assert out == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_sandbox_rejects_a_bad_hash_without_a_traceback() -> None:
    """--hash other than sha256/md5 is a usage error (exit 2), not a crash."""
    assert main(["sandbox", "--hash", "sha1", "--port", "0"]) == 2


def test_sandbox_rejects_a_lone_certificate(tmp_path: Path) -> None:
    """--tls-cert without --tls-key is a usage error."""
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    assert main(["sandbox", "--tls-cert", str(cert), "--port", "0"]) == 2


def test_sandbox_rejects_a_port_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    """--port 99999 is a usage error naming --port (exit 2), not an OverflowError traceback."""
    assert main(["sandbox", "--port", "99999"]) == 2
    err = capsys.readouterr().err
    assert "--port" in err
    assert "Traceback" not in err

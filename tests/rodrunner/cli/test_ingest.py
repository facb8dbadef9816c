"""``rodrunner ingest`` and ``rodrunner update-metadata`` from the command line."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
import yaml

from rodrunner.cli import main
from rodrunner.config import get_config
from rodrunner.irods.checksums import RemoteObject
from rodrunner.irods.client import iRODSClient
from rodrunner.plan import MANIFEST_NAME
from rodrunner.sandbox import SandboxInfo
from rodrunner.simulate import simulate_run


@pytest.fixture(autouse=True)
def _fresh_structlog() -> Iterator[None]:
    """The CLI configures structlog globally; each test starts unconfigured."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


def _config(path: Path, host: str, port: int, password: str, threads: int = 4) -> Path:
    data = {
        "irods": {
            "host": host,
            "port": port,
            "zone": "tempZone",
            "user": "rods",
            "password": password,
            "transfer_threads": threads,
        }
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _sha256s(run_dir: Path) -> dict[str, str]:
    return {
        p.relative_to(run_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(run_dir.rglob("*"))
        if p.is_file()
    }


def test_dry_run_prints_plan_without_irods(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--dry-run prints collection, file count, bytes and AVUs; iRODS is never touched."""
    run_dir = simulate_run(tmp_path / "novaseq", "novaseq", files=7, size=100)
    config = _config(tmp_path / "c.yaml", "127.0.0.1", 9, "unused")  # port 9: nothing listens
    assert main(["ingest", str(run_dir), "--dry-run", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"/tempZone/home/rods/sequencer/novaseq/{run_dir.name}" in out
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert f"files       {len(files)} " in out
    assert f"{sum(p.stat().st_size for p in files)} bytes" in out
    assert "run_id" in out
    assert "sample_id" in out


def test_unknown_type_and_bad_config_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wrong --type or configuration exits 2 with one clear message, no traceback."""
    run_dir = simulate_run(tmp_path / "novaseq", "novaseq", files=1, size=10)
    assert main(["ingest", str(run_dir), "--type", "nosuch", "--dry-run"]) == 2
    assert "nosuch" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("irods:\n  port: -1\n")
    assert main(["ingest", str(run_dir), "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "irods.port" in err
    assert "Traceback" not in err


def test_not_a_run_folder_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A folder that is no run folder exits 1 naming it."""
    config = _config(tmp_path / "c.yaml", "127.0.0.1", 9, "unused")
    (tmp_path / "empty").mkdir()
    assert main(["ingest", str(tmp_path / "empty"), "--config", str(config)]) == 1
    assert "empty" in capsys.readouterr().err


@pytest.mark.usefixtures("prefect_harness")
def test_ingest_then_update_metadata(
    tmp_path: Path, irods_sandbox: SandboxInfo, capsys: pytest.CaptureFixture[str]
) -> None:
    """ingest exits 0 reporting files sent; again it sends nothing; update-metadata runs."""
    run_dir = simulate_run(tmp_path / "novaseq", "novaseq", files=12, size=1000)
    info = irods_sandbox
    config = _config(tmp_path / "c.yaml", info.host, info.port, info.password.get_secret_value())
    assert main(["ingest", str(run_dir), "--config", str(config)]) == 0
    out = capsys.readouterr().out
    total = len(_sha256s(run_dir))
    assert f"({total} files sent" in out
    assert main(["ingest", str(run_dir), "--config", str(config)]) == 0
    assert "nothing sent" in capsys.readouterr().out
    collection = f"/tempZone/home/rods/sequencer/novaseq/{run_dir.name}"
    code = main(["update-metadata", collection, "--type", "novaseq", "--config", str(config)])
    assert code == 0
    assert "0 AVU(s) added, 0 removed" in capsys.readouterr().out


@pytest.mark.usefixtures("prefect_harness")
def test_wrong_password_exits_1_at_once(
    tmp_path: Path, irods_sandbox: SandboxInfo, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wrong password exits 1 with an authentication message that does not show it."""
    run_dir = simulate_run(tmp_path / "novaseq", "novaseq", files=2, size=10)
    info = irods_sandbox
    config = _config(tmp_path / "c.yaml", info.host, info.port, "WrongPassw0rd")
    assert main(["ingest", str(run_dir), "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "failed" in err
    assert "WrongPassw0rd" not in err
    assert re.search(r"authenticat|password|CAT_INVALID", err, re.IGNORECASE)


@pytest.fixture
def sandbox_process(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """``rodrunner sandbox`` in its own process; yields (host, port)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rodrunner",
            "sandbox",
            "--port",
            "0",
            "--root",
            str(tmp_path / "sbx"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"listening on ([\d.]+):(\d+)", line)
        assert match, f"sandbox did not start: {line!r}"
        yield match.group(1), int(match.group(2))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _stable_listing(client: iRODSClient, collection: str) -> dict[str, RemoteObject]:
    """The collection's objects once two listings in a row agree (the server has caught up)."""
    previous = client.list_objects(collection)
    for _ in range(50):
        time.sleep(0.2)
        current = client.list_objects(collection)
        if current == previous:
            return current
        previous = current
    return previous


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.usefixtures("prefect_harness")
def test_killed_ingest_resumes_sending_only_what_is_missing(
    tmp_path: Path, sandbox_process: tuple[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    """SIGKILL mid-upload, then ingest again: complete, no wrong object, only the missing sent."""
    from prefect.settings import PREFECT_API_URL

    host, port = sandbox_process
    run_dir = simulate_run(tmp_path / "novaseq", "novaseq", files=600, size=64 * 1024)
    config = _config(tmp_path / "c.yaml", host, port, "rods", threads=2)
    expected = _sha256s(run_dir)
    collection = f"/tempZone/home/rods/sequencer/novaseq/{run_dir.name}"
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rodrunner", "ingest", str(run_dir), "--config", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    cfg = get_config(config)
    landed = 0
    try:
        with iRODSClient(cfg.irods) as client:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline and proc.poll() is None:
                if client.collection_exists(collection):
                    landed = len(client.list_objects(collection))
                    if landed >= 50:
                        break
                time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert 50 <= landed < len(expected), "the ingest was not caught mid-upload"
    with iRODSClient(cfg.irods) as client:
        before = _stable_listing(client, collection)
        status = {a.attr: a.value for a in client.get_metadata(collection)}
    # An object whose close never came has no good replica (whatever its bytes): the resume
    # sends it again, so only good replicas with the local checksum count as already there.
    good_before = sum(
        1 for rel, obj in before.items() if obj.good and expected.get(rel) == obj.checksum
    )
    assert status.get("rodrunner::status") == "ingesting"
    assert good_before < len(expected)
    capsys.readouterr()
    assert main(["ingest", str(run_dir), "--config", str(config)]) == 0
    out = capsys.readouterr().out
    sent = int(re.search(r"\((\d+) files sent", out).group(1))  # type: ignore[union-attr]
    assert sent == len(expected) - good_before
    with iRODSClient(cfg.irods) as client:
        after = client.list_objects(collection)
        status = {a.attr: a.value for a in client.get_metadata(collection)}
    assert status["rodrunner::status"] == "complete"
    stored = {rel: obj.checksum for rel, obj in after.items() if rel != MANIFEST_NAME}
    assert stored == expected
    assert all(obj.good for obj in after.values())
    sizes = {rel: obj.size for rel, obj in after.items() if rel != MANIFEST_NAME}
    assert sizes == {rel: (run_dir / rel).stat().st_size for rel in expected}


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_expected_failure_prints_its_error_without_a_traceback(
    tmp_path: Path, irods_sandbox: SandboxInfo
) -> None:
    """A failed ingest (wrong password) prints its error lines, no traceback; -v adds detail."""
    from prefect.settings import PREFECT_API_URL

    run_dir = simulate_run(tmp_path / "novaseq", "novaseq", files=2, size=10)
    info = irods_sandbox
    config = _config(tmp_path / "c.yaml", info.host, info.port, "WrongPassw0rd")
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    env.pop("RODRUNNER_CONFIG", None)
    command = [sys.executable, "-m", "rodrunner", "ingest", str(run_dir), "--config", str(config)]
    quiet = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 1, quiet.stderr
    assert "Traceback" not in quiet.stderr, quiet.stderr
    assert "Task run" not in quiet.stderr, quiet.stderr  # Prefect's run lines stay in Prefect
    errors = [line for line in quiet.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, quiet.stderr
    assert errors[0].startswith(f"error: ingest of {run_dir} failed: iRODS refused the credentials")
    assert "WrongPassw0rd" not in quiet.stderr
    verbose = subprocess.run([*command, "-v"], env=env, capture_output=True, text=True, timeout=300)
    assert verbose.returncode == 1, verbose.stderr
    assert "Traceback" in verbose.stderr
    assert "WrongPassw0rd" not in verbose.stderr


def test_a_run_folder_linked_in_from_outside_the_root_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`rodrunner ingest` applies the daemon's rule: a symlink at the top of a configured root
    that resolves outside it exits 1 naming where it resolves, before touching anything."""
    elsewhere = simulate_run(tmp_path / "elsewhere", "novaseq", files=1, size=10)
    root = tmp_path / "seq" / "novaseq"
    root.mkdir(parents=True)
    (root / elsewhere.name).symlink_to(elsewhere)
    config = _config(tmp_path / "c.yaml", "127.0.0.1", 9, "unused")
    data = yaml.safe_load(config.read_text())
    data["sequencer"] = {"base_dir": str(tmp_path / "seq"), "types": {"novaseq": {}}}
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    argv = ["ingest", str(root / elsewhere.name), "--dry-run", "--config", str(config)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "outside the sequencer root" in err
    assert str(elsewhere) in err

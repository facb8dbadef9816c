"""``rodrunner serve``: the flows as Prefect 3 deployments."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from rodrunner.cli import main
from rodrunner.cli.serve import DEPLOYMENT_NAMES, build_deployments
from rodrunner.config import AppConfig, get_config
from rodrunner.irods.client import iRODSClient
from rodrunner.sandbox import SandboxInfo
from rodrunner.simulate import simulate_run


def test_deployment_names_are_stable() -> None:
    """Five deployments with fixed names; Ingest Run's matches daemon.deployment's default."""
    deployments = build_deployments("*/30 * * * *")
    names = {d.flow_name: d.name for d in deployments}
    assert names == DEPLOYMENT_NAMES
    default = AppConfig().daemon.deployment
    assert default == f"Ingest Run/{names['Ingest Run']}"
    scheduled = [d.flow_name for d in deployments if d.schedules]
    assert scheduled == ["Ingest All Sequencer Runs"]
    assert all(
        d.entrypoint and d.entrypoint.startswith("rodrunner.workflows.") for d in deployments
    )
    assert all("password" not in str(d.parameters) for d in deployments)


def test_audit_cron_schedules_the_audit_flow(capsys: pytest.CaptureFixture[str]) -> None:
    """--audit-cron schedules Audit Ingested Runs only; a wrong one exits 2 naming it."""
    deployments = build_deployments(None, "0 3 * * *")
    scheduled = [d.flow_name for d in deployments if d.schedules]
    assert scheduled == ["Audit Ingested Runs"]
    assert main(["serve", "--audit-cron", "nightly"]) == 2
    err = capsys.readouterr().err
    assert "--audit-cron 'nightly'" in err


def test_bad_cron_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """A wrong --cron is a clear error with exit code 2, nothing is served."""
    assert main(["serve", "--cron", "every minute"]) == 2
    assert "every minute" in capsys.readouterr().err


@pytest.mark.parametrize("limit", ["0", "-1"])
def test_limit_below_one_exits_2(limit: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--limit 0 (nothing would ever run) or below is a usage error naming --limit, not served."""
    assert main(["serve", "--limit", limit]) == 2
    err = capsys.readouterr().err
    assert "--limit" in err
    assert "Traceback" not in err


@pytest.fixture
def served(tmp_path: Path, irods_sandbox: SandboxInfo, prefect_harness: None) -> Iterator[Path]:
    """``rodrunner serve --config F`` in a subprocess against the harness; yields F."""
    from prefect.settings import PREFECT_API_URL

    info = irods_sandbox
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "irods": {
                    "host": info.host,
                    "port": info.port,
                    "password": info.password.get_secret_value(),
                }
            }
        )
    )
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    env.pop("RODRUNNER_CONFIG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rodrunner", "serve", "--config", str(config)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield config
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_served_deployment_ingests_a_run(tmp_path: Path, served: Path) -> None:
    """run_deployment('Ingest Run/rodrunner-ingest-run') is executed by the served runner."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound

    run_dir = simulate_run(tmp_path / "novaseq", "novaseq", files=5, size=100)
    name = "Ingest Run/rodrunner-ingest-run"
    with get_client(sync_client=True) as client:
        deadline = time.monotonic() + 300
        while True:
            try:
                client.read_deployment_by_name(name)
                break
            except ObjectNotFound:
                assert time.monotonic() < deadline, "rodrunner serve never registered"
                time.sleep(0.5)
    flow_run = run_deployment(
        name,
        parameters={"run_dir": str(run_dir), "sequencer_type": "novaseq"},
        timeout=300,
    )
    assert flow_run.state is not None  # type: ignore[union-attr]
    assert flow_run.state.is_completed(), flow_run.state  # type: ignore[union-attr]
    assert "config" not in (flow_run.parameters or {})  # type: ignore[union-attr]
    with iRODSClient(get_config(served).irods) as irods:
        collection = f"/tempZone/home/rods/sequencer/novaseq/{run_dir.name}"
        attrs = {a.attr: a.value for a in irods.get_metadata(collection)}
    assert attrs["rodrunner::status"] == "complete"


@pytest.mark.parametrize("option", ["--cron", "--audit-cron"])
def test_cron_without_a_prefect_server_exits_2(tmp_path: Path, option: str) -> None:
    """--cron or --audit-cron with no PREFECT_API_URL refuses (exit 2), naming the option and
    the server to start."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.pop("RODRUNNER_CONFIG", None)
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    proc = subprocess.run(
        [sys.executable, "-m", "rodrunner", "serve", option, "0 0 * * *"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert f"error: {option} needs a Prefect server" in proc.stderr
    assert "prefect server start" in proc.stderr
    assert "PREFECT_API_URL" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "serving" not in proc.stderr

"""The local Prefect server: one per state directory, reused, gone when idle or stopped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from rodrunner.localprefect import server_dir, server_status, stop_server
from rodrunner.localprefect.control import STATE_FILE
from rodrunner.sandbox import SandboxInfo
from rodrunner.simulate import simulate_run
from tests.daemon_process import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]


def _config(tmp_path: Path, idle_timeout: float) -> Path:
    path = tmp_path / "config.yaml"
    data = {
        "daemon": {"state_dir": str(tmp_path / "state")},
        "prefect": {"idle_timeout": idle_timeout},
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-client")}
    env.pop("PREFECT_API_URL", None)
    return env


def _command(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "rodrunner", "prefect-server", *args, "--config", str(config)]


def test_two_commands_at_once_start_one_server_which_exits_when_idle(tmp_path: Path) -> None:
    """Two `prefect-server start` at once share one server; with no client left it exits after
    prefect.idle_timeout and removes its server.json."""
    config = _config(tmp_path, idle_timeout=2)
    env = _env(tmp_path)
    directory = server_dir(tmp_path / "state")
    try:
        starts = [
            subprocess.Popen(
                _command(config, "start"), env=env, stdout=subprocess.PIPE, text=True, cwd=tmp_path
            )
            for _ in range(2)
        ]
        outputs = [proc.communicate(timeout=300)[0] for proc in starts]
        assert [proc.returncode for proc in starts] == [0, 0], outputs
        pids = {out.strip().rsplit("pid ", 1)[1].rstrip(")") for out in outputs}
        assert len(pids) == 1, outputs
        status = server_status(directory)
        assert status["running"], status
        assert status["healthy"], status
        assert str(status["pid"]) in pids
        wait_for(lambda: not server_status(directory)["running"], 120, "the idle exit")
        assert not (directory / STATE_FILE).exists()
        assert (directory / "home").is_dir(), "its database stays for the next start"
    finally:
        stop_server(directory)


def test_stop_ends_it_and_status_says_so(tmp_path: Path) -> None:
    """The server runs without the caller's secrets, telemetry, scheduler, automations or UI;
    `prefect-server stop` ends it; `status` then exits 3 saying not running."""
    config = _config(tmp_path, idle_timeout=600)
    env = {**_env(tmp_path), "RODRUNNER_IRODS__PASSWORD": "not-for-the-prefect-server"}
    directory = server_dir(tmp_path / "state")
    try:
        subprocess.run(_command(config, "start"), env=env, check=True, timeout=300, cwd=tmp_path)
        pid = server_status(directory)["pid"]
        assert b"not-for-the-prefect-server" not in Path(f"/proc/{pid}/environ").read_bytes()
        shown = subprocess.run(
            _command(config, "status"), env=env, capture_output=True, text=True, cwd=tmp_path
        )
        assert shown.returncode == 0, shown
        assert "running: pid" in shown.stdout, shown
        url = server_status(directory)["url"]
        settings = httpx.get(f"{url}/admin/settings", timeout=30).json()["server"]
        assert settings["analytics_enabled"] is False, "no telemetry leaves the host"
        assert settings["services"]["scheduler"]["enabled"] is False
        assert settings["services"]["triggers"]["enabled"] is False
        assert settings["ui"]["enabled"] is False
        stopped = subprocess.run(
            _command(config, "stop"), env=env, capture_output=True, text=True, cwd=tmp_path
        )
        assert stopped.stdout.strip() == "stopped", stopped
        assert not server_status(directory)["running"]
        shown = subprocess.run(
            _command(config, "status"), env=env, capture_output=True, text=True, cwd=tmp_path
        )
        assert shown.returncode == 3, shown
        assert "not running" in shown.stdout, shown
    finally:
        stop_server(directory)


def test_start_with_a_configured_prefect_api_refuses(tmp_path: Path) -> None:
    """With PREFECT_API_URL set there is nothing to start: exit 2, no server."""
    config = _config(tmp_path, idle_timeout=600)
    env = {**_env(tmp_path), "PREFECT_API_URL": "http://127.0.0.1:9/api"}
    done = subprocess.run(
        _command(config, "start"), env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 2, done
    assert "PREFECT_API_URL is set" in done.stdout + done.stderr
    assert not server_dir(tmp_path / "state").exists()


def test_a_client_done_with_it_stops_it_only_when_no_other_client_holds_a_lease(
    tmp_path: Path,
) -> None:
    """While another process holds a lease, `stop_server(only_if_unused=True)` leaves the server
    running; once that process has exited, the same call stops it."""
    config = _config(tmp_path, idle_timeout=600)
    directory = server_dir(tmp_path / "state")
    holder_code = (
        "import sys, time; from rodrunner.config import get_config; "
        "from rodrunner.localprefect import ensure_local_prefect; "
        "print(ensure_local_prefect(get_config(sys.argv[1])).pid, flush=True); time.sleep(600)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", holder_code, str(config)],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert holder.stdout is not None
        pid = next(int(line) for line in holder.stdout if line.strip().isdigit())
        assert server_status(directory)["pid"] == pid
        assert stop_server(directory, only_if_unused=True) is False
        assert server_status(directory)["running"]
        holder.kill()
        holder.wait(30)
        assert stop_server(directory, only_if_unused=True) is True
        assert not server_status(directory)["running"]
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(30)
        if holder.stdout is not None:
            holder.stdout.close()
        stop_server(directory)


def test_ingest_calls_share_one_server_which_keeps_the_record_of_each_run(
    tmp_path: Path, irods_sandbox: SandboxInfo
) -> None:
    """Two `rodrunner ingest` calls without PREFECT_API_URL: the first starts the local server
    (and says so), the second reuses it; both flow runs are recorded there, Completed."""
    config = tmp_path / "config.yaml"
    settings = {
        "irods": {"host": irods_sandbox.host, "port": irods_sandbox.port},
        "daemon": {"state_dir": str(tmp_path / "state")},
    }
    config.write_text(json.dumps(settings), encoding="utf-8")
    env = {
        **_env(tmp_path),
        "RODRUNNER_IRODS__PASSWORD": irods_sandbox.password.get_secret_value(),
    }
    directory = server_dir(tmp_path / "state")
    try:
        said = []
        for seed in (1, 2):
            run = simulate_run(tmp_path / "roots", "novaseq", files=5, seed=seed)
            done = subprocess.run(
                [sys.executable, "-m", "rodrunner", "ingest", str(run), "--config", str(config)],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                cwd=tmp_path,
            )
            assert done.returncode == 0, done.stderr
            said.append("starting the local Prefect server" in done.stderr)
        assert said == [True, False]
        url = server_status(directory)["url"]
        flow_runs = httpx.post(f"{url}/flow_runs/filter", json={}, timeout=30).json()
        assert sorted(r["state_type"] for r in flow_runs) == ["COMPLETED", "COMPLETED"]
    finally:
        stop_server(directory)

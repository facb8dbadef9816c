"""The rodrunnerd command line against a real ledger file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rodrunner.ledger.states import RunState
from rodrunner.ledger.store import Ledger
from rodrunnerd.cli import main

RUN_A = "/seq/miseq/240101_M00001_0001_000000000-AAAAA"
RUN_B = "/seq/novaseq/240102_A00001_0002_BHBBBBBBBB"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A configuration file whose state_dir holds a ledger with one ingested, one failed run."""
    state = tmp_path / "state"
    path = tmp_path / "config.yaml"
    path.write_text("daemon:\n  state_dir: state\n", encoding="utf-8")
    with Ledger.open(state) as ledger:
        ledger.observe(RUN_A, "240101_M00001_0001_000000000-AAAAA", "miseq")
        for state_ in (RunState.QUEUED, RunState.SUBMITTED, RunState.RUNNING):
            ledger.transition(RUN_A, state_, flow_run_id="flow-a")
        ledger.transition(RUN_A, RunState.INGESTED)
        ledger.observe(RUN_B, "240102_A00001_0002_BHBBBBBBBB", "novaseq")
        ledger.transition(RUN_B, RunState.QUEUED)
        ledger.transition(RUN_B, RunState.SUBMITTED)
        ledger.transition(RUN_B, RunState.FAILED, error="iRODS said SYS_NOT_ALLOWED\nmore")
    return path


def test_status_table(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """status prints one row per run with type, state, attempts, flow run and last error."""
    assert main(["status", "--config", str(config)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:4] == ["RUN", "TYPE", "STATE", "ATTEMPTS"]
    row_a = next(line for line in out if "AAAAA" in line)
    row_b = next(line for line in out if "BHBBBBBBBB" in line)
    assert "ingested" in row_a
    assert "flow-a" in row_a
    assert "failed" in row_b
    assert "iRODS said SYS_NOT_ALLOWED" in row_b
    assert "more" not in row_b


def test_status_json(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """status --json is a list of objects with run_dir, run_id, state, attempts, last_error."""
    assert main(["--config", str(config), "status", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    by_dir = {item["run_dir"]: item for item in items}
    assert by_dir[RUN_A]["state"] == "ingested"
    assert by_dir[RUN_B]["state"] == "failed"
    assert by_dir[RUN_B]["attempts"] == 1
    assert by_dir[RUN_B]["last_error"].startswith("iRODS said")
    assert by_dir[RUN_A]["flow_run_id"] == "flow-a"
    assert by_dir[RUN_A]["age_seconds"] >= 0


def test_retry_requeues_by_run_id(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """retry RUN moves a failed run back to queued with attempts reset, in the file."""
    assert main(["retry", "240102_A00001_0002_BHBBBBBBBB", "--config", str(config)]) == 0
    assert "failed -> queued" in capsys.readouterr().out
    with Ledger.open(config.parent / "state") as ledger:
        record = ledger.get(RUN_B)
    assert record is not None
    assert record.state is RunState.QUEUED
    assert record.attempts == 0


def test_retry_of_queued_run_is_refused(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """retry of a run already queued exits 1 with a message naming both states."""
    assert main(["retry", RUN_B, "--config", str(config)]) == 0
    assert main(["retry", RUN_B, "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "'queued'" in err
    assert "Traceback" not in err


def test_forget(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """forget drops a run; forgetting an unknown run exits 1 with a hint."""
    assert main(["forget", RUN_A, "--config", str(config)]) == 0
    assert main(["forget", RUN_A, "--config", str(config)]) == 1
    assert "rodrunnerd status" in capsys.readouterr().err
    with Ledger.open(config.parent / "state") as ledger:
        assert ledger.get(RUN_A) is None


def test_unknown_run_retry(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """retry of a run the ledger never saw exits 1 naming it."""
    assert main(["retry", "nope", "--config", str(config)]) == 1
    assert "no run 'nope'" in capsys.readouterr().err


def test_status_without_ledger(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """status before the daemon ever ran says so (JSON: an empty list) and creates nothing."""
    path = tmp_path / "config.yaml"
    path.write_text("daemon:\n  state_dir: never\n", encoding="utf-8")
    assert main(["status", "--json", "--config", str(path)]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert not (tmp_path / "never").exists()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("daemon:\n  settle_seconds: -1\n", "daemon.settle_seconds"),
        ("daemon:\n  sttle_seconds: 1\n", "unknown configuration key"),
        ("daemon: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_config_is_one_message_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, fragment: str
) -> None:
    """A bad configuration gives one clear message and exit code 2, no traceback."""
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["status", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert fragment in err
    assert "Traceback" not in err


def test_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A --config that does not exist exits 2 naming the file."""
    assert main(["--config", str(tmp_path / "absent.yaml")]) == 2
    assert "absent.yaml" in capsys.readouterr().err


def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown sub-command is a usage error (exit 2)."""
    assert main(["frobnicate"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_python_dash_m(config: Path) -> None:
    """`python -m rodrunnerd status --json` works as a real process."""
    done = subprocess.run(
        [sys.executable, "-m", "rodrunnerd", "status", "--json", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert {item["run_dir"] for item in json.loads(done.stdout)} == {RUN_A, RUN_B}


def test_warns_about_a_readable_file_holding_a_secret(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """rodrunnerd on a world-readable file with a token: a warning naming it, then its work."""
    config.write_text(config.read_text() + "api:\n  token: long-random\n")
    config.chmod(0o644)
    assert main(["status", "--config", str(config)]) == 0
    err = capsys.readouterr().err
    assert f"configuration file '{config}'" in err
    assert "chmod 600" in err

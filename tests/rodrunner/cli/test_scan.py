"""``rodrunner scan``: a table by default, a JSON list with --json, exit 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rodrunner.cli import main
from rodrunner.simulate import simulate_run


@pytest.fixture
def root(tmp_path: Path) -> Path:
    base = tmp_path / "novaseq"
    simulate_run(base, "novaseq", files=2, size=8)
    simulate_run(
        base, "novaseq", files=2, size=8, complete=False, run_id="200701_A00834_0190_AHXXXXDRXX"
    )
    (base / "Undetermined").mkdir()
    return base


def test_json_lists_every_entry_with_its_state(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json prints a list with run_dir, run_id, sequencer_type, state and reason."""
    assert main(["scan", str(root), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    by_id = {d["run_id"]: d for d in data}
    assert by_id["200624_A00834_0183_BHMTFYDRXX"]["state"] == "complete"
    assert by_id["200701_A00834_0190_AHXXXXDRXX"]["state"] == "in_progress"
    assert by_id["Undetermined"]["state"] == "not_a_run"
    for item in data:
        assert {"run_dir", "run_id", "sequencer_type", "state", "reason"} <= set(item)
        assert Path(item["run_dir"]).is_absolute()


def test_table_by_default(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --json a table and a count line are printed."""
    assert main(["scan", str(root), "--type", "novaseq"]) == 0
    out = capsys.readouterr().out
    assert "complete" in out
    assert "1 complete, 1 in_progress, 0 skipped, 0 problem, 1 not_a_run" in out


def test_configured_root_uses_its_type_and_override(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A root named in the configuration is scanned with its type and indicator override."""
    config = tmp_path / "config.yaml"
    config.write_text(
        f"sequencer:\n  base_dir: {tmp_path}\n  types:\n"
        "    novaseq:\n      completion_indicator: RunInfo.xml\n"
    )
    assert main(["scan", "--config", str(config), "--json"]) == 0
    states = {d["run_id"]: d["state"] for d in json.loads(capsys.readouterr().out)}
    assert states["200701_A00834_0190_AHXXXXDRXX"] == "complete"


def test_missing_root_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A root that does not exist gives one message and exit code 2."""
    assert main(["scan", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err
    assert "Traceback" not in err


def test_unknown_type_exits_2(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown --type names the known types and exits 2."""
    assert main(["scan", str(root), "--type", "hiseq9000"]) == 2
    assert "use one of" in capsys.readouterr().err


def test_no_root_and_no_configured_types_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without ROOT and without configured roots the command says what to do."""
    config = tmp_path / "config.yaml"
    config.write_text("daemon:\n  settle_seconds: 1\n")
    assert main(["scan", "--config", str(config)]) == 2
    assert "pass ROOT" in capsys.readouterr().err

"""``rodrunner metadata RUN_DIR [--type T] [--json]``."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from rodrunner.cli import main

RUNS = Path(__file__).resolve().parents[2] / "data" / "runs"
CONTRACT_KEYS = {
    "run_id", "platform", "sequencer_type", "instrument_model", "instrument_id", "run_number",
    "flowcell_id", "run_date", "lanes", "reads", "samplesheet_version", "samples", "projects",
    "software", "chemistry", "flowcell_mode", "source_files",
}  # fmt: skip


@pytest.fixture
def novaseq_run(tmp_path: Path) -> Path:
    """A NovaSeq 6000 run folder with the real metadata files."""
    run = tmp_path / "200303_A00562_0352_AHKFVLDRXX"
    shutil.copytree(RUNS / "NovaSeq6000/wtsi-npg_npg_tracking__200303_A00562_0352", run)
    return run


def test_json_is_exactly_the_contract(
    novaseq_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json prints exactly the design card's keys with the run's values."""
    assert main(["metadata", str(novaseq_run), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == CONTRACT_KEYS
    assert data["run_id"] == "200303_A00562_0352_AHKFVLDRXX"
    assert data["instrument_model"] == "NovaSeq 6000"
    assert data["software"]["rta_version"] == "v3.4.4"
    assert data["reads"][1] == {"number": 2, "cycles": 8, "is_index": True}


def test_summary_is_readable(novaseq_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --json a summary table names the run and its instrument."""
    assert main(["metadata", str(novaseq_run)]) == 0
    out = capsys.readouterr().out
    assert "200303_A00562_0352_AHKFVLDRXX" in out
    assert "NovaSeq 6000" in out
    assert "HKFVLDRXX" in out


def test_type_option(novaseq_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--type skips detection and is reported as the sequencer type."""
    assert main(["metadata", str(novaseq_run), "--type", "novaseq", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sequencer_type"] == "novaseq"


def test_unknown_type(novaseq_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown --type is refused with the list of known ones."""
    assert main(["metadata", str(novaseq_run), "--type", "bogus"]) == 2
    assert "novaseqx" in capsys.readouterr().err


def test_not_a_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A folder without metadata: exit 1, one clear message, no traceback."""
    (tmp_path / "hello.txt").write_text("hi")
    assert main(["metadata", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "is it a run folder" in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_broken_runinfo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A truncated RunInfo.xml: exit 1 with the file named, no traceback."""
    (tmp_path / "RunInfo.xml").write_bytes(b"<?xml version='1.0'?><RunInfo><Run Id=")
    assert main(["metadata", str(tmp_path), "--type", "novaseq"]) == 1
    err = capsys.readouterr().err
    assert "RunInfo.xml" in err
    assert "Traceback" not in err


@pytest.fixture
def fresh_structlog() -> Iterator[None]:
    """structlog as a fresh process has it (unconfigured), restored afterwards."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


@pytest.mark.usefixtures("fresh_structlog")
def test_json_stays_parseable_with_warnings(
    novaseq_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A broken sample sheet warns on stderr; stdout is still the JSON alone."""
    (novaseq_run / "SampleSheet.csv").write_bytes(b"no sections here\n")
    assert main(["metadata", str(novaseq_run), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["samples"] == []
    assert "SampleSheet.csv" in captured.err

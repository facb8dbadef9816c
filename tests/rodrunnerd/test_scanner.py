"""Reconciliation scans over real temp roots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rodrunner.config import AppConfig
from rodrunnerd.scanner import (
    RootSpec,
    Scanner,
    candidate_folder,
    newest_top_level_mtime,
    roots_from_config,
)

NOVASEQ_RUN = "250101_A00123_0042_AHXXXXXXXX"


def make_run(root: Path, name: str = NOVASEQ_RUN, *indicators: str) -> Path:
    """A minimal Illumina-named run folder with the given indicator files."""
    run = root / name
    (run / "Data" / "Intensities").mkdir(parents=True)
    (run / "RunInfo.xml").write_text("<RunInfo/>")
    for name_ in indicators:
        (run / name_).write_text("")
    return run


@pytest.fixture
def scanner() -> Scanner:
    """A scanner with the default operator file names."""
    return Scanner(trigger_file=".rodrunner-ingest", skip_file=".rodrunner-skip")


def test_scan_reports_complete_and_in_progress(tmp_path: Path, scanner: Scanner) -> None:
    """A NovaSeq run with only RTAComplete.txt is in progress; with CopyComplete.txt complete."""
    make_run(tmp_path, NOVASEQ_RUN, "RTAComplete.txt")
    make_run(tmp_path, "250102_A00123_0043_BHYYYYYYYY", "RTAComplete.txt", "CopyComplete.txt")
    report = scanner.scan([RootSpec("novaseq", tmp_path)])
    assert report.ok
    states = {Path(o.run_dir).name: o.entry.state for o in report.observations}
    assert states == {NOVASEQ_RUN: "in_progress", "250102_A00123_0043_BHYYYYYYYY": "complete"}


def test_scan_skips_not_a_run_and_hidden(tmp_path: Path, scanner: Scanner) -> None:
    """Loose files and hidden folders at the top of a root are not observations."""
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".snapshot").mkdir()
    make_run(tmp_path, NOVASEQ_RUN, "CopyComplete.txt")
    report = scanner.scan([RootSpec("novaseq", tmp_path)])
    assert [Path(o.run_dir).name for o in report.observations] == [NOVASEQ_RUN]


def test_missing_root_is_an_error_not_a_crash(tmp_path: Path, scanner: Scanner) -> None:
    """A root that does not exist is reported in errors and the other roots are scanned."""
    make_run(tmp_path / "ok", NOVASEQ_RUN, "CopyComplete.txt")
    report = scanner.scan(
        [RootSpec("novaseq", tmp_path / "missing"), RootSpec("novaseq", tmp_path / "ok")]
    )
    assert not report.ok
    assert str(tmp_path / "missing") in report.errors
    assert "does not exist" in report.errors[str(tmp_path / "missing")]
    assert len(report.observations) == 1


def test_operator_files_are_honoured(tmp_path: Path, scanner: Scanner) -> None:
    """.rodrunner-skip skips a complete run; .rodrunner-ingest forces an incomplete one."""
    make_run(tmp_path, NOVASEQ_RUN, "CopyComplete.txt", ".rodrunner-skip")
    make_run(tmp_path, "250102_A00123_0043_BHYYYYYYYY", ".rodrunner-ingest")
    report = scanner.scan([RootSpec("novaseq", tmp_path)])
    obs = {Path(o.run_dir).name: o.entry for o in report.observations}
    assert obs[NOVASEQ_RUN].state == "skipped"
    forced = obs["250102_A00123_0043_BHYYYYYYYY"]
    assert forced.state == "complete"
    assert forced.forced
    assert forced.trigger_mtime is not None


def test_look_classifies_one_folder(tmp_path: Path, scanner: Scanner) -> None:
    """look() returns the observation of one folder, and nothing for a vanished one."""
    run = make_run(tmp_path, NOVASEQ_RUN, "CopyComplete.txt")
    spec = RootSpec("novaseq", tmp_path)
    (obs,) = scanner.look(spec, str(run))
    assert obs.entry.state == "complete"
    assert obs.spec is spec
    assert scanner.look(spec, str(tmp_path / "gone")) == []


def test_newest_mtime_sees_only_the_top_level(tmp_path: Path) -> None:
    """The newest mtime covers the top-level entries, not deeper files."""
    run = make_run(tmp_path)
    os.utime(run / "RunInfo.xml", (1000, 1000))
    os.utime(run / "Data", (1000, 1000))
    os.utime(run, (1000, 1000))
    deep = run / "Data" / "Intensities" / "x"
    deep.write_text("x")
    os.utime(run / "Data", (1000, 1000))
    os.utime(run, (2000, 2000))
    assert newest_top_level_mtime(str(run)) == 2000
    assert newest_top_level_mtime(str(tmp_path / "gone")) is None


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/r/run1", "/r/run1"),
        ("/r/run1/CopyComplete.txt", "/r/run1"),
        ("/r/run1/1_A01/x.transferdone", "/r/run1"),
        ("/r", None),
        ("/elsewhere/x", None),
        ("/r/.hidden", None),
    ],
)
def test_candidate_folder(path: str, expected: str | None) -> None:
    """An event path maps to the folder at the top of the root it belongs to."""
    assert candidate_folder("/r", path) == expected


def test_roots_from_config(tmp_path: Path) -> None:
    """Configured types give their roots; without types, existing base_dir/<profile> dirs."""
    config = AppConfig.model_validate(
        {
            "sequencer": {
                "base_dir": str(tmp_path),
                "types": {
                    "novaseq": {},
                    "miseq": {"root": str(tmp_path / "m"), "observer": "polling"},
                },
            }
        }
    )
    specs = {s.sequencer_type: s for s in roots_from_config(config)}
    assert specs["novaseq"].root == tmp_path / "novaseq"
    assert specs["miseq"].root == tmp_path / "m"
    assert specs["miseq"].observer == "polling"
    (tmp_path / "nanopore").mkdir()
    bare = AppConfig.model_validate({"sequencer": {"base_dir": str(tmp_path)}})
    assert [s.sequencer_type for s in roots_from_config(bare)] == ["nanopore"]

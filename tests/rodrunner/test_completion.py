"""Completion rules evaluated on real folders with a few stats."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from rodrunner.completion import CLOCK_SKEW_SECONDS, evaluate_completion
from rodrunner.profiles import get_profile


def _touch(path: Path, content: bytes = b"", mtime: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def test_novaseq_with_only_rtacomplete_is_not_complete(tmp_path: Path) -> None:
    """A NovaSeq run with only RTAComplete.txt is not complete."""
    _touch(tmp_path / "RTAComplete.txt")
    verdict = evaluate_completion(tmp_path, get_profile("novaseq"))
    assert verdict.state == "in_progress"
    assert "CopyComplete.txt" in verdict.reason


def test_novaseq_with_copycomplete_is_complete(tmp_path: Path) -> None:
    """A NovaSeq run with CopyComplete.txt is complete, with the indicator's path and mtime."""
    indicator = _touch(tmp_path / "CopyComplete.txt", mtime=1_700_000_000)
    verdict = evaluate_completion(tmp_path, get_profile("novaseq"))
    assert verdict.complete
    assert verdict.indicator == indicator
    assert verdict.indicator_mtime == 1_700_000_000


def test_miseq_completes_on_rtacomplete(tmp_path: Path) -> None:
    """A MiSeq run completes on RTAComplete.txt."""
    _touch(tmp_path / "RTAComplete.txt")
    assert evaluate_completion(tmp_path, get_profile("miseq")).complete


def test_indicator_that_is_a_directory_is_not_trusted(tmp_path: Path) -> None:
    """A directory named like the indicator is reported, not taken as completion."""
    (tmp_path / "CopyComplete.txt").mkdir()
    verdict = evaluate_completion(tmp_path, get_profile("novaseqx"))
    assert not verdict.complete
    assert "is a directory" in verdict.reason


def test_indicator_with_a_future_mtime_is_not_trusted(tmp_path: Path) -> None:
    """An indicator dated in the future is reported as a clock problem."""
    now = time.time()
    _touch(tmp_path / "CopyComplete.txt", mtime=now + CLOCK_SKEW_SECONDS + 3600)
    verdict = evaluate_completion(tmp_path, get_profile("novaseq"), now=now)
    assert not verdict.complete
    assert "future" in verdict.reason


@pytest.mark.parametrize(
    "layout", ["m64089e_220615_173331.transferdone", "metadata/m84.transferdone"]
)
def test_pacbio_cell_completes_on_transferdone(tmp_path: Path, layout: str) -> None:
    """A SMRT cell completes on a *.transferdone in the cell or (Revio) in metadata/."""
    cell = tmp_path / "1_A01"
    cell.mkdir()
    assert not evaluate_completion(cell, get_profile("pacbio")).complete
    _touch(cell / layout)
    verdict = evaluate_completion(cell, get_profile("pacbio"))
    assert verdict.complete
    assert verdict.indicator == cell / layout


def test_nanopore_completes_on_final_summary(tmp_path: Path) -> None:
    """A MinKNOW run completes when final_summary_*.txt appears."""
    _touch(tmp_path / "sequencing_summary_PAE24142_c6028297.txt")
    assert not evaluate_completion(tmp_path, get_profile("nanopore")).complete
    _touch(tmp_path / "final_summary_PAE24142_c6028297.txt", b"instrument=PCT0094\n")
    assert evaluate_completion(tmp_path, get_profile("nanopore")).complete


@pytest.mark.parametrize(
    ("content", "complete", "reason"),
    [
        (json.dumps({"outcome": "OutcomeCompleted"}).encode(), True, "present"),
        (json.dumps({"outcome": "OutcomeFailed"}).encode(), False, "OutcomeFailed"),
        (b"", False, "empty"),
        (b'{"outcome": "Outco', False, "not valid JSON"),
        (b"[]", False, "None"),
    ],
)
def test_aviti_outcome_decides(tmp_path: Path, content: bytes, complete: bool, reason: str) -> None:
    """AVITI is complete only when RunUploaded.json says outcome OutcomeCompleted."""
    _touch(tmp_path / "RunUploaded.json", content)
    verdict = evaluate_completion(tmp_path, get_profile("aviti"))
    assert verdict.complete is complete
    assert reason in verdict.reason


def test_skip_file_wins_over_everything(tmp_path: Path) -> None:
    """A folder with the skip file is skipped even when complete and triggered."""
    _touch(tmp_path / "CopyComplete.txt")
    _touch(tmp_path / ".rodrunner-ingest")
    _touch(tmp_path / ".rodrunner-skip")
    assert evaluate_completion(tmp_path, get_profile("novaseq")).state == "skipped"


def test_trigger_file_forces_completion(tmp_path: Path) -> None:
    """The trigger file makes an incomplete folder complete, saying so, with its mtime."""
    _touch(tmp_path / "RTAComplete.txt")
    trigger = _touch(tmp_path / ".rodrunner-ingest", mtime=1_700_000_123)
    verdict = evaluate_completion(tmp_path, get_profile("novaseq"))
    assert verdict.complete
    assert verdict.forced
    assert verdict.reason.startswith("forced by .rodrunner-ingest")
    assert verdict.trigger_mtime == 1_700_000_123
    assert verdict.indicator == trigger


def test_operator_file_names_come_from_arguments(tmp_path: Path) -> None:
    """Configured trigger and skip file names replace the defaults."""
    _touch(tmp_path / "INGEST_NOW")
    profile = get_profile("novaseq")
    assert not evaluate_completion(tmp_path, profile).complete
    assert evaluate_completion(tmp_path, profile, trigger_file="INGEST_NOW").forced
    _touch(tmp_path / "NO")
    assert evaluate_completion(tmp_path, profile, skip_file="NO").state == "skipped"


def test_explicit_indicator_overrides_the_profile(tmp_path: Path) -> None:
    """An explicit completion_indicator replaces the profile's rule."""
    _touch(tmp_path / "RTAComplete.txt")
    profile = get_profile("novaseq")
    assert not evaluate_completion(tmp_path, profile).complete
    assert evaluate_completion(tmp_path, profile, completion_indicator="RTAComplete.txt").complete


def test_missing_folder_is_in_progress(tmp_path: Path) -> None:
    """A folder that vanished is simply not complete."""
    assert evaluate_completion(tmp_path / "gone", get_profile("miseq")).state == "in_progress"

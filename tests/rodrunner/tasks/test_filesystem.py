"""The Prefect tasks over discovery: complete run folders as paths, or as plain dicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from prefect import flow

from rodrunner.simulate import simulate_run
from rodrunner.tasks.filesystem import find_run_entries_task, find_sequencer_runs_task

DONE = "200624_A00834_0183_BHMTFYDRXX"


def _root(tmp_path: Path) -> Path:
    simulate_run(tmp_path, "novaseq", files=1, size=8)
    simulate_run(
        tmp_path, "novaseq", files=1, size=8, complete=False, run_id="200701_A00834_0190_AHMTGADRXX"
    )
    return tmp_path


def test_entries_are_only_complete_runs(tmp_path: Path) -> None:
    """The entries task's function returns the complete runs only, as JSON-able dicts."""
    runs = find_run_entries_task.fn(_root(tmp_path), "novaseq")
    assert [r["run_id"] for r in runs] == [DONE]
    assert runs[0]["state"] == "complete"
    assert runs[0]["run_dir"] == str(tmp_path / DONE)


def test_run_folders_are_path_strings(tmp_path: Path) -> None:
    """find_sequencer_runs_task returns the complete run folders as absolute path strings."""
    assert find_sequencer_runs_task.fn(_root(tmp_path), "novaseq") == [str(tmp_path / DONE)]


def test_completion_indicator_argument_overrides(tmp_path: Path) -> None:
    """The completion_indicator argument replaces the profile's rule."""
    runs = find_sequencer_runs_task.fn(_root(tmp_path), "novaseq", "RunInfo.xml")
    assert len(runs) == 2
    assert all(isinstance(r, str) for r in runs)


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_task_runs_inside_a_flow(tmp_path: Path) -> None:
    """Inside a Prefect flow both tasks return the complete runs."""
    root = _root(tmp_path)

    @flow
    def scan() -> tuple[list[str], list[dict[str, Any]]]:
        return find_sequencer_runs_task(root, "novaseq"), find_run_entries_task(root, "novaseq")

    paths, entries = scan()
    assert paths == [str(root / DONE)]
    assert [r["run_id"] for r in entries] == [DONE]

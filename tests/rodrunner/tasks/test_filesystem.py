"""The Prefect task over discovery: complete runs as plain dicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from prefect import flow

from rodrunner.simulate import simulate_run
from rodrunner.tasks.filesystem import find_sequencer_runs_task


def _root(tmp_path: Path) -> Path:
    simulate_run(tmp_path, "novaseq", files=1, size=8)
    simulate_run(
        tmp_path, "novaseq", files=1, size=8, complete=False, run_id="200701_A00834_0190_AHMTGADRXX"
    )
    return tmp_path


def test_plain_function_returns_only_complete_runs(tmp_path: Path) -> None:
    """The task's function returns the complete runs only, as JSON-able dicts."""
    runs = find_sequencer_runs_task.fn(_root(tmp_path), "novaseq")
    assert [r["run_id"] for r in runs] == ["200624_A00834_0183_BHMTFYDRXX"]
    assert runs[0]["state"] == "complete"
    assert runs[0]["run_dir"] == str(tmp_path / "200624_A00834_0183_BHMTFYDRXX")


def test_completion_indicator_argument_overrides(tmp_path: Path) -> None:
    """The completion_indicator argument replaces the profile's rule."""
    runs = find_sequencer_runs_task.fn(_root(tmp_path), "novaseq", "RunInfo.xml")
    assert len(runs) == 2


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_task_runs_inside_a_flow(tmp_path: Path) -> None:
    """Inside a Prefect flow the task returns the complete runs."""
    root = _root(tmp_path)

    @flow
    def scan() -> list[dict[str, Any]]:
        return find_sequencer_runs_task(root, "novaseq")

    assert [r["run_id"] for r in scan()] == ["200624_A00834_0183_BHMTFYDRXX"]

"""The parse_sequencer_run task."""

from __future__ import annotations

from pathlib import Path

import pytest

from rodrunner.errors import NotARunFolderError
from rodrunner.simulate import simulate_run
from rodrunner.tasks.parsing import parse_sequencer_run


def test_parses_a_simulated_novaseq_run(tmp_path: Path) -> None:
    """The task returns the run's metadata with the folder's run id."""
    run_dir = simulate_run(tmp_path, "novaseq", files=1, size=10)
    metadata = parse_sequencer_run.fn(run_dir, "novaseq")
    assert metadata.run_id == run_dir.name
    assert metadata.platform == "illumina"


def test_not_a_run_folder_is_typed_error(tmp_path: Path) -> None:
    """An empty folder raises NotARunFolderError (permanent), not a crash."""
    with pytest.raises(NotARunFolderError):
        parse_sequencer_run.fn(tmp_path)

"""run_id_of: a run's id is the one its metadata names, whatever its folder is called."""

from __future__ import annotations

from pathlib import Path

import pytest

from rodrunner.errors import NotARunFolderError
from rodrunner.parsers import parse_run_folder, run_id_of
from rodrunner.simulate import simulate_run


def test_a_renamed_illumina_folder_keeps_its_runinfo_id(tmp_path: Path) -> None:
    """The RunInfo id wins over the folder name, as in the full metadata."""
    made = simulate_run(tmp_path / "staging", "miseq", files=2, size=10)
    renamed = made.rename(tmp_path / "renamed")
    assert run_id_of(renamed, "miseq") == made.name
    assert run_id_of(renamed) == parse_run_folder(renamed).run_id


def test_a_folder_without_metadata_is_not_a_run(tmp_path: Path) -> None:
    """No metadata files: NotARunFolderError, as the full parse says."""
    with pytest.raises(NotARunFolderError):
        run_id_of(tmp_path)

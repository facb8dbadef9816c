"""``rodrunner simulate`` on the command line: bad roots are one message, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from rodrunner.cli import main


def test_root_that_is_a_file_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A root that is a regular file fails with exit 1 and a message naming it, no traceback."""
    root = tmp_path / "not-a-dir"
    root.write_text("x")
    assert main(["simulate", str(root), "--type", "miseq", "--files", "1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write the run folder under ")
    assert str(root) in err
    assert "Traceback" not in err


def test_simulated_run_folder_is_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A good root gets a run folder whose path is the one line printed."""
    assert main(["simulate", str(tmp_path), "--type", "miseq", "--files", "1"]) == 0
    printed = Path(capsys.readouterr().out.strip())
    assert printed.parent == tmp_path
    assert (printed / "RTAComplete.txt").is_file()

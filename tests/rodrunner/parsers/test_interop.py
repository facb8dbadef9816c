"""The optional InterOp QC summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from rodrunner.parsers.interop import interop_available, interop_summary
from tests.rodrunner.parsers.conftest import RUNS


def test_no_interop_folder(tmp_path: Path) -> None:
    """Without an InterOp/ folder there is no QC and nothing to warn about."""
    assert interop_summary(tmp_path) == ({}, None)


@pytest.mark.skipif(not interop_available(), reason="optional 'interop' extra not installed")
def test_unusable_interop_folder_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    """An InterOp/ folder with garbage gives a problem string, never an exception."""
    source = RUNS / "NovaSeq6000/wtsi-npg_npg_tracking__200303_A00562_0352"
    for name in ("RunInfo.xml", "RunParameters.xml"):
        (tmp_path / name).write_bytes((source / name).read_bytes())
    (tmp_path / "InterOp").mkdir()
    (tmp_path / "InterOp" / "TileMetricsOut.bin").write_bytes(b"\x02\x0agarbage")
    qc, problem = interop_summary(tmp_path)
    assert qc == {}
    assert problem

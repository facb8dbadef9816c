"""ONT final_summary and MinKNOW reports."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rodrunner.errors import MetadataFileError
from rodrunner.parsers.nanopore import parse_final_summary, parse_report
from tests.rodrunner.parsers.conftest import RUNS, file_id

SUMMARIES = sorted(RUNS.glob("ONT_*/*/final_summary*.txt"))
REPORTS = sorted(RUNS.glob("ONT_*/*/report*.md"))


@pytest.mark.parametrize("path", SUMMARIES, ids=file_id)
def test_every_summary_parses(path: Path) -> None:
    """Every final_summary names instrument, flow cell, date and sample."""
    fields = parse_final_summary(path.name, path.read_bytes())
    assert fields["instrument_model"] in {"MinION", "PromethION"}
    assert fields["flowcell_id"]
    assert fields["samples"]


@pytest.mark.parametrize("path", REPORTS, ids=file_id)
def test_every_report_parses(path: Path) -> None:
    """Every MinKNOW report's Tracking ID gives device, flow cell and MinKNOW version."""
    fields = parse_report(path.name, path.read_bytes())
    assert fields["instrument_model"] in {"GridION", "PromethION"}
    assert fields["control_software"] == "MinKNOW"
    assert fields["flowcell_id"]


def test_promethion_summary_values() -> None:
    """Kit and flow cell product come out of the protocol string."""
    path = RUNS / "ONT_PromethION/qbicsoftware_core-utils-lib__20200122_PAE12345"
    fields = parse_final_summary("final_summary.txt", (path / "final_summary_.txt").read_bytes())
    assert fields["chemistry"] == "SQK-LSK109"
    assert fields["flowcell_mode"] == "FLO-PRO002"
    assert fields["run_id"] == "20200211_1552_1-A3-D3_PAE24142_5a7cfc2a"


def test_report_without_tracking_id() -> None:
    """A markdown file without a Tracking ID block is a typed error."""
    with pytest.raises(MetadataFileError, match="Tracking ID"):
        parse_report("report_x.md", b"# hello\n")


def test_summary_without_keys() -> None:
    """A text file without instrument/flow_cell_id is a typed error."""
    with pytest.raises(MetadataFileError, match="final_summary"):
        parse_final_summary("final_summary_x.txt", b"hello=world\n")


@given(st.binary(max_size=1000))
def test_any_bytes_only_typed_error(data: bytes) -> None:
    """Any bytes in: fields or MetadataFileError out, for both formats."""
    with contextlib.suppress(MetadataFileError):
        parse_final_summary("final_summary_x.txt", data)
    with contextlib.suppress(MetadataFileError):
        parse_report("report_x.md", data)
    with contextlib.suppress(MetadataFileError):
        parse_report("report_x.json", data)

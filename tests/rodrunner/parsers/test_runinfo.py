"""RunInfo.xml, every version in the corpus."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rodrunner.errors import MetadataFileError
from rodrunner.parsers.runinfo import parse_runinfo
from tests.rodrunner.parsers.conftest import RUNS, file_id, fixture_files

FILES = [p for p in fixture_files("*.xml") if p.name.lower().startswith("runinfo")]


@pytest.mark.parametrize("path", FILES, ids=file_id)
def test_every_real_runinfo_parses(path: Path) -> None:
    """Every real RunInfo.xml gives a run ID, an instrument, reads and lanes."""
    fields = parse_runinfo(path.name, path.read_bytes())
    assert fields["run_id"]
    assert fields["instrument_id"]
    assert fields["reads"]
    assert fields["lanes"] >= 1
    assert len(fields["run_date"]) == 10


def test_2010_hiseq_without_version() -> None:
    """The 2010 HiSeq file: FirstCycle/LastCycle reads, lanes from <Tiles>, date from the ID."""
    path = RUNS / "HiSeq2000/wtsi-npg_npg_tracking__100914_HS3_05281/RunInfo.xml"
    fields = parse_runinfo(path.name, path.read_bytes())
    assert [(r.cycles, r.is_index) for r in fields["reads"]] == [(100, False), (100, False)]
    assert fields["lanes"] == 8
    assert fields["flowcell_id"] == "205MBABXX"
    assert fields["run_date"] == "2010-09-14"


def test_us_date_with_am_pm() -> None:
    """NovaSeq 6000's 'M/D/YYYY h:mm:ss AM' date becomes ISO."""
    path = RUNS / "NovaSeq6000/wtsi-npg_npg_tracking__180517_A00512_S4/runInfo.novaseq.xml"
    assert parse_runinfo(path.name, path.read_bytes())["run_date"] == "2018-05-17"


def test_v6_i5_reverse_complement_is_still_an_index() -> None:
    """v6 reads keep IsIndexedRead as the index flag, whatever IsReverseComplement says."""
    path = RUNS / "NovaSeqX/wtsi-npg_npg_tracking__230628_LH00210/RunInfo.xml"
    reads = parse_runinfo(path.name, path.read_bytes())["reads"]
    assert [r.is_index for r in reads] == [False, True, True, False]


def test_wrong_root_is_named() -> None:
    """A RunParameters file fed as RunInfo says what it got."""
    with pytest.raises(MetadataFileError, match="not <RunInfo>"):
        parse_runinfo("RunInfo.xml", b"<RunParameters/>")


@given(st.binary(max_size=1000))
def test_any_bytes_only_typed_error(data: bytes) -> None:
    """Any bytes in: fields or MetadataFileError out."""
    with contextlib.suppress(MetadataFileError):
        parse_runinfo("RunInfo.xml", data)


@given(st.text(max_size=50), st.text(max_size=20), st.text(max_size=20))
def test_any_attribute_values(run_id: str, cycles: str, date: str) -> None:
    """Odd attribute and date values never escape as anything but MetadataFileError."""
    from xml.sax.saxutils import escape, quoteattr

    doc = (
        f"<RunInfo Version='5'><Run Id={quoteattr(run_id)} Number={quoteattr(cycles)}>"
        f"<Date>{escape(date)}</Date><Reads><Read Number='1' NumCycles={quoteattr(cycles)}/>"
        "</Reads></Run></RunInfo>"
    )
    with contextlib.suppress(MetadataFileError):
        parse_runinfo("RunInfo.xml", doc.encode())

"""Sample sheets v1, v2 and hybrids."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rodrunner.errors import MetadataFileError
from rodrunner.parsers.samplesheet import parse_samplesheet
from tests.rodrunner.parsers.conftest import RUNS, file_id, fixture_files

FILES = [p for p in fixture_files("*.csv") if "samplesheet" in p.name.lower()]


@pytest.mark.parametrize("path", FILES, ids=file_id)
def test_every_real_sheet_parses(path: Path) -> None:
    """Every real sample sheet gives a version and samples."""
    fields = parse_samplesheet(path.name, path.read_bytes())
    assert fields["samplesheet_version"] in {1, 2}
    assert fields["samples"]


@pytest.mark.parametrize(
    ("relpath", "version", "count", "first"),
    [
        ("HiSeq2500/biocore_mg-scripts__190809_D00611_0709/"
         "2019_08_02_Feist_36-39_pool2_samplesheet.csv", 1, 386,
         ("MDL-233", "MDL-233", "Feist_11661", 1, "TCGAACCA", "AAGCTGGT")),
        ("NovaSeqX/miso-lims_runscanner__231011_pi1-07_10B/SampleSheet.csv", 2, 192,
         ("TSPF-NA12878-10B-Rep1", None, None, 1, "CCGCGGTT", "AGCGCTAG")),
        ("NovaSeq6000/MultiQC_test-data__201002_A01052_Y28N123/SampleSheet.csv", 2, 8,
         ("PRJ200438_LPRJ200438", None, "Dawson", 4, "CATGCGAT", None)),
        ("NovaSeq6000/MultiQC_test-data__210615_A00302_0309/SampleSheet.csv", 1, 4,
         ("S34863_GBC_Multiplex", None, None, 3, "ACAGGGCTAC", "GAGCATCTAT")),
        ("HiSeqX/Clinical-Genomics_cg__170517_ST-E00266_0210/SampleSheet_bcl2fastq.csv", 1, 9,
         ("SVE2648A1_TATCAGCA", "480447", "480447", 1, "TATCAGCA", None)),
        ("NextSeq1000_2000/imperial-genomics-facility_data-management-python__NextSeq2k/"
         "test1_SampleSheet.csv", 2, 16,
         ("Human_PBMC_R1", None, "Project1", None, "TCTTAAAG", None)),
        ("HiSeq2500/Clinical-Genomics_demultiplexing__170517_D00456_0219/SampleSheet.csv", 1, 96,
         ("LEI2701A172_dual65", None, "814813", 1, "CGGCTATG", "TATAGCCT")),
        ("NovaSeq6000/wtsi-npg_npg_irods__180709_A00538_0010/samplesheet_26291.csv", 1, 26,
         ("22705454", "5290STDY7575133", None, 1, "AACACATA", "AATTCTAA")),
    ],
)  # fmt: skip
def test_sheet_values(relpath: str, version: int, count: int, first: tuple[object, ...]) -> None:
    """Version, sample count and the first sample as read off each sheet."""
    path = RUNS / relpath
    fields = parse_samplesheet(path.name, path.read_bytes())
    assert fields["samplesheet_version"] == version
    assert len(fields["samples"]) == count
    s = fields["samples"][0]
    assert (s.sample_id, s.sample_name, s.project, s.lane, s.index, s.index2) == first


def test_nul_bytes_removed_with_warning() -> None:
    """The iSeq LRM sheet's NUL index2 cells become empty, with a warning."""
    path = RUNS / "iSeq100/biocore_mg-scripts__20220912_FS10001773_27/SampleSheet.csv"
    fields = parse_samplesheet(path.name, path.read_bytes())
    assert fields["samples"][0].index2 is None
    assert fields["warnings"]


def test_bom_and_crlf() -> None:
    """A BOM and CRLF line ends are accepted."""
    data = b"\xef\xbb\xbf[Header]\r\nIEMFileVersion,4\r\n[Data]\r\nSample_ID,index\r\nS1,ACGT\r\n"
    fields = parse_samplesheet("SampleSheet.csv", data)
    assert [(s.sample_id, s.index) for s in fields["samples"]] == [("S1", "ACGT")]


def test_casava_sheet_without_sections() -> None:
    """A section-less CASAVA 1.8 sheet is version 1; a one-column dual index is split."""
    data = b"FCID,Lane,SampleID,Index,SampleProject\nHX,2,S1,ACGT-TTAA,P1\nHX,3,S2,GGCC,P2\n"
    fields = parse_samplesheet("SampleSheet.csv", data)
    assert fields["samplesheet_version"] == 1
    got = [(s.sample_id, s.lane, s.index, s.index2, s.project) for s in fields["samples"]]
    assert got == [("S1", 2, "ACGT", "TTAA", "P1"), ("S2", 3, "GGCC", None, "P2")]


def test_not_a_sheet() -> None:
    """Text without sections is a typed error naming the file."""
    with pytest.raises(MetadataFileError, match=r"^SampleSheet\.csv: has no \[Header\]"):
        parse_samplesheet("SampleSheet.csv", b"a,b,c\n1,2,3\n")


@given(st.binary(max_size=1000))
def test_any_bytes_only_typed_error(data: bytes) -> None:
    """Any bytes in: fields or MetadataFileError out."""
    with contextlib.suppress(MetadataFileError):
        parse_samplesheet("SampleSheet.csv", data)


@given(st.lists(st.text(max_size=30), max_size=20))
def test_any_sectioned_text(lines: list[str]) -> None:
    """Arbitrary lines under real section headers: fields or MetadataFileError out."""
    text = "[Header]\nFileFormatVersion,2\n[BCLConvert_Data]\n" + "\n".join(lines)
    with contextlib.suppress(MetadataFileError):
        parse_samplesheet("SampleSheet.csv", text.encode())

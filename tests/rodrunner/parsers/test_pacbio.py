"""PacBio RS II, Sequel, Sequel II/IIe and Revio metadata."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rodrunner.errors import MetadataFileError
from rodrunner.parsers.pacbio import parse_pacbio
from tests.rodrunner.parsers.conftest import RUNS, file_id

FILES = sorted(RUNS.glob("PacBio_*/*/*.xml"))


@pytest.mark.parametrize("path", FILES, ids=file_id)
def test_every_real_file_parses(path: Path) -> None:
    """Every PacBio XML gives the movie as run ID, a model and a date."""
    fields = parse_pacbio(path.name, path.read_bytes())
    assert fields["run_id"].startswith("m")
    assert fields["instrument_model"] in {"RS II", "Sequel", "Sequel II", "Sequel IIe", "Revio"}
    assert len(fields["run_date"]) == 10


def test_revio_lying_encoding() -> None:
    """Revio metadata declares utf-16 but is UTF-8: it parses, model Revio from Run@."""
    path = RUNS / "PacBio_Revio/wtsi-npg_npg_irods__r84047_20230404"
    path = path / "m84047_230404_164952_s1.metadata.xml"
    assert b"utf-16" in path.read_bytes()[:100]
    fields = parse_pacbio(path.name, path.read_bytes())
    assert fields["instrument_model"] == "Revio"
    assert fields["run_id"] == "m84047_230404_164952_s1"
    assert [s.sample_id for s in fields["samples"]] == ["PBcontrol13657123"]


@pytest.mark.parametrize(
    ("relpath", "cell"),
    [
        ("miso-lims_runscanner__r84028_20230214/m84028_230214_023007_s1.metadata.xml", "EA013196"),
        ("wtsi-npg_npg_irods__r84047_20230404/m84047_230404_164952_s1.metadata.xml", "EA017542"),
        ("wtsi-npg_npg_irods__r84098_20240219/m84098_240219_110741_s1.metadata.xml", "EA077036"),
    ],
)
def test_revio_flowcell_is_the_cell_not_the_tray(relpath: str, cell: str) -> None:
    """Early Revio files put the tray barcode in CellPac@Barcode; the cell ID is LabelNumber."""
    path = RUNS / "PacBio_Revio" / relpath
    fields = parse_pacbio(path.name, path.read_bytes())
    assert fields["flowcell_id"] == cell
    assert fields["instrument_model"] == "Revio"


def test_rs2_bom_and_movie_from_name() -> None:
    """RS II metadata.xml (UTF-8 BOM) takes its movie and SMRT cell ID from the file name."""
    path = RUNS / "PacBio_RSII/miso-lims_runscanner__RS00118_20170706"
    path = path / "m170706_221941_00118_c101230500310000001823293612071770_s1_p0.metadata.xml"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    fields = parse_pacbio(path.name, path.read_bytes())
    assert fields["flowcell_id"] == "101230500310000001823293612071770"
    assert fields["instrument_id"] == "00118"
    assert fields["run_date"] == "2017-07-06"


def test_not_pacbio() -> None:
    """An XML that is not PacBio metadata is a typed error."""
    with pytest.raises(MetadataFileError, match="CollectionMetadata"):
        parse_pacbio("x.subreadset.xml", b"<SubreadSet/>")


@given(st.binary(max_size=1000))
def test_any_bytes_only_typed_error(data: bytes) -> None:
    """Any bytes in: fields or MetadataFileError out."""
    with contextlib.suppress(MetadataFileError):
        parse_pacbio("m64001_200101_000000.subreadset.xml", data)

"""RunParameters.xml / runParameters.xml of every Illumina family in the corpus."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rodrunner.errors import MetadataFileError
from rodrunner.parsers.runparameters import parse_runparameters
from tests.rodrunner.parsers.conftest import RUNS, file_id, fixture_files

FILES = [p for p in fixture_files("*.xml") if p.name.lower().startswith("runparameters")]


@pytest.mark.parametrize("path", FILES, ids=file_id)
def test_every_real_runparameters_parses(path: Path) -> None:
    """Every real RunParameters file names its model, software and instrument."""
    fields = parse_runparameters(path.name, path.read_bytes())
    assert fields["instrument_model"]
    assert fields["sequencer_type"]
    assert fields["control_software"]
    assert fields["control_software_version"]
    assert fields["instrument_id"]
    assert fields["reads"]


@pytest.mark.parametrize(
    ("relpath", "model", "version", "mode"),
    [
        ("HiSeq2000/bbi-lab_bbi-dmux__130531_SN743_0384/runParameters.xml", "HiSeq 2000",
         "1.5.15.1", "HiSeq Flow Cell v3"),
        ("HiSeq4000/wtsi-npg_npg_tracking__200213_K00340_SR/"
         "runParameters.hiseq4000.single.twoind.xml", "HiSeq 4000", "HD 3.4.0.38",
         "HiSeq 3000/4000 SR"),
        ("HiSeqX/wtsi-npg_npg_irods__151211_ST-E00174_HX3/runParameters.xml", "HiSeq X",
         "3.3.39", "HiSeq X"),
        ("MiSeq/bbi-lab_bbi-dmux__200529_M00511_0140/runParameters.xml", "MiSeq", "2.6.2.1",
         None),
        ("NextSeq500_550/bbi-lab_bbi-dmux__200106_NS500488_0971/RunParameters.xml",
         "NextSeq 500", "2.2.0.4", "High"),
        ("NovaSeq6000/nthmost_illuminate__240802_A01934/RunParameters.xml", "NovaSeq 6000",
         "1.8.1", "S1"),
        ("NovaSeqX/wtsi-npg_npg_tracking__230131_Pi1-9/RunParameters.novaseqx.prod.xml",
         "NovaSeq X Plus", "1.2.0.26276", "25B"),
        ("NovaSeqX/Clinical-Genomics_cg__20231108_LH00188_0028/RunParameters.xml",
         "NovaSeq X Plus", "1.1.0.18335", "10B"),
        ("iSeq100/biocore_mg-scripts__20220912_FS10001773_27/RunParameters.xml", "iSeq 100",
         "2.0.0.661", None),
    ],
)  # fmt: skip
def test_model_version_mode(relpath: str, model: str, version: str, mode: str | None) -> None:
    """Model, control software version and flowcell mode as read off each file."""
    path = RUNS / relpath
    fields = parse_runparameters(path.name, path.read_bytes())
    assert fields["instrument_model"] == model
    assert fields["control_software_version"] == version
    assert fields.get("flowcell_mode") == mode


def test_novaseq_v15_chemistry() -> None:
    """SbsConsumableVersion 3 is the v1.5 chemistry (i5 orientation change)."""
    path = RUNS / "NovaSeq6000/wtsi-npg_npg_tracking__201124_A00508_XP_v1.5"
    path = path / "RunParameters.novaseq.xp.v1.5.xml"
    assert parse_runparameters(path.name, path.read_bytes())["chemistry"] == "v1.5"


def test_novaseqx_flowcell_from_consumables() -> None:
    """NovaSeq X: the flowcell is the FlowCell consumable, not the first serial number."""
    path = RUNS / "NovaSeqX/miso-lims_runscanner__20251210_LH00224_0271/RunParameters.xml"
    assert parse_runparameters(path.name, path.read_bytes())["flowcell_id"] == "23FF7CLT4"


def test_wrong_root_is_named() -> None:
    """A RunInfo fed as RunParameters says what it got."""
    with pytest.raises(MetadataFileError, match="not <RunParameters>"):
        parse_runparameters("RunParameters.xml", b"<RunInfo/>")


@given(st.binary(max_size=1000))
def test_any_bytes_only_typed_error(data: bytes) -> None:
    """Any bytes in: fields or MetadataFileError out."""
    with contextlib.suppress(MetadataFileError):
        parse_runparameters("RunParameters.xml", data)

"""Element AVITI RunParameters.json and RunManifest."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rodrunner.errors import MetadataFileError
from rodrunner.parsers import parse_files
from rodrunner.parsers.element import parse_run_manifest, parse_run_parameters_json
from tests.rodrunner.parsers.conftest import RUNS, file_id

PARAMETERS = sorted(RUNS.glob("Element_AVITI/*/RunParameters.json"))
MANIFESTS = sorted(RUNS.glob("Element_AVITI/*/RunManifest*"))


@pytest.mark.parametrize("path", PARAMETERS, ids=file_id)
def test_every_run_parameters_parses(path: Path) -> None:
    """Every RunParameters.json names run, instrument, flow cell and two lanes."""
    fields = parse_run_parameters_json(path.name, path.read_bytes())
    assert fields["instrument_id"] == "AV244103"
    assert fields["flowcell_id"]
    assert fields["lanes"] == 2


@pytest.mark.parametrize("path", MANIFESTS, ids=file_id)
def test_every_manifest_parses(path: Path) -> None:
    """Every RunManifest (CSV in either section case, or JSON) parses."""
    fields = parse_run_manifest(path.name, path.read_bytes())
    assert fields["sequencer_type"] == "aviti"


def test_cytoprofiling_has_no_reads() -> None:
    """A cytoprofiling run (Batches, no Cycles) has no reads."""
    path = RUNS / "Element_AVITI/wtsi-npg_npg_tracking__20250415_AV244103_2345_cytoprofiling"
    fields = parse_run_parameters_json(
        "RunParameters.json", (path / "RunParameters.json").read_bytes()
    )
    assert "reads" not in fields
    assert fields["run_id"] == "20250415_AV244103_2345"


def test_upper_case_sections() -> None:
    """[SAMPLES] in capitals gives the samples."""
    path = RUNS / "Element_AVITI/xuebingwu_aviti-bases2fastq/RunManifest.csv"
    fields = parse_run_manifest(path.name, path.read_bytes())
    assert len(fields["samples"]) == 14
    assert (fields["samples"][0].sample_id, fields["samples"][0].index) == ("hek-gDNA1", "TAAGGCGA")


def test_manifest_json_projects_and_lanes() -> None:
    """The bases2fastq JSON gives one entry per sample and lane, with its project."""
    path = RUNS / "Element_AVITI/MultiQC_test-data__bases2fastq_UltraQ/RunManifest.json"
    samples = parse_run_manifest(path.name, path.read_bytes())["samples"]
    assert {(s.sample_id, s.lane) for s in samples[:2]} == {("sample_0", 1), ("sample_0", 2)}
    assert samples[0].project == "DefaultProject"


def test_run_name_is_not_the_run_id() -> None:
    """Without RunFolderName the run ID is the folder's name; RunName is only a fallback."""
    path = RUNS / "Element_AVITI/wtsi-npg_npg_tracking__20250127_AV244103_NT1850075L"
    document = json.loads((path / "RunParameters.json").read_bytes())
    # npg_tracking's 20250101_AV244103_NT1234567E file has RunFolderName blank like this.
    document["RunFolderName"] = ""
    files = {"RunParameters.json": json.dumps(document).encode()}
    fields = parse_run_parameters_json("RunParameters.json", files["RunParameters.json"])
    assert "run_id" not in fields
    assert fields["run_name"] == "1234_NT1850075L"
    folder = "20250127_AV244103_1234_NT1850075L"
    assert parse_files(files, run_id=folder).run_id == folder
    assert parse_files(files).run_id == "1234_NT1850075L"


def test_platform_version_is_the_control_software() -> None:
    """PlatformVersion (as in a real AVITI OS 2.6.2 file) is the control software version."""
    data = b'{"RunName": "A2349523513", "InstrumentName": "AV242106", "PlatformVersion": "2.6.2"}'
    fields = parse_run_parameters_json("RunParameters.json", data)
    assert (fields["control_software"], fields["control_software_version"]) == (
        "AVITI OS",
        "2.6.2",
    )


def test_bad_json() -> None:
    """Broken JSON is a typed error naming the file."""
    with pytest.raises(MetadataFileError, match=r"^RunParameters\.json: is not valid JSON"):
        parse_run_parameters_json("RunParameters.json", b'{"RunName": ')


@given(st.binary(max_size=1000))
def test_any_bytes_only_typed_error(data: bytes) -> None:
    """Any bytes in: fields or MetadataFileError out."""
    with contextlib.suppress(MetadataFileError):
        parse_run_parameters_json("RunParameters.json", data)
    with contextlib.suppress(MetadataFileError):
        parse_run_manifest("RunManifest.csv", data)
    with contextlib.suppress(MetadataFileError):
        parse_run_manifest("RunManifest.json", data)

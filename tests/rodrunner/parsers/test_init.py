"""parse_files / parse_run_folder: expected values written by hand from the real files."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from rodrunner.errors import (
    MetadataFileError,
    NotARunFolderError,
    RodrunnerError,
    RunFolderError,
)
from rodrunner.models import RunMetadata
from rodrunner.parsers import METADATA_FILE_PATTERNS, parse_files, parse_run_folder
from tests.rodrunner.parsers.conftest import RUNS, folder_files


def reads(meta: RunMetadata) -> str:
    """Reads as '151,8i,8i,151'."""
    return ",".join(f"{r.cycles}{'i' if r.is_index else ''}" for r in meta.reads)


# folder -> (run_id passed as the folder name or None, expected fields). Read off the files.
EXPECTED: dict[str, tuple[str | None, dict[str, Any]]] = {
    "HiSeq2000/wtsi-npg_npg_tracking__100914_HS3_05281": (
        None,
        {
            "run_id": "100914_HS3_05281_A_205MBABXX",
            "sequencer_type": "hiseq",
            "instrument_model": "HiSeq 2000",
            "instrument_id": "SN292",
            "run_number": 78,
            "flowcell_id": "205MBABXX",
            "run_date": "2010-09-14",
            "lanes": 8,
            "reads": "100,100",
            "control_software_version": "1.1.37",
            "rta_version": "1.7.45",
        },
    ),
    "HiSeq2500/Molmed_checkQC__170726_D00118_0303": (
        None,
        {
            "run_id": "170726_D00118_0303_BCB1TVANXX",
            "sequencer_type": "hiseq",
            "instrument_model": "HiSeq 2500",
            "instrument_id": "D00118",
            "run_number": 303,
            "flowcell_id": "CB1TVANXX",
            "run_date": "2017-07-26",
            "lanes": 8,
            "reads": "126,8i,8i,126",
            "samplesheet_version": 1,
            "control_software": "HiSeq Control Software",
            "control_software_version": "2.2.58",
            "rta_version": "1.18.64",
            "chemistry": "HiSeq SBS Kit v4",
            "flowcell_mode": "RapidHighOutput",
        },
    ),
    "HiSeq2500/Clinical-Genomics_demultiplexing__170517_D00456_0219": (
        None,
        {
            "run_id": "170517_D00456_0219_AHJY2MBCXY",
            "sequencer_type": "hiseq",
            "instrument_model": "HiSeq 2500",
            "instrument_id": "D00456",
            "run_number": 219,
            "flowcell_id": "HJY2MBCXY",
            "run_date": "2017-05-17",
            "reads": "51,8i,8i",
            "samplesheet_version": 1,
            "projects": ["814813"],
            "control_software_version": "2.2.58",
            "rta_version": "1.18.64",
            "chemistry": "HiSeq Rapid SBS Kit v2",
            "flowcell_mode": "RapidRun",
        },
    ),
    "NovaSeq6000/wtsi-npg_npg_irods__180709_A00538_0010": (
        None,
        {
            "run_id": "180709_A00538_0010_BH3FCMDRXX",
            "sequencer_type": "novaseq",
            "instrument_model": "NovaSeq 6000",
            "instrument_id": "A00538",
            "run_number": 10,
            "flowcell_id": "H3FCMDRXX",
            "run_date": "2018-07-09",
            "lanes": 2,
            "reads": "151,8i,8i,151",
            "samplesheet_version": 1,
            "control_software_version": "1.4.0",
            "rta_version": "v3.3.3",
            "flowcell_mode": "S1",
        },
    ),
    "HiSeq2500/broadinstitute_viral-ngs__SL-HDF_0700": (
        None,
        {
            "run_id": "150821_SL-HDF_0700_AHVFF2ADXX",
            "sequencer_type": "hiseq",
            "instrument_model": None,
            "instrument_id": "SL-HDF",
            "run_number": 700,
            "flowcell_id": "HVFF2ADXX",
            "run_date": "2015-08-21",
            "lanes": 2,
            "reads": "101,8i,8i,101",
        },
    ),
    "HiSeq4000/wtsi-npg_npg_tracking__171116_K00340_PE": (
        None,
        {
            "run_id": "171116_HF1_24359_A_HLG55BBXX",
            "instrument_model": "HiSeq 4000",
            "instrument_id": "K00340",
            "run_number": 84,
            "flowcell_id": "HLG55BBXX",
            "run_date": "2017-11-16",
            "lanes": 8,
            "reads": "26,8i,98",
            "control_software_version": "HD 3.4.0.38",
            "rta_version": "2.7.7",
        },
    ),
    "HiSeqX/Clinical-Genomics_cg__170517_ST-E00266_0210": (
        None,
        {
            "run_id": "170517_ST-E00266_0210_BHJCFFALXX",
            "sequencer_type": "hiseq",
            "instrument_model": "HiSeq X",
            "instrument_id": "ST-E00266",
            "run_number": 210,
            "flowcell_id": "HJCFFALXX",
            "run_date": "2017-05-17",
            "lanes": 8,
            "reads": "151,8i,151",
            "samplesheet_version": 2,
        },
    ),
    "MiSeq/Molmed_checkQC__230825_M04034_0043": (
        None,
        {
            "run_id": "230825_M04034_0043_000000000-L6NVV",
            "sequencer_type": "miseq",
            "instrument_model": "MiSeq",
            "instrument_id": "M04034",
            "run_number": 43,
            "flowcell_id": "000000000-L6NVV",
            "run_date": "2023-08-25",
            "lanes": 1,
            "reads": "151,8i,8i,151",
            "samplesheet_version": 2,
            "projects": ["AB-1234"],
            "control_software_version": "4.0.0.1769",
            "chemistry": "Version2",
        },
    ),
    "MiniSeq/wtsi-npg_npg_tracking__160607_ML-PT1-15_0009": (
        None,
        {
            "run_id": "160607_ML-PT1-15_0009_A000H02MFC",
            "sequencer_type": "miniseq",
            "instrument_model": "MiniSeq",
            "instrument_id": "ML-PT1-15",
            "run_number": 9,
            "flowcell_id": "000H02MFC",
            "run_date": "2016-06-07",
            "lanes": 1,
            "reads": "30,8i,30",
        },
    ),
    "NextSeq500_550/miso-lims_runscanner__170609_NB551051_0017": (
        None,
        {
            "run_id": "170609_NB551051_0017_AHLFFJBGX2",
            "sequencer_type": "nextseq",
            "instrument_model": "NextSeq 550",
            "instrument_id": "NB551051",
            "run_number": 17,
            "flowcell_id": "HLFFJBGX2",
            "run_date": "2017-06-09",
            "lanes": 4,
            "reads": "75,8i,75",
            "control_software": "NextSeq Control Software",
            "control_software_version": "2.1.0.31",
            "rta_version": "2.4.11",
            "chemistry": "NextSeq High",
            "flowcell_mode": "High",
        },
    ),
    "NextSeq1000_2000/MultiQC_test-data__VH00384_issue2290": (
        None,
        {
            "run_id": "240131_VH00384_146_AACCHKLHV",
            "sequencer_type": "nextseq2000",
            "instrument_model": "NextSeq 2000",
            "instrument_id": "VH00384",
            "run_number": 146,
            "flowcell_id": "AACCHKLHV",
            "run_date": "2024-01-31",
            "lanes": 2,
            "reads": "151,8i,8i,151",
        },
    ),
    "NextSeq1000_2000/bbi-lab_bbi-dmux__200722_VH00123_5": (
        None,
        {
            "run_id": "200722_VH00123_5_AAAFWVYM5",
            "sequencer_type": "nextseq2000",
            "instrument_id": "VH00123",
            "run_number": 5,
            "flowcell_id": "AAAFWVYM5",
            "run_date": "2020-07-22",
            "reads": "34,10i,10i,46",
            "control_software": "NextSeq 1000/2000 Control Software",
            "control_software_version": "1.1.0.27334",
            "rta_version": "3.6.14",
        },
    ),
    "NovaSeq6000/wtsi-npg_npg_tracking__200303_A00562_0352": (
        None,
        {
            "run_id": "200303_A00562_0352_AHKFVLDRXX",
            "platform": "illumina",
            "sequencer_type": "novaseq",
            "instrument_model": "NovaSeq 6000",
            "instrument_id": "A00562",
            "run_number": 352,
            "flowcell_id": "HKFVLDRXX",
            "run_date": "2020-03-03",
            "lanes": 2,
            "reads": "50,8i,16i,50",
            "control_software": "NovaSeq Control Software",
            "control_software_version": "1.6.0",
            "rta_version": "v3.4.4",
            "flowcell_mode": "SP",
        },
    ),
    "NovaSeq6000/wtsi-npg_npg_tracking__180517_A00512_S4": (
        None,
        {
            "run_id": "180517_A00512_0010_BH3WCVDSXX",
            "run_date": "2018-05-17",
            "lanes": 4,
            "flowcell_id": "H3WCVDSXX",
            "flowcell_mode": "S4",
            "rta_version": "v3.3.3",
        },
    ),
    "NovaSeqX/miso-lims_runscanner__20251210_LH00224_0271": (
        None,
        {
            "run_id": "20251210_LH00224_0271_B23FF7CLT4",
            "sequencer_type": "novaseqx",
            "instrument_model": "NovaSeq X Plus",
            "instrument_id": "LH00224",
            "run_number": 271,
            "flowcell_id": "23FF7CLT4",
            # <Date> is 2025-12-11T01:47:17Z (UTC); the instrument's local date is the run ID's.
            "run_date": "2025-12-10",
            "lanes": 8,
            "reads": "151,8i,8i,151",
            "control_software": "NovaSeqXSeries Control Software",
            "control_software_version": "1.3.1.59007",
            "flowcell_mode": "25B",
        },
    ),
    "iSeq100/biocore_mg-scripts__20220912_FS10001773_27": (
        None,
        {
            "run_id": "20220912_FS10001773_27_BSE39218-1017",
            "sequencer_type": "iseq",
            "instrument_model": "iSeq 100",
            "instrument_id": "FS10001773",
            "run_number": 27,
            "flowcell_id": "BSE39218-1017",
            "run_date": "2022-09-12",
            "lanes": 1,
            "reads": "151,8i,8i,151",
            "samplesheet_version": 1,
            "control_software": "iSeq Control Software",
            "control_software_version": "2.0.0.661",
            "rta_version": "2.12.6.0",
        },
    ),
    "PacBio_RSII/miso-lims_runscanner__RS00118_20150406": (
        None,
        {
            "run_id": "m150407_023459_00118_c000464812559900001500000112311770_s1_p0",
            "platform": "pacbio",
            "sequencer_type": "pacbio",
            "instrument_model": "RS II",
            "instrument_id": "00118",
            "run_date": "2015-04-07",
            "control_software_version": "2.3.0.1.142990",
        },
    ),
    "PacBio_Sequel/wtsi-npg_npg_irods__r54097_20170727": (
        None,
        {
            "run_id": "m54097_170727_170646",
            "instrument_model": "Sequel",
            "instrument_id": "SQ54097",
            "run_date": "2017-07-27",
            "flowcell_id": "BA081238",
            "control_software_version": "5.0.0.6235",
        },
    ),
    "PacBio_SequelII/wtsi-npg_npg_irods__r64174e_20210114": (
        None,
        {
            "run_id": "m64174e_210114_162751",
            "instrument_model": "Sequel IIe",
            "instrument_id": "64174E",
            "run_date": "2021-01-14",
            "flowcell_id": "DA060567",
            "flowcell_mode": "8mChip",
            "control_software_version": "10.0.0.108368",
        },
    ),
    "PacBio_Revio/wtsi-npg_npg_irods__r84098_20240219": (
        None,
        {
            "run_id": "m84098_240219_110741_s1",
            "instrument_model": "Revio",
            "instrument_id": "84098",
            "run_date": "2024-02-19",
            "flowcell_mode": "25mChip",
        },
    ),
    "ONT_MinION/PBGLMichaelHall_FAST5__20220414_MN19654_AJF976": (
        "20220414_1039_MN19654_AJF976_ed35bf91",
        {
            "run_id": "20220414_1039_MN19654_AJF976_ed35bf91",
            "platform": "nanopore",
            "sequencer_type": "nanopore",
            "instrument_model": "MinION",
            "instrument_id": "MN19654",
            "flowcell_id": "AJF976",
            "run_date": "2022-04-14",
        },
    ),
    "ONT_GridION/wtsi-npg_valet__ABQ808_20200204": (
        "20200204_1257_X2_ABQ808_e2e93dd1",
        {
            "instrument_model": "GridION",
            "instrument_id": "GXB02004",
            "flowcell_id": "ABQ808",
            "flowcell_mode": "FLO-FLG001",
            "run_date": "2020-02-04",
            "control_software": "MinKNOW",
            "control_software_version": "19.12.2",
        },
    ),
    "ONT_PromethION/qbicsoftware_core-utils-lib__20200122_PAE12345": (
        "20200122_1217_1-A1-B1-PAE12345_1234567a",
        {
            "run_id": "20200122_1217_1-A1-B1-PAE12345_1234567a",
            "instrument_model": "PromethION",
            "instrument_id": "PCT0094",
            "flowcell_id": "PAE24142",
            "run_date": "2020-02-11",
            "chemistry": "SQK-LSK109",
            "flowcell_mode": "FLO-PRO002",
        },
    ),
    "Element_AVITI/wtsi-npg_npg_tracking__20250127_AV244103_NT1850075L": (
        None,
        {
            "run_id": "20250127_AV244103_1234_NT1850075L",
            "platform": "element",
            "sequencer_type": "aviti",
            "instrument_model": "AVITI",
            "instrument_id": "AV244103",
            "flowcell_id": "2427452508",
            "run_date": "2025-01-27",
            "lanes": 2,
            "reads": "8i,151,151",
        },
    ),
}


def _flat(meta: RunMetadata) -> dict[str, Any]:
    data = meta.model_dump(mode="json")
    data.update(data.pop("software"))
    data["reads"] = reads(meta)
    return data


@pytest.mark.parametrize("folder", sorted(EXPECTED))
def test_expected_values(folder: str) -> None:
    """Every instrument's fixture run gives the values read off its files by hand."""
    run_id, expected = EXPECTED[folder]
    meta = parse_files(folder_files(folder), run_id=run_id)
    got = _flat(meta)
    assert {key: got[key] for key in expected} == expected
    assert [w for w in meta.warnings if "NUL bytes" not in w] == []


# Folders holding only a sample sheet or RunManifest: no run ID, and for a lone sample sheet
# no instrument either. The caller (parse_run_folder) supplies the folder name.
WITHOUT_RUN_ID = {
    "MiniSeq/sequana_sequana__iem_miniseq": "miniseq",
    "iSeq100/sequana_sequana__iem_iseq100_B3202": "iseq",
    "Element_AVITI/Ali0th_sci-aviti": "aviti",
    "Element_AVITI/MultiQC_test-data__bases2fastq_UltraQ": "aviti",
    "Element_AVITI/nf-core_test-datasets__sim-data": "aviti",
    "Element_AVITI/xuebingwu_aviti-bases2fastq": "aviti",
}
CONTRACT_KEYS = {
    "run_id", "platform", "sequencer_type", "instrument_model", "instrument_id", "run_number",
    "flowcell_id", "run_date", "lanes", "reads", "samplesheet_version", "samples", "projects",
    "software", "chemistry", "flowcell_mode", "source_files",
}  # fmt: skip


@pytest.mark.parametrize(
    "folder", sorted(str(p.relative_to(RUNS)) for p in RUNS.glob("*/*") if p.is_dir())
)
def test_every_fixture_folder_parses(folder: str) -> None:
    """Every real fixture folder parses to the contract keys (given a name where it has none)."""
    files = folder_files(folder)
    if folder in WITHOUT_RUN_ID:
        with pytest.raises(RunFolderError):
            parse_files(files)
        meta = parse_files(files, sequencer_type=WITHOUT_RUN_ID[folder], run_id="run")
    else:
        meta = parse_files(files, run_id="folder-name")
        assert meta.run_id != "folder-name" or meta.platform in {"nanopore", "element"}
    assert set(meta.model_dump(mode="json")) == CONTRACT_KEYS
    assert meta.source_files


def test_pre_release_novaseqx_detected_by_layout() -> None:
    """A NovaSeq X with a pre-release name (Pi1-9) is still a novaseqx."""
    files = folder_files("NovaSeqX/wtsi-npg_npg_tracking__230131_Pi1-9")
    only_runinfo = {"runInfo.novaseqx.xml": files["runInfo.novaseqx.xml"]}
    assert parse_files(only_runinfo).sequencer_type == "novaseqx"


def test_samples_and_projects_from_v2_sheet() -> None:
    """A v2 sheet's BCLConvert_Data gives samples with lane and indexes; projects sorted."""
    meta = parse_files(folder_files("NovaSeq6000/Molmed_checkQC__200624_A00834_0183"))
    assert meta.samplesheet_version == 2
    assert meta.projects == ["AB-1234", "CD-5678"]
    first = meta.samples[0]
    assert (first.sample_id, first.lane, first.index, first.index2) == (
        "Sample_14574-Qiagen-IndexSet1-SP-Lane1",
        1,
        "GAACTGAGCG",
        "TCGTGGAGCG",
    )


def test_nul_bytes_in_sample_sheet_are_a_warning() -> None:
    """The iSeq sheet with NUL bytes gives its samples plus a warning."""
    meta = parse_files(folder_files("iSeq100/biocore_mg-scripts__20220912_FS10001773_27"))
    assert [s.sample_id for s in meta.samples] == ["20220912_RNA_pilot_II_metaT_2_3_14606"]
    assert meta.samples[0].index2 is None
    assert any("NUL" in w for w in meta.warnings)


def test_broken_sample_sheet_keeps_the_rest() -> None:
    """A broken optional sample sheet leaves the metadata, a warning and a log event."""
    files = folder_files("NovaSeq6000/wtsi-npg_npg_tracking__200303_A00562_0352")
    files["SampleSheet.csv"] = b"garbage without sections\n"
    with capture_logs() as logs:
        meta = parse_files(files)
    assert meta.run_id == "200303_A00562_0352_AHKFVLDRXX"
    assert meta.samples == []
    assert meta.source_files == ["RunInfo.xml", "RunParameters.xml"]
    assert any("SampleSheet.csv" in w for w in meta.warnings)
    events = [e for e in logs if e["event"] == "metadata.file_unusable"]
    assert events
    assert events[0]["file"] == "SampleSheet.csv"


def test_broken_runparameters_next_to_runinfo_is_a_warning() -> None:
    """A truncated RunParameters.xml next to a good RunInfo.xml is only a warning."""
    files = folder_files("NovaSeq6000/wtsi-npg_npg_tracking__200303_A00562_0352")
    files["RunParameters.xml"] = files["RunParameters.xml"][:500]
    meta = parse_files(files)
    assert meta.flowcell_id == "HKFVLDRXX"
    assert meta.instrument_model == "NovaSeq 6000"  # from the instrument ID prefix
    assert any("RunParameters.xml" in w for w in meta.warnings)


def test_broken_runinfo_is_an_error() -> None:
    """A broken RunInfo.xml raises a typed error naming it."""
    files = folder_files("NovaSeq6000/wtsi-npg_npg_tracking__200303_A00562_0352")
    files["RunInfo.xml"] = b"<RunInfo><Run Id='x'"
    with pytest.raises(MetadataFileError) as info:
        parse_files(files, sequencer_type="novaseq")
    assert info.value.path == "RunInfo.xml"


def test_no_metadata_files() -> None:
    """Files that are not metadata give NotARunFolderError."""
    with pytest.raises(NotARunFolderError):
        parse_files({"Data/Intensities/L001/s_1_1101.bcl": b"\x00"})


def _copy_run(tmp_path: Path, folder: str, renames: dict[str, str]) -> Path:
    run = tmp_path / Path(folder).name
    run.mkdir()
    for path in (RUNS / folder).iterdir():
        shutil.copy(path, run / renames.get(path.name, path.name))
    return run


def test_parse_run_folder_reads_only_metadata_files(tmp_path: Path) -> None:
    """parse_run_folder reads the named files only; data files and subfolders are untouched."""
    run = _copy_run(tmp_path, "HiSeq2500/Molmed_checkQC__170726_D00118_0303", {})
    (run / "Data" / "Intensities").mkdir(parents=True)
    (run / "Data" / "Intensities" / "RunInfo.xml").write_bytes(b"not read")
    (run / "RTAComplete.txt").write_text("done")
    meta = parse_run_folder(run)
    assert meta.source_files == ["RunInfo.xml", "SampleSheet.csv", "runParameters.xml"]
    assert meta.run_id == "170726_D00118_0303_BCB1TVANXX"
    assert len(meta.samples) == 32


def test_parse_run_folder_pacbio_revio_metadata_subfolder(tmp_path: Path) -> None:
    """A Revio cell folder's metadata/ XML (declared utf-16, really UTF-8) is found and read."""
    cell = tmp_path / "1_A01"
    (cell / "metadata").mkdir(parents=True)
    name = "m84098_240219_110741_s1.metadata.xml"
    source = RUNS / "PacBio_Revio/wtsi-npg_npg_irods__r84098_20240219" / name
    shutil.copy(source, cell / "metadata" / name)
    meta = parse_run_folder(cell)
    assert (meta.run_id, meta.instrument_model) == ("m84098_240219_110741_s1", "Revio")
    assert meta.source_files == [f"metadata/{name}"]


def test_parse_run_folder_ont_uses_folder_name(tmp_path: Path) -> None:
    """An ONT run's ID is MinKNOW's folder name."""
    run = tmp_path / "20200122_1217_1-A1-B1-PAE12345_1234567a"
    run.mkdir()
    folder = RUNS / "ONT_PromethION/qbicsoftware_core-utils-lib__20200122_PAE12345"
    shutil.copy(folder / "final_summary_.txt", run / "final_summary_PAE12345_c6028297.txt")
    meta = parse_run_folder(run)
    assert meta.run_id == run.name
    assert meta.sequencer_type == "nanopore"


def test_parse_run_folder_not_a_run(tmp_path: Path) -> None:
    """A folder without metadata files is NotARunFolderError, a missing one too."""
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(NotARunFolderError, match="is it a run folder"):
        parse_run_folder(tmp_path)
    with pytest.raises(NotARunFolderError, match="does not exist"):
        parse_run_folder(tmp_path / "missing")


def test_parse_run_folder_of_the_wrong_type_names_that_type(tmp_path: Path) -> None:
    """An Illumina folder parsed as pacbio names pacbio's metadata files, not 'pass --type'."""
    (tmp_path / "RunInfo.xml").write_text("<RunInfo/>")
    with pytest.raises(NotARunFolderError) as info:
        parse_run_folder(tmp_path, "pacbio")
    message = str(info.value)
    assert "none of the pacbio metadata files" in message
    assert "*.metadata.xml" in message
    assert "--type" not in message


def test_parse_run_folder_unreadable_runinfo_is_typed(tmp_path: Path) -> None:
    """A RunInfo.xml that is a directory-sized lie (huge) gives a typed error, not a crash."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "RunInfo.xml").write_bytes(b"<RunInfo>" + b" " * (33 * 1024 * 1024))
    with pytest.raises(RodrunnerError):
        parse_run_folder(run, "novaseq")


def test_patterns_cover_every_profile_name() -> None:
    """METADATA_FILE_PATTERNS names every sequencer type of the design card."""
    assert set(METADATA_FILE_PATTERNS) == {
        "miseq", "miseqi100", "miniseq", "iseq", "nextseq", "nextseq2000",
        "novaseq", "novaseqx", "hiseq", "pacbio", "nanopore", "aviti",
    }  # fmt: skip

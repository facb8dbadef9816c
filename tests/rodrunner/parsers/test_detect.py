"""Content-based sequencer detection and file classification."""

from __future__ import annotations

import pytest

from rodrunner.errors import NotARunFolderError
from rodrunner.parsers.detect import classify, detect_sequencer_type
from tests.rodrunner.parsers.conftest import folder_files

# One folder per family, and what it is (from SOURCES.tsv).
FOLDERS = {
    "HiSeq2000/bbi-lab_bbi-dmux__130531_SN743_0384": "hiseq",
    "HiSeq2500/nthmost_illuminate__140213_D00251": "hiseq",
    "HiSeq2500/broadinstitute_viral-ngs__SL-HDF_0700": "hiseq",
    "HiSeq4000/wtsi-npg_npg_tracking__200213_K00340_SR": "hiseq",
    "HiSeqX/wtsi-npg_npg_tracking__171123_ST-E00245": "hiseq",
    "MiSeq/wtsi-npg_npg_tracking__171114_M02069": "miseq",
    "MiniSeq/wtsi-npg_npg_tracking__160607_ML-PT1-15_0009": "miniseq",
    "NextSeq500_550/broadinstitute_viral-ngs__NB552060": "nextseq",
    "NextSeq1000_2000/broadinstitute_viral-ngs__VH01619_P1": "nextseq2000",
    "NovaSeq6000/MultiQC_test-data__210615_A00302_0309": "novaseq",
    "NovaSeqX/wtsi-npg_npg_tracking__230131_Pi1-9": "novaseqx",
    "iSeq100/biocore_mg-scripts__20220912_FS10001773_27": "iseq",
    "PacBio_RSII/miso-lims_runscanner__RS00118_20150406": "pacbio",
    "PacBio_Revio/wtsi-npg_npg_irods__r84047_20230404": "pacbio",
    "ONT_GridION/wtsi-npg_valet__ABQ808_20200204": "nanopore",
    "ONT_MinION/PBGLMichaelHall_FAST5__20220414_MN19654_AJF976": "nanopore",
    "Element_AVITI/wtsi-npg_npg_tracking__20250127_AV244103_NT1850075L": "aviti",
}


@pytest.mark.parametrize(("folder", "expected"), sorted(FOLDERS.items()))
def test_detects_each_family(folder: str, expected: str) -> None:
    """Each family's real files are recognised from their content."""
    assert detect_sequencer_type(folder_files(folder)) == expected


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("RunInfo.xml", "runinfo"),
        ("runParameters.xml", "runparameters"),
        ("RunParameters.novaseqx.prod.xml", "runparameters"),
        ("SampleSheet_bcl2fastq.csv", "samplesheet"),
        ("metadata/m84047_230404_164952_s1.metadata.xml", "pacbio"),
        ("m64174e_210114_162751.consensusreadset.xml", "pacbio"),
        ("final_summary_PAE12345_c6028297.txt", "ont_summary"),
        ("report_PAE48813_20200130_0940_16917585.md", "ont_report"),
        ("RunParameters.json", "aviti_parameters"),
        ("RunManifest.csv", "aviti_manifest"),
        ("RTAComplete.txt", None),
        ("Data/Intensities/BaseCalls/L001/s_1_1101.bcl.gz", None),
    ],
)
def test_classify(name: str, kind: str | None) -> None:
    """File names map to metadata kinds case-insensitively; data files to none."""
    assert classify(name) == kind


@pytest.mark.parametrize(("version", "lanes", "expected"), [("2", 1, "miseq"), ("3", 8, "hiseq")])
def test_renamed_instrument_by_runinfo_layout(version: str, lanes: int, expected: str) -> None:
    """An instrument name without an Illumina prefix falls back to RunInfo version and lanes."""
    runinfo = (
        f'<RunInfo Version="{version}"><Run Id="150821_SL-XYZ_0006_X" Number="6">'
        f'<Instrument>SL-XYZ</Instrument><FlowcellLayout LaneCount="{lanes}"/></Run></RunInfo>'
    )
    assert detect_sequencer_type({"RunInfo.xml": runinfo.encode()}) == expected


def test_unknown_content() -> None:
    """Files that identify no sequencer give NotARunFolderError with the fix."""
    with pytest.raises(NotARunFolderError, match="--type"):
        detect_sequencer_type({"SampleSheet.csv": b"[Data]\nSample_ID\nA\n"})

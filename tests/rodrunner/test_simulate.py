"""The run simulator: realistic, deterministic run folders with the indicator last."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from rodrunner.errors import ConfigError
from rodrunner.parsers import parse_run_folder
from rodrunner.profiles import PROFILES
from rodrunner.simulate import copy_fixture, plan_run, simulate_run


def _digests(run_dir: Path) -> dict[str, str]:
    return {
        p.relative_to(run_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(run_dir.rglob("*"))
        if p.is_file()
    }


def test_same_arguments_give_the_same_bytes(tmp_path: Path) -> None:
    """Two simulations with the same arguments write identical files."""
    a = simulate_run(tmp_path / "a", "novaseq", files=6, size=300)
    b = simulate_run(tmp_path / "b", "novaseq", files=6, size=300)
    assert _digests(a) == _digests(b)
    c = simulate_run(tmp_path / "c", "novaseq", files=6, size=300, seed=1)
    assert _digests(a) != _digests(c)


def test_illumina_layout(tmp_path: Path) -> None:
    """An Illumina run has RunInfo, per-lane/per-cycle cbcl files, InterOp and thumbnails."""
    run = simulate_run(tmp_path, "novaseq", files=6, size=100)
    files = set(_digests(run))
    assert {"RunInfo.xml", "RunParameters.xml", "SampleSheet.csv"} <= files
    assert "Data/Intensities/BaseCalls/L001/C1.1/L001_1.cbcl" in files
    assert "Data/Intensities/BaseCalls/L002/C3.1/L002_1.cbcl" in files
    assert any(f.startswith("InterOp/") for f in files)
    assert any(f.startswith("Thumbnail_Images/") for f in files)
    assert (run / "Data/Intensities/BaseCalls/L001/C1.1/L001_1.cbcl").stat().st_size == 100


@pytest.mark.parametrize("sequencer_type", sorted(PROFILES))
def test_indicator_is_written_last(sequencer_type: str) -> None:
    """The completion indicator is the last write of every profile's plan."""
    _, writes = plan_run(sequencer_type, files=4, size=8)
    last = writes[-1].relpath.rsplit("/", 1)[-1]
    indicator = PROFILES[sequencer_type].completion_indicator
    assert Path(last).match(indicator)


def test_novaseq_writes_rtacomplete_before_copycomplete() -> None:
    """Like the instrument, NovaSeq writes RTAComplete.txt and then CopyComplete.txt."""
    _, writes = plan_run("novaseq", files=2, size=8)
    assert [w.relpath for w in writes[-2:]] == ["RTAComplete.txt", "CopyComplete.txt"]


def test_indicator_by_rename_leaves_no_temporary_file(tmp_path: Path) -> None:
    """With indicator_by_rename the indicator appears by rename and no temp file remains."""
    _, writes = plan_run("novaseqx", files=2, size=8, indicator_by_rename=True)
    assert writes[-1].by_rename
    run = simulate_run(tmp_path, "novaseqx", files=2, size=8, indicator_by_rename=True)
    assert (run / "CopyComplete.txt").is_file()
    assert not list(run.glob(".*.tmp"))


def test_run_id_is_rewritten_everywhere(tmp_path: Path) -> None:
    """A given run id renames the folder and rewrites RunInfo's id, flowcell and instrument."""
    run = simulate_run(tmp_path, "novaseq", run_id="210101_A00999_0007_AHABCDEFXY", files=1)
    assert run.name == "210101_A00999_0007_AHABCDEFXY"
    runinfo = (run / "RunInfo.xml").read_text()
    assert 'Id="210101_A00999_0007_AHABCDEFXY"' in runinfo
    assert "<Flowcell>HABCDEFXY</Flowcell>" in runinfo
    assert "<Instrument>A00999</Instrument>" in runinfo
    assert "A00834" not in runinfo


def test_simulated_metadata_parses_and_agrees_with_the_folder(tmp_path: Path) -> None:
    """The parsers read a simulated run's metadata with the folder's run id."""
    parsers = pytest.importorskip("rodrunner.parsers")
    if not hasattr(parsers, "parse_run_folder"):
        pytest.skip("rodrunner.parsers.parse_run_folder not available")
    run = simulate_run(tmp_path, "novaseqx", run_id="20240101_LH00999_0001_A22ABCDEF3", files=1)
    metadata = parsers.parse_run_folder(run)
    assert metadata.run_id == run.name
    assert metadata.flowcell_id == "22ABCDEF3"
    assert metadata.sequencer_type == "novaseqx"


def test_incomplete_run_has_no_indicator(tmp_path: Path) -> None:
    """complete=False stops before the completion indicator."""
    run = simulate_run(tmp_path, "novaseq", files=2, size=8, complete=False)
    assert not (run / "CopyComplete.txt").exists()
    assert not (run / "RTAComplete.txt").exists()
    assert (run / "RunInfo.xml").exists()


def test_pacbio_revio_layout(tmp_path: Path) -> None:
    """PacBio writes a Revio cell with the transferdone in metadata/."""
    run = simulate_run(tmp_path, "pacbio", files=2, size=8)
    assert (run / "1_A01/metadata/m84047_230404_164952_s1.transferdone").is_file()
    assert (run / "1_A01/metadata/m84047_230404_164952_s1.metadata.xml").is_file()


def test_from_directory(tmp_path: Path) -> None:
    """Metadata can come from another directory (--from); its name is the default run id."""
    source = copy_fixture("miseq", tmp_path / "230101_M00001_0001_000000000-ABCDE")
    run = simulate_run(tmp_path / "root", "miseq", source=source, files=1)
    assert run.name == source.name
    assert (run / "RunInfo.xml").read_bytes() == (source / "RunInfo.xml").read_bytes()


def test_existing_run_folder_is_refused(tmp_path: Path) -> None:
    """Simulating an explicit run id whose folder exists is a ConfigError naming it."""
    run = simulate_run(tmp_path, "miseq", files=1)
    with pytest.raises(ConfigError, match="already exists"):
        simulate_run(tmp_path, "miseq", files=1, run_id=run.name)


@pytest.mark.parametrize("run_id", ["../escape", "a/b", ".."])
def test_run_id_cannot_be_a_path(tmp_path: Path, run_id: str) -> None:
    """A run id that is not a plain folder name is refused."""
    with pytest.raises(ConfigError, match="cannot be a folder name"):
        simulate_run(tmp_path, "miseq", files=1, run_id=run_id)


def test_missing_from_directory(tmp_path: Path) -> None:
    """--from a directory that does not exist is a ConfigError."""
    with pytest.raises(ConfigError, match="--from"):
        simulate_run(tmp_path, "miseq", source=tmp_path / "nope")


def test_second_run_of_a_type_gets_the_next_run_number(tmp_path: Path) -> None:
    """Simulating twice into one root makes a new run, with RunInfo agreeing, not an error."""
    first = simulate_run(tmp_path, "novaseq", files=2, size=8)
    second = simulate_run(tmp_path, "novaseq", files=2, size=8)
    assert first != second
    assert second.name == "200624_A00834_0184_BHMTFYDRXX"
    meta = parse_run_folder(second)
    assert (meta.run_id, meta.run_number) == (second.name, 184)


def test_second_run_of_a_non_illumina_type_gets_a_suffix(tmp_path: Path) -> None:
    """A second simulated nanopore run gets its own folder name."""
    first = simulate_run(tmp_path, "nanopore", files=2, size=8)
    second = simulate_run(tmp_path, "nanopore", files=2, size=8)
    assert second.name == f"{first.name}_2"

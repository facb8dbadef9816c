"""Discovery over real temp roots: top level only, state per entry."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from rodrunner.discovery import classify_folder, detect_from_name, find_sequencer_runs
from rodrunner.errors import ConfigError
from rodrunner.simulate import simulate_run

FIXTURES = Path(__file__).parents[1] / "data" / "runs"


def _touch(path: Path, content: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("200624_A00834_0183_BHMTFYDRXX", "novaseq"),
        ("20231108_LH00188_0028_B22F52TLT3", "novaseqx"),
        ("230825_M04034_0043_000000000-L6NVV", "miseq"),
        ("160607_MN00123_0009_A000H02MFC", "miniseq"),
        ("20220912_FS10001773_27_BSE39218-1017", "iseq"),
        ("160404_NS500318_0141_AHW37NBGXX", "nextseq"),
        ("170609_NB551051_0017_AHXXXXBGX2", "nextseq"),
        ("240425_VH00848_69_AACGH3VHV", "nextseq2000"),
        ("170726_D00118_0303_BCB1TVANXX", "hiseq"),
        ("130531_SN743_0384_AD2AY7ACXX", "hiseq"),
        ("171116_K00340_0123_AHXXXXBBXX", "hiseq"),
        ("170517_ST-E00266_0210_BHXXXXCCXX", "hiseq"),
        ("r84047_20230404_164952", "pacbio"),
        ("r64089e_20220615_173331", "pacbio"),
        ("r54097_20170727_123456", "pacbio"),
        ("20200211_1552_1-A3-D3_PAE24142_c6028297", "nanopore"),
        ("20250127_AV244103_1234_NT1850075L", "aviti"),
        ("Undetermined", None),
        ("2023_backup", None),
    ],
)
def test_detect_from_name(name: str, expected: str | None) -> None:
    """Folder names alone identify the instrument family where the naming allows."""
    assert detect_from_name(name) == expected


def test_states_of_a_mixed_root(tmp_path: Path) -> None:
    """Every top-level entry gets a state: complete, in_progress, skipped or not_a_run."""
    done = _touch(tmp_path / "200624_A00834_0183_BHMTFYDRXX" / "CopyComplete.txt").parent
    running = _touch(tmp_path / "200625_A00834_0184_AHMTFYDRXY" / "RTAComplete.txt").parent
    skipped = _touch(tmp_path / "200626_A00834_0185_AHMTFYDRXZ" / ".rodrunner-skip").parent
    (tmp_path / "Undetermined").mkdir()
    _touch(tmp_path / "notes.txt")
    entries = {e.run_id: e for e in find_sequencer_runs(tmp_path)}
    assert entries[done.name].state == "complete"
    assert entries[done.name].run_dir == done
    assert entries[done.name].sequencer_type == "novaseq"
    assert entries[running.name].state == "in_progress"
    assert entries[skipped.name].state == "skipped"
    assert entries["Undetermined"].state == "not_a_run"
    assert entries["notes.txt"].state == "not_a_run"
    assert all(e.run_dir.is_absolute() for e in entries.values())


def test_run_dir_is_absolute_for_a_relative_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative root still yields absolute run_dir values."""
    _touch(tmp_path / "root" / "200624_A00834_0183_BHMTFYDRXX" / "CopyComplete.txt")
    monkeypatch.chdir(tmp_path)
    [entry] = find_sequencer_runs("root")
    assert entry.run_dir == tmp_path / "root" / "200624_A00834_0183_BHMTFYDRXX"


def test_given_type_treats_unknown_names_as_runs_when_they_have_runinfo(tmp_path: Path) -> None:
    """With a type, a renamed folder with RunInfo.xml is a run; one without is not_a_run."""
    _touch(tmp_path / "renamed_run" / "RunInfo.xml", b"<RunInfo/>")
    (tmp_path / "scratch").mkdir()
    entries = {e.run_id: e for e in find_sequencer_runs(tmp_path, "novaseq")}
    assert entries["renamed_run"].state == "in_progress"
    assert entries["renamed_run"].sequencer_type == "novaseq"
    assert entries["scratch"].state == "not_a_run"
    assert "not a novaseq run folder" in entries["scratch"].reason


def test_config_override_of_the_indicator(tmp_path: Path) -> None:
    """A per-root completion_indicator replaces the profile's rule."""
    _touch(tmp_path / "200624_A00834_0183_BHMTFYDRXX" / "RTAComplete.txt")
    [plain] = find_sequencer_runs(tmp_path, "novaseq")
    [overridden] = find_sequencer_runs(tmp_path, "novaseq", completion_indicator="RTAComplete.txt")
    assert plain.state == "in_progress"
    assert overridden.state == "complete"


def test_pacbio_entries_are_smrt_cells(tmp_path: Path) -> None:
    """A PacBio run folder yields one entry per SMRT cell, each judged on its own."""
    run = tmp_path / "r84047_20230404_164952"
    _touch(run / "1_A01" / "metadata" / "m84047_230404_164952_s1.transferdone")
    _touch(run / "1_B01" / "metadata" / "m84047_230404_200000_s2.metadata.xml")
    _touch(run / "2_C01" / "m54097_170727_170646.transferdone")
    entries = {e.run_dir.name: e for e in find_sequencer_runs(tmp_path)}
    assert set(entries) == {"1_A01", "1_B01", "2_C01"}
    assert entries["1_A01"].state == "complete"
    assert entries["1_B01"].state == "in_progress"
    assert entries["2_C01"].state == "complete"
    assert entries["1_A01"].run_dir == run / "1_A01"


def test_pacbio_cell_run_id_is_the_movie_name(tmp_path: Path) -> None:
    """A finished SMRT cell is called by its movie name, as the parsers call it."""
    run = tmp_path / "r84047_20230404_164952"
    _touch(run / "1_A01" / "metadata" / "m84047_230404_164952_s1.transferdone")
    _touch(run / "1_B01" / "metadata" / "m84047_230404_200000_s2.metadata.xml")
    entries = {e.run_dir.name: e for e in find_sequencer_runs(tmp_path)}
    assert entries["1_A01"].run_id == "m84047_230404_164952_s1"
    assert entries["1_B01"].run_id == "r84047_20230404_164952_1_B01"


def test_pacbio_run_without_cells_is_in_progress(tmp_path: Path) -> None:
    """A PacBio run folder with no cell folders yet is in progress."""
    (tmp_path / "r84047_20230404_164952").mkdir()
    [entry] = find_sequencer_runs(tmp_path)
    assert entry.state == "in_progress"
    assert "no SMRT cell" in entry.reason


def test_pacbio_skip_file_in_run_folder_skips_every_cell(tmp_path: Path) -> None:
    """A skip file in the PacBio run folder skips all its cells."""
    run = tmp_path / "r84047_20230404_164952"
    _touch(run / "1_A01" / "metadata" / "x.transferdone")
    _touch(run / ".rodrunner-skip")
    assert [e.state for e in find_sequencer_runs(tmp_path)] == ["skipped"]


def test_aviti_detected_from_runparameters_json(tmp_path: Path) -> None:
    """An AVITI folder with a plain name is found by its RunParameters.json."""
    run = tmp_path / "my_aviti_run"
    _touch(run / "RunParameters.json", b"{}")
    _touch(run / "RunUploaded.json", json.dumps({"outcome": "OutcomeCompleted"}).encode())
    [entry] = find_sequencer_runs(tmp_path)
    assert (entry.sequencer_type, entry.state) == ("aviti", "complete")


def test_nanopore_detected_from_final_summary(tmp_path: Path) -> None:
    """A MinKNOW folder with a plain name is found by its final_summary_*.txt."""
    _touch(tmp_path / "flowcell_1" / "final_summary_X_y.txt", b"instrument=MN1\n")
    [entry] = find_sequencer_runs(tmp_path)
    assert (entry.sequencer_type, entry.state) == ("nanopore", "complete")


def test_content_detection_falls_back_to_the_parsers(tmp_path: Path) -> None:
    """A renamed Illumina folder is recognised from its RunInfo/RunParameters content."""
    pytest.importorskip("rodrunner.parsers.detect")
    source = FIXTURES / "NovaSeq6000" / "Molmed_checkQC__200624_A00834_0183"
    run = tmp_path / "renamed"
    run.mkdir()
    for name in ("RunInfo.xml", "RunParameters.xml"):
        shutil.copyfile(source / name, run / name)
    [entry] = find_sequencer_runs(tmp_path)
    assert entry.sequencer_type == "novaseq"


def test_hidden_entries_are_not_runs(tmp_path: Path) -> None:
    """Dot entries at the top of a root are listed as not_a_run."""
    _touch(tmp_path / ".snapshot" / "CopyComplete.txt")
    [entry] = find_sequencer_runs(tmp_path, "novaseq")
    assert entry.state == "not_a_run"


def test_missing_root_is_a_config_error(tmp_path: Path) -> None:
    """A root that does not exist is a ConfigError naming it."""
    with pytest.raises(ConfigError, match="does not exist"):
        find_sequencer_runs(tmp_path / "nope")


def test_unknown_type_is_a_config_error(tmp_path: Path) -> None:
    """An unknown sequencer type fails before any folder is looked at."""
    with pytest.raises(ConfigError, match="unknown sequencer type"):
        find_sequencer_runs(tmp_path, "novaseq7000")


def test_discovery_does_not_walk_run_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the root and (for globs) run unit folders are listed, never their subtrees."""
    run = simulate_run(tmp_path, "novaseq", files=8, size=16)
    listed: list[str] = []
    real = os.scandir

    def spy(path: str | os.PathLike[str] = ".") -> object:
        listed.append(os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", spy)
    monkeypatch.setattr(os, "walk", lambda *a, **k: pytest.fail("os.walk called"))
    [entry] = find_sequencer_runs(tmp_path)
    assert entry.state == "complete"
    assert listed == [str(tmp_path)]
    assert not any(str(run / "Data") in p for p in listed)


def test_classify_folder_judges_one_folder(tmp_path: Path) -> None:
    """classify_folder gives the same verdict for one folder as a full scan."""
    run = simulate_run(tmp_path, "miseq", files=2, size=8)
    assert classify_folder(run) == find_sequencer_runs(tmp_path)


@pytest.mark.parametrize(
    "sequencer_type",
    [
        "miseq",
        "miseqi100",
        "miniseq",
        "iseq",
        "nextseq",
        "nextseq2000",
        "novaseq",
        "novaseqx",
        "hiseq",
        "pacbio",
        "nanopore",
        "aviti",
    ],
)
def test_simulated_runs_are_found_complete_and_in_progress(
    tmp_path: Path, sequencer_type: str
) -> None:
    """A simulated run of every profile is detected by name/content and judged by its rule."""
    simulate_run(tmp_path / "done", sequencer_type, files=3, size=8)
    simulate_run(tmp_path / "running", sequencer_type, files=3, size=8, complete=False)
    [done] = find_sequencer_runs(tmp_path / "done")
    [running] = find_sequencer_runs(tmp_path / "running")
    assert (done.sequencer_type, done.state) == (sequencer_type, "complete")
    assert (running.sequencer_type, running.state) == (sequencer_type, "in_progress")


def test_a_bad_entry_is_a_problem_of_that_entry_only(tmp_path: Path) -> None:
    """A symlink loop, a non-UTF-8 folder name and a link out of the root are problem
    entries with their reason; the run beside them is still found complete."""
    root = tmp_path / "root"
    root.mkdir()
    done = _touch(root / "200624_A00834_0183_BHMTFYDRXX" / "CopyComplete.txt").parent
    (root / "loop-a").symlink_to(root / "loop-b")
    (root / "loop-b").symlink_to(root / "loop-a")
    os.mkdir(os.path.join(os.fsencode(root), b"200624_A00834_0184_caf\xe9"))
    elsewhere = _touch(tmp_path / "elsewhere" / "200624_A00834_0185_AOUTSIDEXX" / "x").parent
    (root / elsewhere.name).symlink_to(elsewhere)
    entries = {os.path.basename(e.run_dir): e for e in find_sequencer_runs(root, "novaseq")}
    assert entries[done.name].state == "complete"
    assert entries["loop-a"].state == "problem"
    assert "symlink loop" in entries["loop-a"].reason
    bad = entries[os.fsdecode(b"200624_A00834_0184_caf\xe9")]
    assert bad.state == "problem"
    assert "caf\\xe9" in bad.reason
    assert "not valid UTF-8" in bad.reason
    assert entries[elsewhere.name].state == "problem"
    assert "outside the sequencer root" in entries[elsewhere.name].reason


def test_a_link_to_a_folder_inside_the_root_is_classified(tmp_path: Path) -> None:
    """A symlink whose target stays inside the root is a folder like any other."""
    done = _touch(tmp_path / "200624_A00834_0183_BHMTFYDRXX" / "CopyComplete.txt").parent
    (tmp_path / "200624_A00834_0186_BALIASXXXX").symlink_to(done)
    states = {e.run_dir.name: e.state for e in find_sequencer_runs(tmp_path, "novaseq")}
    assert states["200624_A00834_0186_BALIASXXXX"] == "complete"


def test_classify_folder_with_its_root_confines(tmp_path: Path) -> None:
    """classify_folder(root=...) (the daemon's look after an event) applies the same rule."""
    root = tmp_path / "root"
    root.mkdir()
    elsewhere = _touch(tmp_path / "elsewhere" / "200624_A00834_0185_AOUTSIDEXX" / "x").parent
    (root / elsewhere.name).symlink_to(elsewhere)
    [entry] = classify_folder(root / elsewhere.name, "novaseq", root=root)
    assert entry.state == "problem"
    assert "outside" in entry.reason

"""Discovery: every entry at the top of a sequencer root, with its state.

Looks only at the top level of the root (one ``os.scandir``) and at the few files the
completion rules name inside each run folder; never walks a run folder. The profile of a
folder comes, cheapest first, from its name (``YYMMDD_<instrument>_...``, PacBio ``r84…``
run folders, MinKNOW run folders), then from the names at its top level (AVITI
``RunParameters.json``, ONT ``final_summary_*.txt``, PacBio cell folders), then from the
content of its RunInfo/RunParameters through :mod:`rodrunner.parsers.detect`.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rodrunner.completion import Completion, evaluate_completion
from rodrunner.config.schema import DEFAULT_SKIP_FILE, DEFAULT_TRIGGER_FILE
from rodrunner.confine import linked_out_of_root
from rodrunner.errors import ConfigError, RodrunnerError
from rodrunner.names import shown, text_problem
from rodrunner.profiles import (
    PROFILES,
    SequencerProfile,
    get_profile,
    profile_for_instrument_prefix,
    with_indicator,
)

EntryState = Literal["complete", "in_progress", "skipped", "not_a_run", "problem"]
"""``problem``: an entry that may be a run but cannot be used as it is (a name that is not
UTF-8, a symlink loop, an unreadable entry, a link out of the root); the reason says why."""

ILLUMINA_NAME = re.compile(r"^(?:\d{6}|\d{8})_(?P<prefix>[A-Za-z]+(?:-[A-Za-z]+)?)\d+_")
PACBIO_RUN_NAME = re.compile(r"^r(?:54|64|84)\d+[a-z]?_\d{8}_\d{6}")
PACBIO_CELL_NAME = re.compile(r"^\d+_[A-H]\d{2}$")
NANOPORE_RUN_NAME = re.compile(r"^\d{8}_\d{4}_[A-Za-z0-9-]+_[A-Za-z0-9]+_[0-9a-f]{8}$")

_CONTENT_FILES = ("RunInfo.xml", "RunParameters.xml", "runParameters.xml")
_MAX_CONTENT_BYTES = 4 << 20


@dataclass(frozen=True, slots=True)
class RunEntry:
    """One entry of a sequencer root (for PacBio: one SMRT cell) and what it is."""

    run_dir: Path
    run_id: str
    sequencer_type: str | None
    state: EntryState
    reason: str
    indicator: Path | None = None
    indicator_mtime: float | None = None
    forced: bool = False
    trigger_mtime: float | None = None

    @property
    def complete(self) -> bool:
        """Whether the entry may be ingested now."""
        return self.state == "complete"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (paths as strings)."""
        return {
            "run_dir": str(self.run_dir),
            "run_id": self.run_id,
            "sequencer_type": self.sequencer_type,
            "state": self.state,
            "reason": self.reason,
            "indicator": str(self.indicator) if self.indicator else None,
            "indicator_mtime": self.indicator_mtime,
            "forced": self.forced,
            "trigger_mtime": self.trigger_mtime,
        }


def detect_from_name(name: str) -> str | None:
    """The profile a folder name implies, or None. No I/O."""
    if PACBIO_RUN_NAME.match(name):
        return "pacbio"
    if NANOPORE_RUN_NAME.match(name):
        return "nanopore"
    match = ILLUMINA_NAME.match(name)
    if match:
        profile = profile_for_instrument_prefix(match["prefix"].upper())
        if profile is not None:
            return profile.name
    return None


def _list_names(directory: str) -> list[str]:
    try:
        with os.scandir(directory) as entries:
            return [e.name for e in entries]
    except OSError:
        return []


def _cells(run_dir: str) -> list[str]:
    try:
        with os.scandir(run_dir) as entries:
            return sorted(e.name for e in entries if PACBIO_CELL_NAME.match(e.name) and e.is_dir())
    except OSError:
        return []


def _content_detector() -> Callable[[Mapping[str, bytes]], str]:
    """The parsers' content-based detection (imported on first use: the parsers are larger)."""
    from rodrunner.parsers.detect import detect_sequencer_type

    return detect_sequencer_type


def detect_from_folder(run_dir: str | os.PathLike[str]) -> str | None:
    """The profile of a folder from its top-level names and, last, its metadata content."""
    path = os.fspath(run_dir)
    names = _list_names(path)
    name_set = set(names)
    if "RunParameters.json" in name_set or "RunUploaded.json" in name_set:
        return "aviti"
    if any(n.startswith("final_summary_") and n.endswith(".txt") for n in names):
        return "nanopore"
    if any(PACBIO_CELL_NAME.match(n) for n in names) and _cells(path):
        return "pacbio"
    files: dict[str, bytes] = {}
    for name in names:
        if name in _CONTENT_FILES or name.lower() in {"runinfo.xml", "runparameters.xml"}:
            try:
                with open(os.path.join(path, name), "rb") as fh:
                    files[name] = fh.read(_MAX_CONTENT_BYTES)
            except OSError:
                continue
    if not files:
        return None
    detect = _content_detector()
    try:
        detected = detect(files)
    except RodrunnerError:
        return None
    return detected if detected in PROFILES else None


def _has_marker(run_dir: str, profile: SequencerProfile) -> bool:
    """Whether the folder holds one of the profile's metadata files (literal names only)."""
    for name in profile.metadata_files:
        if "*" not in name and os.path.exists(os.path.join(run_dir, name)):
            return True
    return False


def _cell_run_id(run_name: str, cell: str, verdict: Completion) -> str:
    """A SMRT cell's run id: its movie name (what the parsers report), from the indicator.

    The instrument names the cell's ``*.transferdone`` after its movie
    (``m84047_230404_164952_s1``);
    before that file exists the cell is called ``<run folder>_<cell>``.
    """
    indicator = verdict.indicator
    if indicator is not None and indicator.name.endswith(".transferdone"):
        movie = indicator.name[: -len(".transferdone")]
        if movie:
            return movie
    return f"{run_name}_{cell}"


def _entry(run_dir: str, run_id: str, sequencer_type: str | None, verdict: Completion) -> RunEntry:
    return RunEntry(
        run_dir=Path(run_dir),
        run_id=run_id,
        sequencer_type=sequencer_type,
        state=verdict.state,
        reason=verdict.reason,
        indicator=verdict.indicator,
        indicator_mtime=verdict.indicator_mtime,
        forced=verdict.forced,
        trigger_mtime=verdict.trigger_mtime,
    )


def _not_a_run(run_dir: str, name: str, reason: str, sequencer_type: str | None) -> RunEntry:
    return RunEntry(Path(run_dir), name, sequencer_type, "not_a_run", reason)


TopKind = Literal["folder", "other", "problem"]


def _os_problem(path: str, exc: OSError) -> str:
    where = shown(path)
    if exc.errno == errno.ELOOP:
        return f"{where} is a symlink loop; remove the link or point it at the run folder"
    if exc.errno == errno.EACCES:
        return f"{where} cannot be read (permission denied); let the daemon's user read it"
    return f"{where} cannot be read ({exc.strerror or exc}); fix or remove it"


def examine_top_entry(path: str, real_root: Path | None) -> tuple[TopKind, str]:
    """What the entry ``path`` at the top of a root is: a ``folder`` that may be a run,
    ``other`` (not a directory; the reason says so) or a ``problem`` (the reason says why).

    ``real_root`` (the root, resolved) confines: a symlink resolving outside it is a problem.
    Every error of the entry is its own problem; nothing here raises.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "other", "not a directory (a dangling link, or gone)"
    except OSError as exc:
        return "problem", _os_problem(path, exc)
    if not stat.S_ISDIR(info.st_mode):
        return "other", "not a directory"
    problem = text_problem(os.path.basename(path))
    if problem is not None:
        return "problem", problem
    if real_root is not None and os.path.islink(path):
        outside = linked_out_of_root(path, [real_root])
        if outside is not None:
            return "problem", outside
    return "folder", ""


def classify_folder(
    run_dir: str | os.PathLike[str],
    sequencer_type: str | None = None,
    *,
    completion_indicator: str | None = None,
    trigger_file: str = DEFAULT_TRIGGER_FILE,
    skip_file: str = DEFAULT_SKIP_FILE,
    now: float | None = None,
    root: str | os.PathLike[str] | None = None,
) -> list[RunEntry]:
    """The entries of one folder at the top of a root: one, or one per PacBio SMRT cell.

    With ``root`` (the root the folder is at the top of) the folder is first examined as
    :func:`examine_top_entry` does: a problem or a non-directory is the one entry returned.
    """
    path = os.path.abspath(os.fspath(run_dir))
    name = os.path.basename(path)
    if root is not None:
        kind, why = examine_top_entry(path, Path(os.path.realpath(root)))
        if kind == "other":
            return [_not_a_run(path, name, why, None)]
        if kind == "problem":
            return [RunEntry(Path(path), name, sequencer_type, "problem", why)]
    name_type = detect_from_name(name)
    type_name = sequencer_type or name_type or detect_from_folder(path)
    if type_name is None:
        return [
            _not_a_run(
                path,
                name,
                "no sequencer profile recognises this folder; "
                "pass the type (scan --type, sequencer.types) if it is a run",
                None,
            )
        ]
    profile = with_indicator(get_profile(type_name), completion_indicator)

    def judge(unit: str) -> Completion:
        return evaluate_completion(
            unit, profile, trigger_file=trigger_file, skip_file=skip_file, now=now
        )

    if profile.run_unit == "smrt_cell":
        cells = _cells(path)
        if not cells:
            if name_type != "pacbio":
                return [
                    _not_a_run(
                        path, name, "no SMRT cell folders (like 1_A01); not a PacBio run", None
                    )
                ]
            top = judge(path)
            if top.state == "skipped":
                return [_entry(path, name, type_name, top)]
            return [
                RunEntry(Path(path), name, type_name, "in_progress", "no SMRT cell folders yet")
            ]
        if skip_file and os.path.exists(os.path.join(path, skip_file)):
            skipped = Completion("skipped", f"{skip_file} present in the run folder")
            return [_entry(os.path.join(path, c), f"{name}_{c}", type_name, skipped) for c in cells]
        entries = []
        for cell in cells:
            verdict = judge(os.path.join(path, cell))
            entries.append(
                _entry(
                    os.path.join(path, cell), _cell_run_id(name, cell, verdict), type_name, verdict
                )
            )
        return entries

    verdict = judge(path)
    if (
        verdict.state == "in_progress"
        and verdict.indicator is None
        and name_type is None
        and sequencer_type is not None
        and not _has_marker(path, profile)
    ):
        wanted = " or ".join((*profile.metadata_files[:1], *profile.completion_indicators))
        return [
            _not_a_run(
                path,
                name,
                f"no {wanted}; not a {type_name} run folder",
                type_name,
            )
        ]
    return [_entry(path, name, type_name, verdict)]


def find_sequencer_runs(
    root_dir: str | os.PathLike[str],
    sequencer_type: str | None = None,
    *,
    completion_indicator: str | None = None,
    trigger_file: str = DEFAULT_TRIGGER_FILE,
    skip_file: str = DEFAULT_SKIP_FILE,
    now: float | None = None,
) -> list[RunEntry]:
    """Every entry at the top of ``root_dir`` with its state, sorted by path.

    ``sequencer_type`` (a profile name) is used for every folder when given; otherwise each
    folder's profile is detected. ``completion_indicator`` overrides the profile's rule.
    An entry that cannot be used (see :func:`examine_top_entry`) is a ``problem`` entry; the
    others are classified as usual. Raises :class:`~rodrunner.errors.ConfigError` for an
    unknown type or a missing root.
    """
    if sequencer_type is not None:
        get_profile(sequencer_type)  # fail fast on a typo
    root = os.path.abspath(os.fspath(root_dir))
    try:
        with os.scandir(root) as it:
            names = sorted(e.name for e in it)  # names only: an entry's trouble is its own
    except FileNotFoundError:
        raise ConfigError(
            f"sequencer root '{root}' does not exist; create it or fix sequencer.base_dir / "
            "sequencer.types.<type>.root",
            key="root",
        ) from None
    except NotADirectoryError:
        raise ConfigError(f"sequencer root '{root}' is not a directory", key="root") from None

    real_root = Path(os.path.realpath(root))
    entries: list[RunEntry] = []
    for name in names:
        path = os.path.join(root, name)
        if name.startswith("."):
            entries.append(_not_a_run(path, name, "hidden entry", None))
            continue
        kind, why = examine_top_entry(path, real_root)
        if kind == "other":
            entries.append(_not_a_run(path, name, why, None))
        elif kind == "problem":
            entries.append(RunEntry(Path(path), name, sequencer_type, "problem", why))
        else:
            entries.extend(
                classify_folder(
                    path,
                    sequencer_type,
                    completion_indicator=completion_indicator,
                    trigger_file=trigger_file,
                    skip_file=skip_file,
                    now=now,
                )
            )
    return entries

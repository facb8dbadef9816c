"""Whether a run unit is final: a profile's completion rule evaluated with a few stats.

Order of precedence: the operator's skip file, then the operator's trigger file, then the
profile's rule. Only the files the rule names are looked at (a literal name is one ``stat``;
a glob lists one directory); AVITI's ``RunUploaded.json`` is read because its content
decides. Anything suspicious (a directory where a file should be, an empty or unreadable
indicator, a failed outcome, a modification time in the future) is reported as the reason
the unit is *not* complete, never trusted.
"""

from __future__ import annotations

import fnmatch
import json
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rodrunner.config.schema import DEFAULT_SKIP_FILE, DEFAULT_TRIGGER_FILE
from rodrunner.profiles import CompletionCheck, SequencerProfile, with_indicator

CompletionState = Literal["complete", "in_progress", "skipped"]

CLOCK_SKEW_SECONDS = 300.0
"""How far in the future an indicator's mtime may be before it is distrusted."""
MAX_INDICATOR_BYTES = 1 << 20
"""Indicators whose content is checked are read only up to this size."""

_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True, slots=True)
class Completion:
    """The verdict on one run unit."""

    state: CompletionState
    reason: str
    indicator: Path | None = None
    indicator_mtime: float | None = None
    forced: bool = False
    trigger_mtime: float | None = None

    @property
    def complete(self) -> bool:
        """Whether the unit may be ingested now."""
        return self.state == "complete"


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _find_indicator(unit: str, pattern: str) -> tuple[str, str, os.stat_result] | None:
    """The first entry matching ``pattern`` (relative to ``unit``): path, relative name, stat."""
    head, _, name = pattern.rpartition("/")
    directory = f"{unit}/{head}" if head else unit
    if not _GLOB_CHARS.intersection(name):
        path = f"{directory}/{name}"
        st = _stat(path)
        return (path, pattern, st) if st is not None else None
    try:
        with os.scandir(directory) as entries:
            names = sorted(e.name for e in entries if fnmatch.fnmatchcase(e.name, name))
    except OSError:
        return None
    for match in names:
        path = f"{directory}/{match}"
        st = _stat(path)
        if st is not None:
            return path, f"{head}/{match}" if head else match, st
    return None


def _check_content(path: str, check: CompletionCheck, trigger_file: str) -> str | None:
    """Why the indicator's content does not say complete, or None when it does."""
    name = os.path.basename(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_INDICATOR_BYTES + 1)
    except OSError as exc:
        return f"{name} cannot be read ({exc.strerror}); waiting"
    if not raw.strip():
        return f"{name} is empty (still being written?); waiting"
    if len(raw) > MAX_INDICATOR_BYTES:
        return f"{name} is larger than {MAX_INDICATOR_BYTES} bytes; not a completion file"
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return f"{name} is not valid JSON (still being written?); waiting"
    value = data.get(check.key) if isinstance(data, dict) else None
    if value != check.expected:
        return (
            f"{name} has {check.key}={value!r}, not {check.expected!r}: the instrument did not "
            f"finish this run; drop {trigger_file} into it to ingest it anyway"
        )
    return None


def evaluate_completion(
    unit_dir: str | os.PathLike[str],
    profile: SequencerProfile,
    *,
    completion_indicator: str | None = None,
    trigger_file: str = DEFAULT_TRIGGER_FILE,
    skip_file: str = DEFAULT_SKIP_FILE,
    now: float | None = None,
) -> Completion:
    """Evaluate ``profile``'s completion rule (or ``completion_indicator``) on ``unit_dir``.

    ``unit_dir`` is the run folder, or the SMRT cell folder for PacBio.
    """
    unit = os.fspath(unit_dir)
    now = time.time() if now is None else now

    if skip_file and _stat(os.path.join(unit, skip_file)) is not None:
        return Completion("skipped", f"{skip_file} present: never ingested")

    trigger = _stat(os.path.join(unit, trigger_file)) if trigger_file else None
    rule = _evaluate_rule(
        unit, with_indicator(profile, completion_indicator), now, trigger_file or "a trigger file"
    )
    if trigger is not None and not rule.complete:
        return Completion(
            "complete",
            f"forced by {trigger_file} ({rule.reason})",
            indicator=Path(unit, trigger_file),
            indicator_mtime=trigger.st_mtime,
            forced=True,
            trigger_mtime=trigger.st_mtime,
        )
    if trigger is not None:
        return Completion(
            rule.state,
            f"{rule.reason}; {trigger_file} present",
            indicator=rule.indicator,
            indicator_mtime=rule.indicator_mtime,
            forced=True,
            trigger_mtime=trigger.st_mtime,
        )
    return rule


def _evaluate_rule(
    unit: str, profile: SequencerProfile, now: float, trigger_file: str
) -> Completion:
    found: tuple[str, str, os.stat_result] | None = None
    for pattern in profile.completion_indicators:
        found = _find_indicator(unit, pattern)
        if found is not None:
            break
    wanted = " or ".join(profile.completion_indicators)
    if found is None:
        return Completion("in_progress", f"waiting for {wanted}")
    path, name, st = found
    indicator = Path(path)
    if stat.S_ISDIR(st.st_mode):
        return Completion(
            "in_progress",
            f"{name} is a directory, not a completion file; waiting for {wanted}",
            indicator=indicator,
        )
    if st.st_mtime > now + CLOCK_SKEW_SECONDS:
        return Completion(
            "in_progress",
            f"{name} has a modification time in the future ({_iso(st.st_mtime)}); "
            "check the clocks of the sequencer and the share",
            indicator=indicator,
            indicator_mtime=st.st_mtime,
        )
    if profile.completion_check is not None:
        problem = _check_content(path, profile.completion_check, trigger_file)
        if problem is not None:
            return Completion(
                "in_progress", problem, indicator=indicator, indicator_mtime=st.st_mtime
            )
    return Completion(
        "complete", f"{name} present", indicator=indicator, indicator_mtime=st.st_mtime
    )


def _iso(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))

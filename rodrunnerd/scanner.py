"""Reconciliation: what is at the top of each sequencer root now.

The observers only say *where to look*; this module looks. A full scan runs at start and
every ``daemon.rescan_interval`` (catching what the observers missed: queue overflow, share
remounts, runs completed while the daemon was down); a targeted look at one folder runs for
each observer event. Both go through :mod:`rodrunner.discovery`, which reads only the top
level of a root and the few files the completion rules name. The daemon never writes here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from rodrunner.config import AppConfig
from rodrunner.discovery import RunEntry, classify_folder, find_sequencer_runs
from rodrunner.errors import RodrunnerError
from rodrunner.names import shown
from rodrunner.profiles import PROFILES

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class RootSpec:
    """One configured sequencer root and how to watch it."""

    sequencer_type: str
    root: Path
    completion_indicator: str | None = None
    observer: str = "auto"
    poll_interval: float = 30.0


def roots_from_config(config: AppConfig) -> list[RootSpec]:
    """The roots to watch: every ``sequencer.types`` entry (or, when none is configured,
    every ``base_dir/<profile>`` directory that exists)."""
    seq = config.sequencer
    if seq.types:
        return [
            RootSpec(
                sequencer_type=name,
                root=seq.root_for(name),
                completion_indicator=entry.completion_indicator,
                observer=entry.observer,
                poll_interval=entry.poll_interval,
            )
            for name, entry in sorted(seq.types.items())
        ]
    return [
        RootSpec(sequencer_type=name, root=seq.base_dir / name)
        for name in sorted(PROFILES)
        if (seq.base_dir / name).is_dir()
    ]


@dataclass(frozen=True, slots=True)
class Observation:
    """A run unit as seen now: discovery's verdict plus the newest top-level mtime."""

    spec: RootSpec
    entry: RunEntry
    newest_mtime: float | None

    @property
    def run_dir(self) -> str:
        """The run unit's absolute path."""
        return str(self.entry.run_dir)


@dataclass(slots=True)
class ScanReport:
    """What one reconciliation scan found."""

    observations: list[Observation] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether every root could be scanned."""
        return not self.errors


def newest_top_level_mtime(run_dir: str) -> float | None:
    """The newest mtime of the folder and of the entries at its top level (no walk)."""
    try:
        newest = os.stat(run_dir).st_mtime
        with os.scandir(run_dir) as entries:
            for entry in entries:
                try:
                    newest = max(newest, entry.stat(follow_symlinks=False).st_mtime)
                except OSError:
                    continue
    except OSError:
        return None
    return newest


def candidate_folder(root: str, path: str) -> str | None:
    """The folder at the top of ``root`` that ``path`` belongs to (``None`` for the root)."""
    try:
        rel = os.path.relpath(path, root)
    except ValueError:
        return None
    if rel in (".", "") or rel.startswith(".."):
        return None
    first = rel.split(os.sep, 1)[0]
    if first.startswith("."):
        return None
    return os.path.join(root, first)


class Scanner:
    """Looks at roots and folders through discovery, with the daemon's operator files."""

    def __init__(self, *, trigger_file: str, skip_file: str) -> None:
        self.trigger_file = trigger_file
        self.skip_file = skip_file

    def _observe(self, spec: RootSpec, entries: Iterable[RunEntry]) -> list[Observation]:
        out = []
        for entry in entries:
            if entry.state == "not_a_run":
                continue
            newest = newest_top_level_mtime(str(entry.run_dir))
            out.append(Observation(spec, entry, newest))
        return out

    def scan_root(self, spec: RootSpec) -> list[Observation]:
        """Every run unit at the top of ``spec.root``; raises RodrunnerError for a bad root."""
        entries = find_sequencer_runs(
            spec.root,
            spec.sequencer_type,
            completion_indicator=spec.completion_indicator,
            trigger_file=self.trigger_file,
            skip_file=self.skip_file,
        )
        return self._observe(spec, entries)

    def scan(self, specs: Iterable[RootSpec]) -> ScanReport:
        """Scan every root; a root that cannot be scanned is recorded in ``errors``."""
        started = time.monotonic()
        report = ScanReport()
        for spec in specs:
            try:
                report.observations.extend(self.scan_root(spec))
            except (RodrunnerError, OSError) as exc:
                report.errors[str(spec.root)] = str(exc)
                log.warning(
                    "scan.root_failed",
                    root=str(spec.root),
                    sequencer_type=spec.sequencer_type,
                    error=str(exc),
                )
        report.seconds = time.monotonic() - started
        return report

    def look(self, spec: RootSpec, folder: str) -> list[Observation]:
        """The run units of one folder at the top of a root (after an observer event)."""
        try:
            entries = classify_folder(
                folder,
                spec.sequencer_type,
                completion_indicator=spec.completion_indicator,
                trigger_file=self.trigger_file,
                skip_file=self.skip_file,
                root=spec.root,
            )
        except (RodrunnerError, OSError) as exc:
            log.warning("scan.folder_failed", run_dir=shown(folder), error=str(exc))
            return []
        return self._observe(spec, entries)


__all__ = [
    "Observation",
    "RootSpec",
    "ScanReport",
    "Scanner",
    "candidate_folder",
    "newest_top_level_mtime",
    "roots_from_config",
]

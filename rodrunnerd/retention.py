"""Retention: release (move or delete) ingested run folders that pass the safe-to-delete gate.

Off unless ``retention.action`` is ``move`` or ``delete``; with ``retention.dry_run`` a pass
only logs what it would do. A pass (every ``retention.interval`` seconds, after the ingest
work, in a small worker thread) judges every ``ingested`` run with the gate of
:mod:`rodrunner.deletable` (its I/O in :mod:`rodrunner.stored_run`; no deep verification is
run here, only the ``rodrunner::verified_at`` it recorded is read) and releases at most
``retention.max_per_pass`` of those that pass:

1. the gate is checked again, immediately before acting;
2. the ledger records the intent: ``ingested -> releasing``;
3. ``move``: one ``rename`` into ``retention.move_to`` (the same filesystem; nothing is
   copied); ``delete``: one ``rename`` to ``.rodrunner-releasing-<name>`` beside the folder
   (hidden: never scanned), then that is removed without following any symlink;
4. the ledger records ``released`` with how and why.

A daemon killed between 2 and 4 finds the run ``releasing`` at its next start
(:func:`recover`): the folder still at its place rolls back to ``ingested``; a leftover
``.rodrunner-releasing-`` folder is removed; then the run is ``released``. So a kill leaves
the folder or the record of its release, never neither.

Only a run folder that is no symlink and lies inside a sequencer root (the rule of
:mod:`rodrunner.confine`) is ever touched.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from rodrunner.config import AppConfig
from rodrunner.confine import allowed_roots, resolve_inside
from rodrunner.deletable import Condition
from rodrunner.errors import LedgerError, RodrunnerError
from rodrunner.ledger.records import RunRecord
from rodrunner.ledger.states import RunState
from rodrunner.ledger.store import Ledger
from rodrunner.names import shown

__all__ = [
    "TOMBSTONE_PREFIX",
    "Judgement",
    "PassReport",
    "judge",
    "recover",
    "release",
    "run_pass",
    "tombstone",
]

log = structlog.get_logger()

TOMBSTONE_PREFIX = ".rodrunner-releasing-"


@dataclass(frozen=True)
class Judgement:
    """One ingested run and what the gate says about it now."""

    record: RunRecord
    conditions: tuple[Condition, ...]
    bytes: int  # what its folder holds per the stored manifest (0 when unknown)
    problem: str | None = None  # the gate could not be evaluated

    @property
    def deletable(self) -> bool:
        """Every condition holds."""
        return self.problem is None and bool(self.conditions) and all(c.ok for c in self.conditions)

    @property
    def why(self) -> str:
        """The reasons, one line: the failing conditions, or all of them when it passes."""
        if self.problem is not None:
            return self.problem
        shown_ = [c for c in self.conditions if not c.ok] or list(self.conditions)
        return "; ".join(f"{c.name}: {c.reason}" for c in shown_)


@dataclass
class PassReport:
    """What one pass judged and did."""

    judged: list[Judgement] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def deletable(self) -> list[Judgement]:
        """The runs that passed the gate."""
        return [j for j in self.judged if j.deletable]

    @property
    def reclaimable(self) -> int:
        """Bytes the passing runs hold."""
        return sum(j.bytes for j in self.deletable)


def tombstone(run_dir: str) -> str:
    """Where ``delete`` renames ``run_dir`` before removing it (hidden, beside it)."""
    parent, name = os.path.split(run_dir.rstrip("/"))
    return os.path.join(parent, TOMBSTONE_PREFIX + name)


def _describe(config: AppConfig, run_dir: str) -> str:
    retention = config.retention
    if retention.action == "move":
        assert retention.move_to is not None
        return f"move to {Path(retention.move_to) / os.path.basename(run_dir)}"
    return "delete"


def judge(config: AppConfig, record: RunRecord) -> Judgement:
    """The gate for ``record``, read now (iRODS, ledger, a fresh listing of the folder)."""
    from rodrunner.connect import open_irods
    from rodrunner.deletable import evaluate
    from rodrunner.stored_run import gate_input, resolve

    if not os.path.isdir(record.run_dir):
        return Judgement(record, (), 0, "the run folder is not there (moved or deleted by hand?)")
    try:
        target = resolve(record.run_dir, config, record.sequencer_type)
        with open_irods(config.irods) as client:
            inp = gate_input(client, target, config)
    except (RodrunnerError, OSError) as exc:
        return Judgement(record, (), 0, f"the gate could not be evaluated: {exc}")
    manifest = inp.stored.manifest
    size = sum(e.size for e in manifest.entries) if manifest is not None else 0
    return Judgement(record, tuple(evaluate(inp)), size)


def _confined(config: AppConfig, run_dir: str) -> str | None:
    """Why ``run_dir`` must not be touched (a symlink, outside every root), else None."""
    if os.path.islink(run_dir):
        return f"{shown(run_dir)} is a symlink; retention never follows one"
    roots = allowed_roots(config)
    if resolve_inside(run_dir, roots) is None:
        return f"{shown(run_dir)} lies outside the sequencer roots"
    if resolve_inside(os.path.dirname(run_dir.rstrip("/")), roots, allow_root=True) is None:
        return f"{shown(run_dir)}: its parent lies outside the sequencer roots"
    return None


def _remove(path: str) -> None:
    """Remove the tree at ``path`` without following a symlink (fd-based removal)."""
    if not shutil.rmtree.avoids_symlink_attacks:
        raise OSError("this platform cannot remove a tree without following symlinks")
    if os.path.islink(path):
        raise OSError(f"{shown(path)} is a symlink; not removed")
    shutil.rmtree(path)


Pause = Callable[[str], None]
"""Called between the steps of a release with the step's name (``intent``, ``renamed``)."""


def release(
    config: AppConfig, ledger: Ledger, record: RunRecord, *, pause: Pause | None = None
) -> bool:
    """Refuse a symlink or a path outside the roots, re-check the gate, then move or delete
    ``record``'s folder; True when released."""
    runlog = log.bind(run_id=shown(record.run_id), run_dir=shown(record.run_dir))
    refused = _confined(config, record.run_dir)
    if refused is not None:
        runlog.warning("run.release_refused", reason=refused)
        return False
    fresh = judge(config, record)
    if not fresh.deletable:
        runlog.info("run.release_skipped", reason=fresh.why)
        return False
    how = _describe(config, record.run_dir)
    why = fresh.why
    ledger.transition(record.run_dir, RunState.RELEASING, error=f"{how}: {why}")
    if pause is not None:
        pause("intent")
    try:
        if config.retention.action == "move":
            assert config.retention.move_to is not None
            dest = os.path.join(config.retention.move_to, os.path.basename(record.run_dir))
            if os.path.lexists(dest):
                raise OSError(f"{shown(dest)} exists already; not overwritten")
            os.rename(record.run_dir, dest)
            done = f"moved to {dest}"
        else:
            grave = tombstone(record.run_dir)
            if os.path.lexists(grave):
                _remove(grave)
            os.rename(record.run_dir, grave)
            if pause is not None:
                pause("renamed")
            _remove(grave)
            done = "deleted"
    except OSError as exc:
        error = f"release failed ({how}): {exc}"
        if getattr(exc, "errno", None) == 18:  # EXDEV
            error += "; retention.move_to must be on the same filesystem as the root"
        if os.path.isdir(record.run_dir):
            ledger.transition(record.run_dir, RunState.INGESTED, error=error)
        runlog.error("run.release_failed", error=error)
        return False
    ledger.transition(record.run_dir, RunState.RELEASED, error=f"{done}: {why}")
    runlog.info(
        "run.released", how=done, why=why, bytes=fresh.bytes, action=config.retention.action
    )
    return True


def recover(config: AppConfig, ledger: Ledger) -> None:
    """Finish or roll back releases a stopped daemon left ``releasing``."""
    for record in ledger.list([RunState.RELEASING]):
        runlog = log.bind(run_id=shown(record.run_id), run_dir=shown(record.run_dir))
        grave = tombstone(record.run_dir)
        try:
            if os.path.lexists(record.run_dir):
                ledger.transition(
                    record.run_dir, RunState.INGESTED, error="release interrupted; rolled back"
                )
                runlog.warning("run.release_rolled_back", reason="the folder is still there")
                continue
            if os.path.lexists(grave):
                refused = _confined(config, grave)
                if refused is not None:
                    runlog.error("run.release_refused", reason=refused)
                    continue
                _remove(grave)
            intent = record.last_error or ""
            done = "deleted" if intent.startswith("delete") else intent.replace("move", "moved", 1)
            ledger.transition(record.run_dir, RunState.RELEASED, error=done)
            runlog.info("run.released", how=done.split(":", 1)[0], why="release finished at start")
        except (OSError, LedgerError) as exc:
            runlog.error("run.release_failed", error=str(exc))


def run_pass(
    config: AppConfig,
    ledger: Ledger,
    *,
    dry_run: bool | None = None,
    stop: threading.Event | None = None,
    pause: Pause | None = None,
) -> PassReport:
    """One retention pass: judge every ingested run, release at most ``max_per_pass``."""
    retention = config.retention
    dry = retention.dry_run if dry_run is None else dry_run
    report = PassReport()
    for record in ledger.list([RunState.INGESTED]):
        if stop is not None and stop.is_set():
            break
        judgement = judge(config, record)
        report.judged.append(judgement)
        if judgement.deletable:
            log.info(
                "run.deletable",
                run_id=shown(record.run_id),
                run_dir=shown(record.run_dir),
                bytes=judgement.bytes,
                would=_describe(config, record.run_dir) if retention.action != "none" else None,
                dry_run=dry,
            )
    if dry or retention.action == "none":
        return report
    for judgement in report.deletable[: retention.max_per_pass]:
        if stop is not None and stop.is_set():
            break
        try:
            ok = release(config, ledger, judgement.record, pause=pause)
        except LedgerError as exc:  # the run moved on meanwhile (a trigger file, an operator)
            log.warning(
                "run.release_skipped", run_dir=shown(judgement.record.run_dir), reason=str(exc)
            )
            ok = False
        (report.released if ok else report.failed).append(judgement.record.run_dir)
    return report


def summary(report: PassReport) -> dict[str, Any]:
    """Counts for the ``retention.pass`` log event."""
    return {
        "judged": len(report.judged),
        "deletable": len(report.deletable),
        "reclaimable_bytes": report.reclaimable,
        "released": len(report.released),
        "failed": len(report.failed) or None,
    }


def lines(report: PassReport, config: AppConfig) -> Sequence[str]:
    """``rodrunnerd retention --dry-run``: one line per ingested run, what would happen."""
    out = []
    left = config.retention.max_per_pass
    for j in report.judged:
        name = shown(j.record.run_dir)
        if j.deletable:
            if config.retention.action == "none":
                out.append(f"deletable  {name}: retention.action is none, so it stays")
            elif left > 0:
                out.append(f"would {_describe(config, j.record.run_dir)}  {name}")
                left -= 1
            else:
                out.append(f"deletable  {name}: next pass (retention.max_per_pass reached)")
        else:
            out.append(f"stays      {name}: {j.why}")
    return out

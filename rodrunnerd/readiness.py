"""Readiness: from what a run folder looks like now to what the daemon should do. Pure.

The daemon's loop hands :func:`decide` discovery's verdict on a run unit (a
:class:`rodrunner.discovery.RunEntry`, or anything with the same fields), the newest mtime at
the unit's top level, the time now, ``daemon.settle_seconds`` and the unit's ledger record; it
gets back a :class:`Decision`. No I/O here: every value comes in as an argument.

The rules, first match wins:

1. the skip file is present: ``skip`` (``nothing`` once the ledger says skipped); discovery
   calls the entry itself a problem (a name that is not UTF-8, a symlink loop, a link out of
   the root): ``problem``;
2. a modification time in the future (beyond :data:`CLOCK_SKEW_SECONDS`): ``problem``,
   re-check when that time has passed;
3. the daemon already owns the run (queued, submitted, running): ``nothing``;
4. ``.rodrunner-ingest`` newer than the last one handled: ``submit`` now, even if the profile's
   rule does not hold or the run was ingested before (the operator asked);
5. the unit is ingested, failed or in ``conflict``: ``nothing`` (failed runs come back
   through :meth:`~rodrunner.ledger.store.Ledger.due_for_retry`, operators through
   ``rodrunnerd retry``);
6. the rule does not hold: ``problem`` when an indicator exists but is not trusted (a
   directory, a failed AVITI outcome, a future mtime), else ``wait``;
7. the rule holds but something at the top level changed less than ``settle_seconds`` ago:
   ``settle`` until it has been quiet that long;
8. otherwise ``submit``.

A ``submit`` carries the :func:`completion_key`, the Prefect idempotency key in deployment
mode: one submission per (run folder, completion). Which ledger state each action leads to is
:data:`rodrunner.ledger.states.STATE_OF_ACTION` (:attr:`Decision.next_state`).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Protocol

from rodrunner.ledger.states import IN_FLIGHT, STATE_OF_ACTION, Action, RunState

CLOCK_SKEW_SECONDS = 300.0
"""How far in the future an mtime may be before it is reported instead of trusted."""

__all__ = [
    "CLOCK_SKEW_SECONDS",
    "Decision",
    "EntryLike",
    "RecordLike",
    "completion_key",
    "decide",
]


class EntryLike(Protocol):
    """The fields of :class:`rodrunner.discovery.RunEntry` readiness uses."""

    @property
    def run_dir(self) -> str | os.PathLike[str]: ...
    @property
    def state(self) -> str: ...  # complete | in_progress | skipped | not_a_run | problem
    @property
    def reason(self) -> str: ...
    @property
    def indicator(self) -> str | os.PathLike[str] | None: ...
    @property
    def indicator_mtime(self) -> float | None: ...
    @property
    def forced(self) -> bool: ...
    @property
    def trigger_mtime(self) -> float | None: ...


class RecordLike(Protocol):
    """The fields of :class:`rodrunner.ledger.records.RunRecord` readiness uses."""

    @property
    def state(self) -> RunState: ...
    @property
    def trigger_mtime(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do, why, and the values the ledger transition needs."""

    action: Action
    reason: str
    recheck_at: float | None = None
    """For ``settle`` and ``problem``: when looking again can change the answer."""
    completion_key: str | None = None
    """For ``submit``: the idempotency key of this completion."""
    trigger_mtime: float | None = None
    """For ``submit``: the trigger file's mtime to record as handled."""
    forced: bool = False
    """For ``submit``: the operator's trigger file, not the profile's rule, decided."""

    @property
    def next_state(self) -> RunState | None:
        """The ledger state this decision leads to (``None``: leave the record alone)."""
        return STATE_OF_ACTION.get(self.action)


_RESTING = frozenset({RunState.INGESTED, RunState.FAILED, RunState.CONFLICT})


def completion_key(
    run_dir: str | os.PathLike[str], indicator_mtime: float | None, trigger_mtime: float | None
) -> str:
    """A stable key for one completion of one run folder (hex SHA-256, 64 characters).

    Two daemons that see the same folder with the same indicator and trigger mtimes compute
    the same key; a newer trigger file gives a new one. Mtimes count to the microsecond.
    """

    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:.6f}"

    text = "\0".join(
        (os.path.abspath(os.fspath(run_dir)), fmt(indicator_mtime), fmt(trigger_mtime))
    )
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def _future(now: float, *mtimes: float | None) -> float | None:
    """The latest of ``mtimes`` that lies beyond the tolerated clock skew, if any."""
    ahead = [m for m in mtimes if m is not None and m > now + CLOCK_SKEW_SECONDS]
    return max(ahead) if ahead else None


def decide(
    entry: EntryLike,
    *,
    newest_mtime: float | None,
    now: float,
    settle_seconds: float,
    record: RecordLike | None = None,
) -> Decision:
    """What to do with ``entry`` at ``now`` (see the module docstring for the rules)."""
    state = record.state if record is not None else None

    if entry.state == "skipped":
        if state is RunState.SKIPPED:
            return Decision(Action.NOTHING, "already skipped")
        if state in IN_FLIGHT:
            return Decision(Action.NOTHING, f"skip file dropped while {state}; it finishes")
        return Decision(Action.SKIP, entry.reason)
    if entry.state == "not_a_run":
        return Decision(Action.NOTHING, entry.reason)
    if entry.state == "problem":  # the entry itself cannot be used (name, link, loop)
        return Decision(Action.PROBLEM, entry.reason)

    future = _future(now, newest_mtime, entry.indicator_mtime, entry.trigger_mtime)
    if future is not None:
        return Decision(
            Action.PROBLEM,
            f"a modification time {future - now:.0f} s in the future in the run folder; "
            "check the clocks of the sequencer, the share and this host",
            recheck_at=future - CLOCK_SKEW_SECONDS,
        )

    if state in IN_FLIGHT:
        return Decision(Action.NOTHING, f"already {state}")

    handled = record.trigger_mtime if record is not None else None
    trigger = entry.trigger_mtime
    if trigger is not None and (handled is None or trigger > handled):
        return Decision(
            Action.SUBMIT,
            f"trigger file dropped ({entry.reason})",
            completion_key=completion_key(entry.run_dir, entry.indicator_mtime, trigger),
            trigger_mtime=trigger,
            forced=True,
        )

    if state in _RESTING:
        return Decision(Action.NOTHING, f"already {state}")

    if entry.state != "complete":
        if entry.indicator is not None:
            return Decision(Action.PROBLEM, entry.reason)
        return Decision(Action.WAIT, entry.reason)

    quiet_since = max(m for m in (newest_mtime, entry.indicator_mtime, 0.0) if m is not None)
    ready_at = quiet_since + settle_seconds
    if now < ready_at:
        return Decision(
            Action.SETTLE,
            f"complete; settling until nothing changes for {settle_seconds:g} s",
            recheck_at=ready_at,
        )
    return Decision(
        Action.SUBMIT,
        entry.reason,
        completion_key=completion_key(entry.run_dir, entry.indicator_mtime, trigger),
        trigger_mtime=trigger,
    )

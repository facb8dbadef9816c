"""A run's ledger record and what each change does to it. Pure: values in, values out.

The store (:mod:`rodrunner.ledger.store`) reads a record, asks one of these functions for the
record after the change and the history row that says so, and writes both in one
transaction. The rules of a transition live here and only here:

- entering ``failed`` counts an attempt and keeps the error;
- entering ``ingested`` from ``submitted``/``running`` counts the attempt that succeeded;
- entering ``ingested`` or ``skipped`` clears ``last_error`` (unless one is given) and
  ``forced``;
- leaving ``failed`` clears ``next_attempt_at``;
- leaving ``ingested`` or ``skipped`` (a new completion) resets ``attempts``;
- the operator's retry puts a run back to ``queued`` with attempts and backoff reset;
- a run id given replaces the stored one (the daemon gives the run's metadata id when it hands
  the run over: ``submitted``); when it differs, the history row notes the old and the new id
  in its ``error`` text (the record's ``last_error`` is left alone).

Until its first submission a run is known by discovery's id (the folder's name, a SMRT cell's
movie name); from then on by the id its metadata names, the one the flow, its events and its
iRODS collection carry.

:func:`backoff_seconds` is the one backoff policy of failed runs.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from rodrunner.errors import IllegalTransitionError
from rodrunner.ledger.states import RETRYABLE_BY_OPERATOR, RunState, is_allowed
from rodrunner.names import shown

__all__ = [
    "MAX_BACKOFF",
    "OPERATOR",
    "RunRecord",
    "Transition",
    "backoff_seconds",
    "id_note",
    "lookup_keys",
    "new_record",
    "operator_retry",
    "retry_at",
    "transition",
]

MAX_BACKOFF = 3600.0
"""The longest wait before a failed run is tried again, in seconds."""
OPERATOR = "operator"
"""The error text of the history row an operator's retry writes."""


@dataclass(frozen=True)
class RunRecord:
    """One run folder as the ledger knows it."""

    run_dir: str
    run_id: str
    sequencer_type: str
    state: RunState
    attempts: int
    last_error: str | None
    flow_run_id: str | None
    completion_key: str | None
    trigger_mtime: float | None
    next_attempt_at: float | None
    created_at: float
    updated_at: float
    forced: bool = False
    """The pending submission was asked for by the trigger file (flow parameter ``force``)."""

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (state as its string value)."""
        return {
            "run_dir": self.run_dir,
            "run_id": self.run_id,
            "sequencer_type": self.sequencer_type,
            "state": self.state.value,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "flow_run_id": self.flow_run_id,
            "completion_key": self.completion_key,
            "trigger_mtime": self.trigger_mtime,
            "next_attempt_at": self.next_attempt_at,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "forced": self.forced,
        }


class Transition(NamedTuple):
    """One row of a run's history: ``(from, to, at, error)``; ``from`` is None at first sight."""

    from_state: RunState | None
    to_state: RunState
    at: float
    error: str | None


def new_record(
    run_dir: str, run_id: str, sequencer_type: str, now: float
) -> tuple[RunRecord, Transition]:
    """A run folder seen for the first time: ``seen``, no attempts."""
    record = RunRecord(
        run_dir=run_dir,
        run_id=run_id,
        sequencer_type=sequencer_type,
        state=RunState.SEEN,
        attempts=0,
        last_error=None,
        flow_run_id=None,
        completion_key=None,
        trigger_mtime=None,
        next_attempt_at=None,
        created_at=now,
        updated_at=now,
    )
    return record, Transition(None, RunState.SEEN, now, None)


def transition(
    current: RunRecord,
    to: RunState,
    *,
    now: float,
    error: str | None = None,
    flow_run_id: str | None = None,
    completion_key: str | None = None,
    trigger_mtime: float | None = None,
    next_attempt_at: float | None = None,
    forced: bool | None = None,
    run_id: str | None = None,
) -> tuple[RunRecord, Transition]:
    """``current`` moved to ``to`` (see the module docstring for the rules).

    Values given replace the stored ones; ``None`` keeps them. Raises
    :class:`~rodrunner.errors.IllegalTransitionError` naming both states when the table
    forbids the move.
    """
    to = RunState(to)
    if not is_allowed(current.state, to):
        raise IllegalTransitionError(current.run_dir, current.state.value, to.value)
    attempts = current.attempts
    last_error = current.last_error if error is None else error
    next_at = current.next_attempt_at
    if current.state in (RunState.INGESTED, RunState.SKIPPED):
        attempts = 0
    if current.state is RunState.FAILED and to is not RunState.FAILED:
        next_at = None
    if to is RunState.FAILED and current.state is not RunState.FAILED:
        attempts += 1
    if to is RunState.INGESTED and current.state in (RunState.SUBMITTED, RunState.RUNNING):
        attempts += 1  # the attempt that succeeded counts too
    is_forced = current.forced if forced is None else forced
    if to in (RunState.INGESTED, RunState.SKIPPED):
        last_error = error
        is_forced = False
    if next_attempt_at is not None:
        next_at = next_attempt_at
    new_id = current.run_id if run_id is None else run_id
    note = error
    if new_id != current.run_id:
        renamed = id_note(current.run_id, new_id)
        note = renamed if error is None else f"{error}; {renamed}"
    record = replace(
        current,
        run_id=new_id,
        state=to,
        attempts=attempts,
        last_error=last_error,
        flow_run_id=current.flow_run_id if flow_run_id is None else flow_run_id,
        completion_key=current.completion_key if completion_key is None else completion_key,
        trigger_mtime=current.trigger_mtime if trigger_mtime is None else trigger_mtime,
        next_attempt_at=next_at,
        updated_at=now,
        forced=is_forced,
    )
    return record, Transition(current.state, to, now, note)


def id_note(old: str, new: str) -> str:
    """The history text of a run whose id changed from ``old`` to ``new`` at submission."""
    return f"run id '{shown(new)}' from the run's metadata (was '{shown(old)}')"


def operator_retry(current: RunRecord, *, now: float) -> tuple[RunRecord, Transition]:
    """An operator sends a failed, ingested, skipped, conflict or released run back to
    ``queued`` with attempts and backoff reset; any other state raises
    :class:`~rodrunner.errors.IllegalTransitionError` (the daemon is working on it)."""
    if current.state not in RETRYABLE_BY_OPERATOR:
        allowed = ", ".join(sorted(s.value for s in RETRYABLE_BY_OPERATOR))
        raise IllegalTransitionError(
            current.run_dir,
            current.state.value,
            RunState.QUEUED.value,
            fix=f"only {allowed} runs can be retried",
        )
    record = replace(
        current, state=RunState.QUEUED, attempts=0, next_attempt_at=None, updated_at=now
    )
    return record, Transition(current.state, RunState.QUEUED, now, OPERATOR)


def backoff_seconds(attempts: int, base: float, *, rng: random.Random | None = None) -> float:
    """Exponential backoff after ``attempts`` failures: base·2^(n-1), capped, ±10 % jitter."""
    delay = min(base * 2.0 ** max(attempts - 1, 0), MAX_BACKOFF)
    jitter = random.uniform(0.9, 1.1) if rng is None else rng.uniform(0.9, 1.1)  # noqa: S311 - jitter
    return delay * jitter


def retry_at(
    failed: RunRecord,
    *,
    now: float,
    base: float,
    max_attempts: int,
    rng: random.Random | None = None,
) -> float | None:
    """When a failed run is tried again, or ``None`` when it has no attempts left."""
    if failed.attempts >= max_attempts:
        return None
    return now + backoff_seconds(failed.attempts, base, rng=rng)


def lookup_keys(run: str) -> tuple[str, ...]:
    """The run folders ``run`` may name, in the order to try them; after them, ``run`` is
    looked up as a run id.

    A name with a ``/`` is a path: as given, then absolute (a relative one against the
    working directory of the command that was given it). A name without one is a run id or
    a stored folder spelt exactly; it is never resolved against the working directory (the
    API's, say, is nobody's business).
    """
    if os.sep not in run:
        return (run,)
    return tuple(dict.fromkeys((run, os.path.abspath(run))))

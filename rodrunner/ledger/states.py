"""Run states of the ledger, the one table of allowed transitions, and the one table of which
state each readiness action leads to.

::

    seen ──> settling ──> queued ──> submitted ──> running ──> ingested
      │         │           ▲  │          │           │           │
      │         │           │  └─> failed <┴───────────┘           │
      │         │           └──────┘ (retry with backoff)          │
      └─────────┴──> skipped                     queued <──────────┘ (.rodrunner-ingest again)

A run whose collection another run folder owns (the same run id) ends ``conflict`` and waits
for an operator (``rodrunner ingest RUN --replace|--suffix``, then ``rodrunnerd retry RUN``).
With ``retention.action`` ``move`` or ``delete`` an ``ingested`` run that passes the
safe-to-delete gate goes ``releasing`` (the intent, written before the folder is touched) and
then ``released`` (the folder moved to ``retention.move_to`` or deleted); a daemon killed in
between finishes or rolls back the release at its next start (``releasing`` goes to
``released`` or back to ``ingested``). A ``released`` run is never ingested again, even if a
folder of the same name reappears or a trigger file is dropped into it: only an operator's
``rodrunnerd retry RUN`` (or ``forget``) sends it back.
A run that is submitted or running when the daemon stops goes back to ``queued`` at the next
start (the flow resumes what is already in iRODS). ``failed`` is retried until
``daemon.max_attempts``, then kept for an operator (``rodrunnerd retry RUN``).

Readiness (``rodrunnerd.readiness``) answers with an :class:`Action`; :data:`STATE_OF_ACTION`
says which state it moves the run to (``nothing`` and ``problem`` leave the state alone).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class RunState(StrEnum):
    """Where a run folder stands in the daemon's eyes."""

    SEEN = "seen"
    SETTLING = "settling"
    QUEUED = "queued"
    SUBMITTED = "submitted"
    RUNNING = "running"
    INGESTED = "ingested"
    FAILED = "failed"
    SKIPPED = "skipped"
    CONFLICT = "conflict"
    """Another run folder owns the run's iRODS collection; held for an operator."""
    RELEASING = "releasing"
    """Retention decided to move or delete the folder; the folder may still be there."""
    RELEASED = "released"
    """Retention moved or deleted the folder; never ingested again unless an operator says."""


_S = RunState

ALLOWED_TRANSITIONS: Mapping[RunState, frozenset[RunState]] = MappingProxyType(
    {
        _S.SEEN: frozenset({_S.SETTLING, _S.QUEUED, _S.SKIPPED}),
        _S.SETTLING: frozenset({_S.SETTLING, _S.SEEN, _S.QUEUED, _S.SKIPPED}),
        _S.QUEUED: frozenset({_S.SUBMITTED, _S.FAILED, _S.SKIPPED}),
        _S.SUBMITTED: frozenset(
            {_S.RUNNING, _S.INGESTED, _S.FAILED, _S.QUEUED, _S.SKIPPED, _S.CONFLICT}
        ),
        _S.RUNNING: frozenset({_S.INGESTED, _S.FAILED, _S.QUEUED, _S.CONFLICT}),
        _S.INGESTED: frozenset({_S.QUEUED, _S.SKIPPED, _S.RELEASING}),
        _S.FAILED: frozenset({_S.QUEUED, _S.SKIPPED, _S.FAILED}),
        _S.SKIPPED: frozenset({_S.SEEN, _S.SETTLING, _S.QUEUED}),
        _S.CONFLICT: frozenset({_S.QUEUED, _S.SKIPPED}),
        _S.RELEASING: frozenset({_S.RELEASED, _S.INGESTED}),
        _S.RELEASED: frozenset(),  # only ``rodrunnerd retry`` (an operator) moves it on
    }
)
"""Allowed ``from -> {to}``; anything else raises
:class:`~rodrunner.errors.IllegalTransitionError`."""

IN_FLIGHT: frozenset[RunState] = frozenset({_S.QUEUED, _S.SUBMITTED, _S.RUNNING})
"""States in which the daemon owns the run: a new observation changes nothing."""

RETRYABLE_BY_OPERATOR: frozenset[RunState] = frozenset(
    {_S.FAILED, _S.INGESTED, _S.SKIPPED, _S.CONFLICT, _S.RELEASED}
)
"""States ``rodrunnerd retry`` moves back to ``queued``."""


def is_allowed(from_state: RunState, to_state: RunState) -> bool:
    """Whether the table allows ``from_state -> to_state``."""
    return to_state in ALLOWED_TRANSITIONS[from_state]


class Action(StrEnum):
    """What readiness says the daemon should do with a run unit now."""

    NOTHING = "nothing"
    WAIT = "wait"
    SETTLE = "settle"
    SUBMIT = "submit"
    SKIP = "skip"
    PROBLEM = "problem"


STATE_OF_ACTION: Mapping[Action, RunState] = MappingProxyType(
    {
        Action.WAIT: _S.SEEN,
        Action.SETTLE: _S.SETTLING,
        Action.SUBMIT: _S.QUEUED,
        Action.SKIP: _S.SKIPPED,
    }
)
"""The state each action moves a run to; an action not here leaves the state alone."""


def state_after(action: Action, current: RunState) -> RunState | None:
    """The state ``action`` moves a run in ``current`` to, or ``None`` to leave it alone
    (no state for the action, or the same state without a self-transition in the table)."""
    target = STATE_OF_ACTION.get(action)
    if target is None or (target is current and not is_allowed(current, target)):
        return None
    return target

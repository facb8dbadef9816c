"""Run states of the ledger and the one table of allowed transitions.

::

    seen ──> settling ──> queued ──> submitted ──> running ──> ingested
      │         │           ▲  │          │           │           │
      │         │           │  └─> failed <┴───────────┘           │
      │         │           └──────┘ (retry with backoff)          │
      └─────────┴──> skipped / incomplete        queued <──────────┘ (.rodrunner-ingest again)

A run whose collection another run folder owns (the same run id) ends ``conflict`` and waits
for an operator (``rodrunner ingest RUN --replace|--suffix``, then ``rodrunnerd retry RUN``).
A run that is submitted or running when the daemon stops goes back to ``queued`` at the next
start (the flow resumes what is already in iRODS). ``failed`` is retried until
``daemon.max_attempts``, then kept for an operator (``rodrunnerd retry RUN``).
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
    INCOMPLETE = "incomplete"
    CONFLICT = "conflict"
    """Another run folder owns the run's iRODS collection; held for an operator."""


_S = RunState

ALLOWED_TRANSITIONS: Mapping[RunState, frozenset[RunState]] = MappingProxyType(
    {
        _S.SEEN: frozenset({_S.SETTLING, _S.QUEUED, _S.SKIPPED, _S.INCOMPLETE}),
        _S.SETTLING: frozenset({_S.SETTLING, _S.SEEN, _S.QUEUED, _S.SKIPPED, _S.INCOMPLETE}),
        _S.QUEUED: frozenset({_S.SUBMITTED, _S.FAILED, _S.SKIPPED}),
        _S.SUBMITTED: frozenset(
            {_S.RUNNING, _S.INGESTED, _S.FAILED, _S.QUEUED, _S.SKIPPED, _S.CONFLICT}
        ),
        _S.RUNNING: frozenset({_S.INGESTED, _S.FAILED, _S.QUEUED, _S.CONFLICT}),
        _S.INGESTED: frozenset({_S.QUEUED, _S.SKIPPED}),
        _S.FAILED: frozenset({_S.QUEUED, _S.SKIPPED, _S.FAILED}),
        _S.SKIPPED: frozenset({_S.SEEN, _S.SETTLING, _S.QUEUED}),
        _S.INCOMPLETE: frozenset({_S.SEEN, _S.SETTLING, _S.QUEUED, _S.SKIPPED}),
        _S.CONFLICT: frozenset({_S.QUEUED, _S.SKIPPED}),
    }
)
"""Allowed ``from -> {to}``; anything else raises :class:`IllegalTransitionError`."""

IN_FLIGHT: frozenset[RunState] = frozenset({_S.QUEUED, _S.SUBMITTED, _S.RUNNING})
"""States in which the daemon owns the run: a new observation changes nothing."""

RETRYABLE_BY_OPERATOR: frozenset[RunState] = frozenset(
    {_S.FAILED, _S.INGESTED, _S.SKIPPED, _S.CONFLICT}
)
"""States ``rodrunnerd retry`` moves back to ``queued``."""


def is_allowed(from_state: RunState, to_state: RunState) -> bool:
    """Whether the table allows ``from_state -> to_state``."""
    return to_state in ALLOWED_TRANSITIONS[from_state]

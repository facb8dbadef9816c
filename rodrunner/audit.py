"""Which stored runs an audit re-verifies, and what it found (pure: values in, values out).

The "Audit Ingested Runs" flow (:mod:`rodrunner.workflows.audit`) lists the run collections
marked ``rodrunner::status=complete`` below :func:`collection_root`, picks the ones due with
:func:`select_due` (never verified first, then the oldest ``rodrunner::verified_at``), checks
each with :func:`rodrunner.stored_run.verify_run` and returns an :class:`AuditSummary`: the
typed figures a metrics exporter can publish (runs checked, runs failing, problems).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rodrunner.verification import Problem

__all__ = [
    "AuditRun",
    "AuditSummary",
    "Candidate",
    "collection_root",
    "problem_lines",
    "select_due",
]


def collection_root(template: str, *, zone: str, user: str) -> str:
    """The fixed part of ``irods.collection_template`` above every run collection.

    ``/{zone}/home/{user}/sequencer/{sequencer_type}/{run_id}`` gives
    ``/tempZone/home/rods/sequencer``: the collection up to the first per-run component.
    """
    filled = template.replace("{zone}", zone).replace("{user}", user)
    head = filled.split("{", 1)[0]
    root = head.rsplit("/", 1)[0] if "{" in filled else head
    return root.rstrip("/") or "/"


@dataclass(frozen=True)
class Candidate:
    """A complete run collection and when it last passed a deep verification."""

    collection: str
    verified_at: datetime | None = None


def select_due(
    candidates: Iterable[Candidate],
    *,
    now: datetime,
    max_age_days: float | None,
    limit: int | None,
) -> list[Candidate]:
    """The runs to audit: those never verified or verified longer than ``max_age_days`` ago
    (every run when it is None), never-verified first, then oldest first; at most ``limit``."""
    due = [
        c
        for c in candidates
        if max_age_days is None
        or c.verified_at is None
        or now - c.verified_at >= timedelta(days=max_age_days)
    ]
    due.sort(key=lambda c: (c.verified_at is not None, c.verified_at or now, c.collection))
    return due if limit is None else due[:limit]


@dataclass(frozen=True)
class AuditRun:
    """The outcome for one run collection."""

    collection: str
    ok: bool
    problems: tuple[str, ...] = ()  # one line per problem: "kind path: message"
    kinds: tuple[str, ...] = ()  # the problems' kinds (see rodrunner.verification), sorted
    verified_at: str | None = None  # the stamp recorded on a pass (deep audits only)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able data."""
        return {
            "collection": self.collection,
            "ok": self.ok,
            "problems": list(self.problems),
            "kinds": list(self.kinds),
            "verified_at": self.verified_at,
        }


@dataclass(frozen=True)
class AuditSummary:
    """What one audit did: a metrics exporter reads ``checked``, ``failing``, ``problems``."""

    root: str
    deep: bool
    complete: int  # run collections marked complete below the root
    runs: tuple[AuditRun, ...] = field(default_factory=tuple)

    @property
    def checked(self) -> int:
        """Runs audited."""
        return len(self.runs)

    @property
    def failing(self) -> int:
        """Runs that failed the audit."""
        return sum(1 for r in self.runs if not r.ok)

    @property
    def problems(self) -> int:
        """Problems found, over every run."""
        return sum(len(r.problems) for r in self.runs)

    @property
    def ok(self) -> bool:
        """Whether every audited run is whole."""
        return self.failing == 0

    def by_kind(self) -> Mapping[str, int]:
        """Problems per kind, over every run."""
        counts: dict[str, int] = {}
        for run in self.runs:
            for kind in run.kinds:
                counts[kind] = counts.get(kind, 0) + 1
        return dict(sorted(counts.items()))

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (the flow run's result)."""
        return {
            "root": self.root,
            "deep": self.deep,
            "complete": self.complete,
            "checked": self.checked,
            "failing": self.failing,
            "problems": self.problems,
            "ok": self.ok,
            "runs": [r.as_dict() for r in self.runs],
        }


def problem_lines(problems: Sequence[Problem]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(one line per problem, the sorted kinds) of a run's problems."""
    lines = tuple(f"{p.kind} {p.path or '(run)'}: {p.message}" for p in problems)
    return lines, tuple(sorted(p.kind for p in problems))

"""What a submitter gives back: :class:`Outcome` s of :class:`~rodrunner.run.IngestRequest` s,
the :class:`Submitter` interface the daemon drives, and how a final state becomes an outcome.

Pure but for :class:`OutcomeQueue` (a thread-safe queue with a wake-up event).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from rodrunner.flowruns.prefect import describe
from rodrunner.run import IngestRequest, IngestSummary

__all__ = [
    "Outcome",
    "OutcomeKind",
    "OutcomeQueue",
    "Submitter",
    "outcome_of_final_state",
    "outcome_of_run",
]

OutcomeKind = Literal["running", "ingested", "failed", "conflict"]
"""``conflict``: the flow found the run's collection owned by another run folder and changed
nothing (its state is named ``Conflict``, its summary's status is ``conflict``)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a request: it started running, or it ended (ingested, failed, held).

    ``summary`` is the flow's :class:`IngestSummary` where it could be read (an embedded run;
    a followed deployment run only says its state).
    """

    job: IngestRequest
    kind: OutcomeKind
    flow_run_id: str | None = None
    error: str | None = None
    summary: IngestSummary | None = None


class Submitter(Protocol):
    """What the daemon loop needs from a submitter."""

    def start(self) -> None:
        """Start worker threads."""

    def submit(self, job: IngestRequest) -> bool:
        """Hand ``job`` over; False when it cannot be taken now (full, or Prefect down)."""

    def free_slots(self) -> int:
        """How many more jobs :meth:`submit` takes now."""

    def active(self) -> frozenset[str]:
        """Run folders submitted and not ended yet."""

    def outcomes(self) -> list[Outcome]:
        """Outcomes since the last call, in order."""

    def wait(self, timeout: float) -> bool:
        """Block until an outcome is ready or ``timeout`` passes."""

    def stop(self, grace: float) -> frozenset[str]:
        """Take no more jobs, wait up to ``grace`` seconds; the run folders still active."""


class OutcomeQueue:
    """The outcome queue of a submitter: put from worker threads, drained by the daemon."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        self._ready = threading.Event()

    def put(self, outcome: Outcome) -> None:
        """Add ``outcome`` and wake a waiter."""
        self._queue.put(outcome)
        self._ready.set()

    def drain(self) -> list[Outcome]:
        """Every outcome put since the last drain, in order."""
        self._ready.clear()
        out = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out

    def wait(self, timeout: float) -> bool:
        """Block until an outcome is put or ``timeout`` passes."""
        return self._ready.wait(timeout)


def state_flow_run_id(state: Any) -> str | None:
    """The flow run id a Prefect state belongs to, if it says."""
    details = getattr(state, "state_details", None)
    flow_run_id = getattr(details, "flow_run_id", None)
    return str(flow_run_id) if flow_run_id is not None else None


def outcome_of_run(job: IngestRequest, state: Any) -> Outcome:
    """The outcome of a flow run that ran here and ended in ``state``, its summary read back.

    A failed ingest ends Failed with its summary as data: read it, do not raise (raising
    would make the reason a repr of the whole dict).
    """
    flow_run_id = state_flow_run_id(state)
    try:
        data = state.result(raise_on_failure=False)
    except Exception as exc:  # no result to read: the exception is the reason
        return Outcome(job, "failed", flow_run_id=flow_run_id, error=describe(exc))
    summary = IngestSummary.from_result(data, job.run_dir) if isinstance(data, Mapping) else None
    completed = bool(getattr(state, "is_completed", lambda: True)())
    if completed and (summary is None or (summary.success and summary.status != "failed")):
        return Outcome(job, "ingested", flow_run_id=flow_run_id, summary=summary)
    reason = (summary.error if summary is not None else None) or (
        describe(data) if isinstance(data, BaseException) else getattr(state, "message", None)
    )
    error = str(reason or "ingest failed without a reason")
    kind: OutcomeKind = (
        "conflict" if summary is not None and summary.status == "conflict" else "failed"
    )
    return Outcome(job, kind, flow_run_id=flow_run_id, error=error, summary=summary)


def outcome_of_final_state(job: IngestRequest, flow_run_id: str, state: Any) -> Outcome:
    """The outcome of a followed flow run whose state is final (its result stays remote)."""
    if state.is_completed():
        return Outcome(job, "ingested", flow_run_id=flow_run_id)
    if state.name == "Conflict":
        reason = state.message or "another run folder owns the run's collection"
        return Outcome(job, "conflict", flow_run_id=flow_run_id, error=reason)
    reason = state.message or f"flow run ended {state.name}"
    return Outcome(job, "failed", flow_run_id=flow_run_id, error=reason)

"""Embedded submission (``daemon.submit: embedded``, the default): the "Ingest Run" flow runs
inside this process on a bounded pool of threads, at most ``max_concurrent`` at once; Prefect
records each flow run on the configured API (ephemeral when none is configured)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import structlog

from rodrunner.flowruns.outcomes import Outcome, OutcomeQueue, outcome_of_run
from rodrunner.flowruns.prefect import describe, warm_up
from rodrunner.run import IngestRequest

__all__ = ["EmbeddedSubmitter", "FlowCallable", "load_ingest_flow"]

log = structlog.get_logger()

FlowCallable = Callable[..., Any]


def load_ingest_flow() -> FlowCallable:
    """The "Ingest Run" flow (imported when first needed: Prefect is heavy)."""
    from rodrunner.workflows.ingest import ingest_run

    flow: FlowCallable = ingest_run
    return flow


class EmbeddedSubmitter:
    """Runs the ingest flow inside this process, at most ``max_concurrent`` at once."""

    def __init__(self, *, max_concurrent: int, flow: FlowCallable | None = None) -> None:
        self._max = max_concurrent
        self._flow = flow
        self._jobs: queue.Queue[IngestRequest | None] = queue.Queue()
        self._active: dict[str, IngestRequest] = {}
        self._lock = threading.Lock()
        self._outcomes = OutcomeQueue()
        self._threads: list[threading.Thread] = []
        self._accepting = False
        self._idle = threading.Condition(self._lock)

    def start(self) -> None:
        """Start the worker threads (daemon threads: a stop after the grace leaves them)."""
        if self._flow is None:
            self._flow = load_ingest_flow()
        warm_up()
        self._accepting = True
        for i in range(self._max):
            thread = threading.Thread(target=self._work, name=f"ingest-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def submit(self, job: IngestRequest) -> bool:
        """Queue ``job`` for a worker; False when every worker is busy or stopping."""
        with self._lock:
            if not self._accepting or len(self._active) >= self._max:
                return False
            if job.run_dir in self._active:
                return False
            self._active[job.run_dir] = job
        self._jobs.put(job)
        return True

    def free_slots(self) -> int:
        """Idle workers."""
        with self._lock:
            return 0 if not self._accepting else self._max - len(self._active)

    def active(self) -> frozenset[str]:
        """Run folders being ingested."""
        with self._lock:
            return frozenset(self._active)

    def outcomes(self) -> list[Outcome]:
        """Outcomes since the last call."""
        return self._outcomes.drain()

    def wait(self, timeout: float) -> bool:
        """Block until an outcome is ready or ``timeout`` passes."""
        return self._outcomes.wait(timeout)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                self._outcomes.put(Outcome(job, "running"))
                self._outcomes.put(self._run(job))
            finally:
                with self._lock:
                    self._active.pop(job.run_dir, None)
                    self._idle.notify_all()

    def _run(self, job: IngestRequest) -> Outcome:
        assert self._flow is not None
        try:
            state = self._flow(**job.parameters(), return_state=True)
        except Exception as exc:  # the flow machinery itself failed: the run is failed
            log.warning("submit.flow_crashed", run_dir=job.run_dir, error=describe(exc))
            return Outcome(job, "failed", error=describe(exc))
        return outcome_of_run(job, state)

    def stop(self, grace: float) -> frozenset[str]:
        """Take no more jobs; wait up to ``grace`` seconds for running ingests."""
        deadline = time.monotonic() + grace
        with self._lock:
            self._accepting = False
            while self._active:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._idle.wait(min(left, 1.0))
            remaining = frozenset(self._active)
        for _ in self._threads:
            self._jobs.put(None)
        return remaining

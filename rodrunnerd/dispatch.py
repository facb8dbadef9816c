"""Dispatch: ledger -> submitter -> outcomes.

Every step applies what the submitter reports (a flow run started, ended ingested, in
conflict or failed), sends failed runs whose backoff has passed back to ``queued``
(:func:`rodrunner.ledger.records.retry_at`, the one backoff policy) and hands ``queued`` runs
to the submitter while it has free slots. The ledger moves first: a run it will not move to
``submitted`` is never handed over.

At start, runs that were ``submitted`` or ``running`` when the daemon last stopped go back to
``queued`` (the flow resumes what is already in iRODS); embedded submission gets the local
Prefect server unless one is configured. At stop, running ingests get ``shutdown_grace``
seconds; what is left resumes at the next start.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import structlog

from rodrunner.errors import LedgerError, RodrunnerError
from rodrunner.flowruns.deployment import DeploymentSubmitter
from rodrunner.flowruns.embedded import EmbeddedSubmitter, FlowCallable
from rodrunner.flowruns.outcomes import Outcome, Submitter
from rodrunner.ledger.records import retry_at
from rodrunner.ledger.states import RunState
from rodrunner.names import shown
from rodrunner.parsers import run_id_of
from rodrunner.run import IngestRequest
from rodrunnerd.context import StageContext, runlog

__all__ = ["Dispatch"]

log = structlog.get_logger()

RETRY_BASE_SECONDS = 30.0
"""The first backoff of a failed run (at most ``daemon.rescan_interval``)."""


class Dispatch:
    """Submission and outcomes of queued runs (see the module docstring)."""

    def __init__(self, ctx: StageContext, *, flow: FlowCallable | None = None) -> None:
        self.ctx = ctx
        self._flow = flow
        self.submitter: Submitter | None = None
        self.prefect_dir: Path | None = None  # the local Prefect server's, when used

    # -- start and stop ----------------------------------------------------------------------

    @property
    def config_path(self) -> str | None:
        """The configuration FILE PATH flows receive (never its secrets). Each ingest reads the
        file again on purpose: an operator who fixes a rotated password there sees the next
        attempt (`rodrunnerd retry`) use it, without reloading the daemon."""
        source = self.ctx.config.source
        return str(Path(source).resolve()) if source is not None else None

    def _make_submitter(self) -> Submitter:
        daemon = self.ctx.config.daemon
        if daemon.submit == "deployment":
            return DeploymentSubmitter(deployment=daemon.deployment)
        return EmbeddedSubmitter(max_concurrent=daemon.max_concurrent_ingests, flow=self._flow)

    def _start_prefect(self) -> None:
        """Embedded flow runs are recorded on the local Prefect server unless one is set."""
        from rodrunner.localprefect import ensure_local_prefect

        if self.ctx.config.daemon.submit != "embedded":
            return
        try:
            server = ensure_local_prefect(self.ctx.config)
        except RodrunnerError as exc:  # the flows fall back to Prefect's temporary server
            log.error("prefect.local_server_failed", error=str(exc))
            return
        self.prefect_dir = server.directory if server is not None else None

    def recover(self) -> None:
        """Runs submitted or running when the daemon last stopped go back to ``queued``."""
        ledger = self.ctx.ledger
        for rec in ledger.list([RunState.SUBMITTED, RunState.RUNNING]):
            ledger.transition(rec.run_dir, RunState.QUEUED)
            runlog(rec).info("run.resumed", previous=rec.state.value)

    def start(self) -> None:
        """The local Prefect server (embedded), then the submitter."""
        self._start_prefect()
        self.submitter = self._make_submitter()
        self.submitter.start()

    def stop(self, grace: float) -> None:
        """Running ingests get ``grace`` seconds; their outcomes go into the ledger."""
        if self.submitter is None:
            return
        left = self.submitter.stop(grace)
        self._apply_outcomes()
        if left:
            log.warning("daemon.unfinished", runs=sorted(left), resume="next start")

    def close(self) -> None:
        """The local Prefect server goes with the daemon unless still in use."""
        if self.prefect_dir is not None:
            from rodrunner.localprefect import stop_server

            stop_server(self.prefect_dir, only_if_unused=True)

    # -- one step ----------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """Flow runs are active: the loop should tick fast."""
        return bool(self.submitter and self.submitter.active())

    def step(self, now: float) -> None:
        """Outcomes into the ledger, failed runs due back to queued, queued runs submitted."""
        self._apply_outcomes()
        self._retry_failed(now)
        self._submit_queued()

    def _retry_failed(self, now: float) -> None:
        ledger = self.ctx.ledger
        for rec in ledger.due_for_retry(now, self.ctx.config.daemon.max_attempts):
            with contextlib.suppress(LedgerError):
                ledger.transition(rec.run_dir, RunState.QUEUED)
                runlog(rec).info("run.retrying", attempts=rec.attempts)

    def _submit_queued(self) -> None:
        ledger = self.ctx.ledger
        assert self.submitter is not None
        if self.submitter.free_slots() <= 0:
            return
        active = self.submitter.active()
        for rec in ledger.list([RunState.QUEUED]):
            if rec.run_dir in active:
                continue
            if self.submitter.free_slots() <= 0 or self.ctx.stop_event.is_set():
                return
            try:  # the id the flow names the run by (its metadata's): the ledger keeps it too
                run_id = run_id_of(Path(rec.run_dir), rec.sequencer_type)
            except (RodrunnerError, OSError):  # the flow will say what is wrong
                run_id = rec.run_id
            job = IngestRequest(
                run_dir=rec.run_dir,
                run_id=run_id,
                sequencer_type=rec.sequencer_type,
                config=self.config_path,
                completion_key=rec.completion_key or rec.run_dir,
                force=rec.forced,
                attempt=rec.attempts,
            )
            # The ledger first: a run it will not move to submitted is never handed over. From
            # here on the ledger knows the run by the id the flow names it by.
            try:
                rec = ledger.transition(rec.run_dir, RunState.SUBMITTED, run_id=run_id)
            except LedgerError as exc:
                runlog(rec).warning("run.transition_refused", error=str(exc))
                continue
            if not self.submitter.submit(job):  # not taken now (full, Prefect down): later
                with contextlib.suppress(LedgerError):
                    ledger.transition(rec.run_dir, RunState.QUEUED)
                continue
            # The flow run of this attempt has no id yet (embedded: not before it ends); the
            # record's id is a former attempt's.
            runlog(rec, flow_run=False).info(
                "run.submitted",
                submit=self.ctx.config.daemon.submit,
                attempt=rec.attempts + 1,
                forced=job.force,
            )
            self.ctx.metric("submitted", rec.sequencer_type)

    def _apply_outcomes(self) -> None:
        if self.submitter is None:
            return
        for outcome in self.submitter.outcomes():
            try:
                self._apply(outcome)
            except LedgerError as exc:
                log.warning(
                    "run.transition_refused", run_dir=shown(outcome.job.run_dir), error=str(exc)
                )

    def _apply(self, outcome: Outcome) -> None:
        ledger = self.ctx.ledger
        run_dir = outcome.job.run_dir
        if outcome.kind == "running":
            rec = ledger.get(run_dir)
            if rec is not None and rec.state is RunState.SUBMITTED:
                ledger.transition(run_dir, RunState.RUNNING, flow_run_id=outcome.flow_run_id)
            return
        if outcome.kind == "ingested":
            rec = ledger.transition(run_dir, RunState.INGESTED, flow_run_id=outcome.flow_run_id)
            summary = outcome.summary
            runlog(rec).info(
                "run.ingested",
                status=summary.status if summary else None,
                irods_path=summary.irods_path if summary else None,
                files=summary.files if summary else None,
                bytes=summary.bytes if summary else None,
            )
            result = summary.as_result() if summary else {}
            self.ctx.metric("ingest_finished", rec.sequencer_type, True, result)
            return
        if outcome.kind == "conflict":  # held for an operator: no retry would change anything
            rec = ledger.transition(
                run_dir, RunState.CONFLICT, error=outcome.error, flow_run_id=outcome.flow_run_id
            )
            runlog(rec).warning("run.conflict", error=outcome.error)
            return
        rec = ledger.transition(
            run_dir, RunState.FAILED, error=outcome.error, flow_run_id=outcome.flow_run_id
        )
        daemon = self.ctx.config.daemon
        at = retry_at(
            rec,
            now=time.time(),
            base=min(RETRY_BASE_SECONDS, daemon.rescan_interval),
            max_attempts=daemon.max_attempts,
        )
        if at is not None:
            rec = ledger.transition(run_dir, RunState.FAILED, next_attempt_at=at)
        runlog(rec).error(
            "run.failed",
            error=outcome.error,
            attempts=rec.attempts,
            max_attempts=daemon.max_attempts,
            will_retry=at is not None,
            retry_at=rec.next_attempt_at,
        )
        result = outcome.summary.as_result() if outcome.summary else {}
        self.ctx.metric("ingest_finished", rec.sequencer_type, False, result)

"""The daemon's submitters against Prefect's test harness (a real temporary Prefect server)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, cast

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.states import Completed, Failed
from prefect.testing.utilities import prefect_test_harness

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

from rodrunner.flowruns.deployment import DeploymentSubmitter
from rodrunner.flowruns.embedded import EmbeddedSubmitter
from rodrunner.flowruns.outcomes import Outcome
from rodrunner.run import IngestRequest

GATE = threading.Event()
CALLS: list[dict[str, Any]] = []


@flow(name="Fake Ingest", persist_result=False)
def fake_ingest(
    run_dir: str, sequencer_type: str | None = None, config: str | None = None, force: bool = False
) -> dict[str, Any]:
    """A real Prefect flow standing in for "Ingest Run" where its work does not matter."""
    CALLS.append({"run_dir": run_dir, "config": config, "force": force})
    if run_dir.endswith("blocked"):
        GATE.wait(30)
    if run_dir.endswith("raises"):
        raise RuntimeError("iRODS said no")
    if run_dir.endswith("fails"):
        return {"run_dir": run_dir, "success": False, "status": "failed", "error": "bad checksum"}
    if run_dir.endswith("conflict"):  # what Ingest Run returns when another folder owns it
        held = {"run_dir": run_dir, "success": False, "status": "conflict", "error": "other folder"}
        return Failed(message="other folder", data=held, name="Conflict")  # type: ignore[return-value]
    return {"run_dir": run_dir, "success": True, "status": "complete", "files": 3}


@pytest.fixture(scope="module")
def harness() -> Iterator[None]:
    """A temporary Prefect server for this module."""
    with prefect_test_harness(server_startup_timeout=120):
        yield


def job(run_dir: str, attempt: int = 0, config: str | None = None) -> IngestRequest:
    """A request for ``run_dir``."""
    return IngestRequest(
        run_dir=run_dir,
        run_id=run_dir.rsplit("/", 1)[-1],
        sequencer_type="novaseq",
        completion_key=f"key-{run_dir}",
        attempt=attempt,
        config=config,
    )


def collect(
    submitter: EmbeddedSubmitter | DeploymentSubmitter,
    until: Callable[[list[Outcome]], bool],
    timeout: float = 60.0,
) -> list[Outcome]:
    """Outcomes until ``until`` holds (or ``timeout``)."""
    got: list[Outcome] = []
    deadline = time.monotonic() + timeout
    while not until(got) and time.monotonic() < deadline:
        submitter.wait(0.5)
        got.extend(submitter.outcomes())
    return got


def ended(n: int) -> Callable[[list[Outcome]], bool]:
    """True once ``n`` jobs have ended."""
    return lambda got: sum(o.kind != "running" for o in got) >= n


def test_job_parameters_carry_a_path_never_secrets() -> None:
    """Flow parameters are the run folder, type, force and the config file path only."""
    params = job("/seq/r1", config="/etc/rodrunner/config.yaml").parameters()
    assert params == {
        "run_dir": "/seq/r1",
        "sequencer_type": "novaseq",
        "config": "/etc/rodrunner/config.yaml",
        "force": False,
    }
    assert job("/seq/r1").idempotency_key != job("/seq/r1", attempt=1).idempotency_key


@pytest.mark.slow
@pytest.mark.usefixtures("harness")
def test_embedded_runs_flows_and_reports_outcomes() -> None:
    """Embedded submission runs the flow and reports ingested, failed and raised runs."""
    sub = EmbeddedSubmitter(max_concurrent=3, flow=fake_ingest)
    sub.start()
    try:
        for name in ("/seq/ok", "/seq/fails", "/seq/raises"):
            assert sub.submit(job(name, config="/cfg.yaml"))
        got = collect(sub, ended(3))
    finally:
        sub.stop(5)
    final = {o.job.run_dir: o for o in got if o.kind != "running"}
    assert final["/seq/ok"].kind == "ingested"
    summary = final["/seq/ok"].summary
    assert summary is not None
    assert summary.files == 3
    assert final["/seq/ok"].flow_run_id
    assert final["/seq/fails"].kind == "failed"
    assert final["/seq/fails"].error == "bad checksum"
    assert final["/seq/raises"].kind == "failed"
    assert "iRODS said no" in (final["/seq/raises"].error or "")
    assert {"run_dir": "/seq/ok", "config": "/cfg.yaml", "force": False} in CALLS


@pytest.mark.slow
@pytest.mark.usefixtures("harness")
def test_embedded_is_bounded_and_stop_reports_unfinished() -> None:
    """At most max_concurrent ingests run; stop() after the grace lists the unfinished."""
    GATE.clear()
    sub = EmbeddedSubmitter(max_concurrent=1, flow=fake_ingest)
    sub.start()
    assert sub.submit(job("/seq/r-blocked"))
    assert sub.free_slots() == 0
    assert not sub.submit(job("/seq/other"))
    collect(sub, lambda got: any(o.kind == "running" for o in got))
    assert sub.stop(0.2) == frozenset({"/seq/r-blocked"})
    assert not sub.submit(job("/seq/after-stop"))
    GATE.set()


def test_unreachable_prefect_defers_without_losing_the_run() -> None:
    """With Prefect down, submit() retries briefly, returns False and pauses intake."""
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        sub = DeploymentSubmitter(
            deployment="Ingest Run/rodrunner-ingest-run",
            retry_attempts=2,
            retry_max_seconds=2,
        )
        sub.start()
        try:
            assert not sub.submit(job("/seq/r1"))
            assert sub.free_slots() == 0
            assert sub.active() == frozenset()
        finally:
            sub.stop(1)


@pytest.mark.slow
@pytest.mark.usefixtures("harness")
def test_deployment_submission_is_idempotent_and_followed() -> None:
    """Two submitters with one completion key make one flow run, followed to its end."""
    # Flow.to_deployment is sync-or-async by its caller; here it is sync.
    deployment = cast("RunnerDeployment", fake_ingest.to_deployment(name="unit"))
    deployment.apply()
    name = "Fake Ingest/unit"
    first = DeploymentSubmitter(deployment=name, poll_interval=0.2)
    second = DeploymentSubmitter(deployment=name, poll_interval=0.2)
    first.start()
    second.start()
    try:
        assert first.submit(job("/seq/dep-ok"))
        assert second.submit(job("/seq/dep-ok"))
        assert first.submit(job("/seq/dep-bad"))
        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs()
            ok = [r for r in runs if r.parameters.get("run_dir") == "/seq/dep-ok"]
            bad = [r for r in runs if r.parameters.get("run_dir") == "/seq/dep-bad"]
            assert len(ok) == 1
            client.set_flow_run_state(ok[0].id, Completed(), force=True)
            client.set_flow_run_state(bad[0].id, Failed(message="runner crashed"), force=True)
        got = collect(first, ended(2))
        again = collect(second, ended(1))
    finally:
        first.stop(1)
        second.stop(1)
    final = {o.job.run_dir: o for o in got if o.kind != "running"}
    assert final["/seq/dep-ok"].kind == "ingested"
    assert final["/seq/dep-ok"].flow_run_id == str(ok[0].id)
    assert final["/seq/dep-bad"].kind == "failed"
    assert final["/seq/dep-bad"].error == "runner crashed"
    assert [o.flow_run_id for o in again if o.kind == "ingested"] == [str(ok[0].id)]


@pytest.mark.slow
@pytest.mark.usefixtures("harness")
def test_unknown_deployment_fails_permanently() -> None:
    """A deployment that does not exist ends the job as failed, naming the fix."""
    sub = DeploymentSubmitter(deployment="Nope/nothing")
    sub.start()
    try:
        assert sub.submit(job("/seq/x"))
        got = collect(sub, ended(1), timeout=10)
    finally:
        sub.stop(1)
    assert got[0].kind == "failed"
    assert "rodrunner serve" in (got[0].error or "")


@pytest.mark.slow
@pytest.mark.usefixtures("harness")
def test_a_conflict_is_its_own_outcome_in_both_modes() -> None:
    """A flow run ended Failed named Conflict is a `conflict` outcome (not `failed`, which the
    daemon would retry), embedded and followed through a deployment."""
    embedded = EmbeddedSubmitter(max_concurrent=1, flow=fake_ingest)
    embedded.start()
    try:
        assert embedded.submit(job("/seq/emb-conflict"))
        got = collect(embedded, ended(1))
    finally:
        embedded.stop(5)
    [outcome] = [o for o in got if o.kind != "running"]
    assert outcome.kind == "conflict"
    assert outcome.error == "other folder"

    deployment = cast("RunnerDeployment", fake_ingest.to_deployment(name="conflict"))
    deployment.apply()
    follower = DeploymentSubmitter(deployment="Fake Ingest/conflict", poll_interval=0.2)
    follower.start()
    try:
        assert follower.submit(job("/seq/dep-conflict"))
        with get_client(sync_client=True) as client:
            [run] = [
                r
                for r in client.read_flow_runs()
                if r.parameters.get("run_dir") == "/seq/dep-conflict"
            ]
            held = Failed(message="other folder", name="Conflict")
            client.set_flow_run_state(run.id, held, force=True)
        got = collect(follower, ended(1))
    finally:
        follower.stop(1)
    [outcome] = [o for o in got if o.kind != "running"]
    assert outcome.kind == "conflict"
    assert outcome.error == "other folder"

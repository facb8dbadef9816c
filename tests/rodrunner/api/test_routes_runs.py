"""/runs: the daemon's ledger through the API, and operator retries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from rodrunner.config import AppConfig
from rodrunner.ledger.states import RunState
from rodrunner.ledger.store import Ledger


@pytest.fixture
def ledger(api_config: AppConfig) -> Iterator[Ledger]:
    """The daemon's ledger in the API's daemon.state_dir: one failed run, one running."""
    with Ledger.open(api_config.daemon.state_dir) as led:
        for run_id, state in (("RUN_F", RunState.FAILED), ("RUN_R", RunState.RUNNING)):
            run_dir = f"/seq/novaseq/{run_id}"
            led.observe(run_dir, run_id, "novaseq")
            led.transition(run_dir, RunState.QUEUED)
            led.transition(run_dir, RunState.SUBMITTED)
            led.transition(run_dir, state, error="boom" if state is RunState.FAILED else None)
        yield led


def test_without_a_ledger_runs_are_404(client: TestClient) -> None:
    """No ledger at daemon.state_dir: 404 saying where it was looked for."""
    for response in (client.get("/runs"), client.get("/runs/X"), client.post("/runs/X/retry")):
        assert response.status_code == 404
        assert "ledger" in response.json()["detail"]


@pytest.mark.usefixtures("ledger")
def test_list_and_get_show_the_ledger(client: TestClient) -> None:
    """GET /runs pages the runs; GET /runs/{id} adds the history; unknown ids are 404."""
    page = client.get("/runs", params={"limit": 1}).json()
    assert page["total"] == 2
    assert [r["run_id"] for r in page["items"]] == ["RUN_F"]
    assert [r["run_id"] for r in client.get("/runs?state=running").json()["items"]] == ["RUN_R"]
    assert client.get("/runs?state=bogus").status_code == 422
    run = client.get("/runs/RUN_F").json()
    assert (run["state"], run["attempts"], run["last_error"]) == ("failed", 1, "boom")
    assert [h["to_state"] for h in run["history"]] == ["seen", "queued", "submitted", "failed"]
    assert client.get("/runs/NOPE").status_code == 404
    assert client.get("/health").json()["components"]["ledger"]["status"] == "ok"


def test_retry_queues_a_failed_run_and_refuses_a_running_one(
    client: TestClient, ledger: Ledger
) -> None:
    """POST retry: failed -> queued with attempts reset (202; the daemon's ledger agrees, its
    history says the operator did it, and the daemon carries on from there); running -> 409
    and the run stays running; an unknown run -> 404."""
    response = client.post("/runs/RUN_F/retry")
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["state"], body["attempts"], body["next_attempt_at"]) == ("queued", 0, None)
    record = ledger.get("RUN_F")
    assert record is not None
    assert record.state is RunState.QUEUED
    assert ledger.history("RUN_F")[-1][:2] == ("failed", "queued")
    assert ledger.history("RUN_F")[-1][3] == "operator"
    ledger.transition(record.run_dir, RunState.SUBMITTED)  # the daemon's own connection
    busy = client.post("/runs/RUN_R/retry")
    assert busy.status_code == 409
    assert "running" in busy.json()["detail"]
    running = ledger.get("RUN_R")
    assert running is not None
    assert running.state is RunState.RUNNING
    unknown = client.post("/runs/NOPE/retry")
    assert unknown.status_code == 404
    assert "NOPE" in unknown.json()["detail"]


def test_every_ledger_state_can_be_listed(client: TestClient, ledger: Ledger) -> None:
    """GET /runs?state= takes every state the ledger knows, conflict and released included."""
    ledger.observe("/seq/novaseq/RUN_C", "RUN_C", "novaseq")
    for state in (RunState.QUEUED, RunState.SUBMITTED, RunState.CONFLICT):
        ledger.transition("/seq/novaseq/RUN_C", state)
    for state in RunState:
        response = client.get("/runs", params={"state": state.value})
        assert response.status_code == 200, (state, response.text)
    conflict = client.get("/runs", params={"state": "conflict"}).json()["items"]
    assert [r["run_id"] for r in conflict] == ["RUN_C"]


def test_reads_while_the_daemon_holds_the_lock_and_never_creates_a_ledger(
    client: TestClient, api_config: AppConfig
) -> None:
    """Without a ledger the API answers 404 and leaves daemon.state_dir without one; with a
    daemon holding the state directory's lock the runs are still listed."""
    from rodrunnerd.lock import StateLock

    state_dir = api_config.daemon.state_dir
    assert client.get("/runs").status_code == 404
    assert not (state_dir / "ledger.sqlite3").exists()
    lock = StateLock.acquire(state_dir)
    try:
        with Ledger.open(state_dir) as daemon_ledger:
            daemon_ledger.observe("/seq/novaseq/RUN_L", "RUN_L", "novaseq")
            assert [r["run_id"] for r in client.get("/runs").json()["items"]] == ["RUN_L"]
    finally:
        lock.release()


def test_a_name_that_is_not_utf8_is_answered_escaped(client: TestClient, ledger: Ledger) -> None:
    """A run folder whose name is not UTF-8 is listed with its bytes escaped, not a 500."""
    run_dir = "/seq/novaseq/" + bytes([0x52, 0xE9]).decode("utf-8", "surrogateescape")
    ledger.observe(run_dir, run_dir.rsplit("/", 1)[1], "novaseq")
    response = client.get("/runs")
    assert response.status_code == 200, response.text
    names = [r["run_dir"] for r in response.json()["items"]]
    assert "/seq/novaseq/R\\xe9" in names

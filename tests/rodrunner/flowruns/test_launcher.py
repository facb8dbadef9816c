"""The API's launcher: deployment submission to a real deployment; an embedded run's result."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from uuid import UUID

from fastapi.testclient import TestClient
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL, temporary_settings
from structlog.testing import capture_logs

from rodrunner.api import create_app
from rodrunner.config import AppConfig, get_config
from rodrunner.flowruns.launcher import FlowLauncher
from rodrunner.flowruns.prefect import RETRY_ATTEMPTS
from rodrunner.run import IngestSummary
from rodrunner.sandbox import SandboxInfo
from rodrunner.workflows.ingest import ingest_sequencer_runs
from tests.rodrunner.api.conftest import TOKEN, write_api_config
from tests.rodrunner.test_run import SUMMARY, summary_flow


def test_deployment_mode_submits_to_the_named_deployment(
    tmp_path: Path, irods_sandbox_session: SandboxInfo, prefect_harness: None
) -> None:
    """Without a deployment: 503 naming `rodrunner serve`; with one: 202, a scheduled flow run
    of that deployment whose parameters carry the config path and no secret."""
    config = get_config(
        write_api_config(tmp_path, irods_sandbox_session, daemon={"submit": "deployment"})
    )
    body = {"workflow_name": "Ingest Sequencer Runs", "parameters": {"sequencer_type": "novaseq"}}
    # The session's Prefect harness is shared: `rodrunner serve` in tests/rodrunner/cli may
    # have registered this deployment already.
    with get_client(sync_client=True) as prefect, contextlib.suppress(ObjectNotFound):
        served = prefect.read_deployment_by_name(
            "Ingest Sequencer Runs/rodrunner-ingest-sequencer-runs"
        )
        prefect.delete_deployment(served.id)
    with TestClient(create_app(config)) as client:
        client.headers["Authorization"] = f"Bearer {TOKEN}"
        listed = client.get("/workflows/list").json()["workflows"]
        names = {w["name"]: w["deployment"] for w in listed}
        assert names["Ingest Sequencer Runs"] == (
            "Ingest Sequencer Runs/rodrunner-ingest-sequencer-runs"
        )
        assert names["Ingest Run"] == config.daemon.deployment

        missing = client.post("/workflows/run", json=body)
        assert missing.status_code == 503
        assert "rodrunner serve" in missing.json()["detail"]

        deployment = ingest_sequencer_runs.to_deployment(name="rodrunner-ingest-sequencer-runs")
        deployment_id = deployment.apply()
        response = client.post("/workflows/run", json=body)
        assert response.status_code == 202, response.text
        flow_run_id = response.json()["flow_run_id"]
        status = client.get(f"/workflows/status/{flow_run_id}").json()
        assert status["workflow_name"] == "Ingest Sequencer Runs"
        assert status["is_final"] is False
    with get_client(sync_client=True) as prefect:
        flow_run = prefect.read_flow_run(flow_run_id)
    assert flow_run.deployment_id == deployment_id
    assert flow_run.parameters == {
        "config": str(config.source),
        "sequencer_type": "novaseq",
        "root_dir": None,
        "completion_indicator": None,
    }


def test_an_unreachable_prefect_gives_the_apis_deployment_start_the_one_policys_retries(
    tmp_path: Path, irods_sandbox_session: SandboxInfo
) -> None:
    """With PREFECT_API_URL pointing nowhere, the API's deployment start is retried by the one
    policy (submit.retrying events, numbered, fewer than its attempts), then answers 503
    naming PREFECT_API_URL."""
    config = get_config(
        write_api_config(tmp_path, irods_sandbox_session, daemon={"submit": "deployment"})
    )
    body = {"workflow_name": "Ingest Sequencer Runs", "parameters": {"sequencer_type": "novaseq"}}
    with (
        temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}),
        TestClient(create_app(config)) as client,
        capture_logs() as logs,
    ):
        client.headers["Authorization"] = f"Bearer {TOKEN}"
        response = client.post("/workflows/run", json=body)
    assert response.status_code == 503, response.text
    assert "PREFECT_API_URL" in response.json()["detail"]
    tries = [e["attempt"] for e in logs if e["event"] == "submit.retrying"]
    assert 1 <= len(tries) <= RETRY_ATTEMPTS - 1
    assert tries == list(range(1, len(tries) + 1))


class _SummaryWorkflow:
    """A workflow whose flow returns an ingest summary as "Ingest Run" does."""

    name = "Summary Round Trip"

    def load(self) -> object:
        """The flow."""
        return summary_flow

    def deployment(self, config: AppConfig) -> str:
        """Never used: the launcher runs embedded here."""
        return f"{self.name}/unused"


def test_a_flow_runs_result_read_through_the_door_is_the_summary(prefect_harness: None) -> None:
    """An embedded flow run's status, once final, carries the summary dict it returned and
    IngestSummary reads it back unchanged; a Conflict run's too."""
    launcher = FlowLauncher(AppConfig())
    try:
        reports = {}
        for fail in (False, True):
            flow_run_id = UUID(launcher.start(_SummaryWorkflow(), {"fail": fail}))
            report = launcher.status(flow_run_id)
            deadline = time.monotonic() + 60
            while not report.is_final and time.monotonic() < deadline:
                time.sleep(0.2)
                report = launcher.status(flow_run_id)
            reports[fail] = report
    finally:
        launcher.close()
    assert reports[False].state_type == "COMPLETED"
    assert IngestSummary.from_result(reports[False].result) == SUMMARY
    assert reports[True].state_name == "Conflict"
    held = IngestSummary.from_result(reports[True].result)
    assert (held.status, held.run_id) == ("conflict", SUMMARY.run_id)

"""Running workflows through the API against the iRODS sandbox, under Prefect's harness."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi.testclient import TestClient
from prefect.client.orchestration import get_client

from rodrunner.api import create_app
from rodrunner.api.workflows import WORKFLOWS
from rodrunner.config import AppConfig, get_config
from rodrunner.sandbox import run_sandbox
from rodrunner.simulate import simulate_run
from tests.rodrunner.api.conftest import TOKEN, wait_until_final, write_api_config


def test_health_reports_each_component_without_a_token(client: TestClient) -> None:
    """/health needs no token: iRODS and Prefect ok, the ledger absent (not required), 200."""
    response = client.get("/health", headers={"Authorization": ""})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["components"]["irods"]["status"] == "ok"
    assert body["components"]["prefect"]["status"] == "ok"
    assert body["components"]["ledger"] == {
        "status": "absent",
        "required": False,
        "detail": body["components"]["ledger"]["detail"],
    }


def test_list_names_the_four_workflows_and_their_parameters(client: TestClient) -> None:
    """/workflows/list names every workflow with its parameters; config is not one of them."""
    response = client.get("/workflows/list")
    assert response.status_code == 200
    workflows = {w["name"]: w for w in response.json()["workflows"]}
    assert set(workflows) == {
        "Ingest Sequencer Runs",
        "Ingest All Sequencer Runs",
        "Update Run Metadata",
        "Ingest Run",
    }
    params = {p["name"]: p for p in workflows["Ingest Sequencer Runs"]["parameters"]}
    assert params["sequencer_type"]["required"] is True
    assert params["root_dir"]["required"] is False
    assert all("config" not in {p["name"] for p in w["parameters"]} for w in workflows.values())


def test_run_ingest_sequencer_runs_to_completed_and_find_it_by_run_id(
    client: TestClient, api_config: AppConfig
) -> None:
    """The documented curl path: start, follow to Completed, find the run through the search."""
    run_dir = simulate_run(api_config.sequencer.base_dir / "novaseq", "novaseq", files=6, size=64)
    response = client.post(
        "/workflows/run",
        json={
            "workflow_name": "Ingest Sequencer Runs",
            "parameters": {"sequencer_type": "novaseq"},
        },
    )
    assert response.status_code == 202, response.text
    flow_run_id = response.json()["flow_run_id"]
    status = wait_until_final(client, flow_run_id)
    assert status["state_type"] == "COMPLETED", status
    assert status["workflow_name"] == "Ingest Sequencer Runs"
    assert status["start_time"] is not None
    assert status["end_time"] is not None
    [summary] = status["result"]
    assert summary["run_id"] == run_dir.name
    assert summary["status"] == "complete"

    with get_client(sync_client=True) as prefect:
        flow_run = prefect.read_flow_run(flow_run_id)
    assert flow_run.parameters["config"] == str(api_config.source)
    assert flow_run.parameters["sequencer_type"] == "novaseq"

    found = client.get("/metadata/search", params={"key": "run_id", "value": run_dir.name})
    assert found.status_code == 200, found.text
    page = found.json()
    assert page["total"] == 1
    assert page["items"] == [{"path": summary["irods_path"], "kind": "collection"}]
    assert summary["irods_path"].endswith(f"/sequencer/novaseq/{run_dir.name}")


def test_run_ingest_run_then_update_metadata_by_irods_path(
    client: TestClient, api_config: AppConfig
) -> None:
    """Ingest Run of a run_dir in the root completes; so does Update Run Metadata on its result."""
    # A run id of its own: other tests ingest the default MiSeq run into the shared sandbox
    # from other folders, and a second folder with one run id is (rightly) a conflict.
    run_dir = simulate_run(
        api_config.sequencer.base_dir / "miseq",
        "miseq",
        files=4,
        size=64,
        run_id="230825_M04034_0087_000000000-APIWF",
    )
    response = client.post(
        "/workflows/run",
        json={"workflow_name": "Ingest Run", "parameters": {"run_dir": str(run_dir)}},
    )
    assert response.status_code == 202, response.text
    status = wait_until_final(client, response.json()["flow_run_id"])
    assert status["state_type"] == "COMPLETED", status
    assert status["result"]["run_id"] == run_dir.name
    collection = status["result"]["irods_path"]

    response = client.post(
        "/workflows/run",
        json={
            "workflow_name": "Update Run Metadata",
            "parameters": {"irods_path": collection + "/", "sequencer_type": "miseq"},
        },
    )
    assert response.status_code == 202, response.text
    status = wait_until_final(client, response.json()["flow_run_id"])
    assert status["state_type"] == "COMPLETED", status
    assert status["result"]["success"] is True
    assert status["result"]["irods_path"] == collection


def test_a_failed_flow_run_reports_failed_with_its_summary(
    client: TestClient, api_config: AppConfig
) -> None:
    """A run folder that is not a run ends Failed; the status carries the flow's own error."""
    folder = api_config.sequencer.base_dir / "novaseq" / "not_a_run"
    folder.mkdir(parents=True)
    (folder / "readme.txt").write_text("hello", encoding="utf-8")
    response = client.post(
        "/workflows/run",
        json={"workflow_name": "Ingest Run", "parameters": {"run_dir": str(folder)}},
    )
    assert response.status_code == 202, response.text
    status = wait_until_final(client, response.json()["flow_run_id"])
    assert status["state_type"] == "FAILED"
    assert status["result"]["success"] is False
    assert status["result"]["error"]


def test_no_secret_in_any_answer(tmp_path: Path, prefect_harness: None) -> None:
    """Neither the iRODS password nor the token appears in health, lists, errors or the schema."""
    password = "pw-Zq8x-not-to-be-seen"
    with run_sandbox(tmp_path / "sandbox", password=password) as info:
        config = get_config(write_api_config(tmp_path, info))
        with TestClient(create_app(config)) as client:
            client.headers["Authorization"] = f"Bearer {TOKEN}"
            answers = [
                client.get("/health"),
                client.get("/workflows/list"),
                client.get("/openapi.json"),
                client.post("/workflows/run", json={"workflow_name": "x", "parameters": {}}),
                client.post(
                    "/workflows/run",
                    json={"workflow_name": "Ingest Run", "parameters": {"run_dir": "/etc"}},
                ),
                client.get("/runs"),
                client.get("/workflows/list", headers={"Authorization": "Bearer wrong"}),
            ]
    assert answers[0].json()["components"]["irods"]["status"] == "ok"
    for answer in answers:
        assert password not in answer.text, answer.text
        assert TOKEN not in answer.text, answer.text
    assert os.fspath(config.sequencer.base_dir) in answers[4].text


def test_unknown_flow_run_is_404_and_a_bad_id_422(client: TestClient) -> None:
    """A well-formed id Prefect does not know is 404; something not a UUID is 422."""
    missing = client.get("/workflows/status/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert "no flow run" in missing.json()["detail"]
    assert client.get("/workflows/status/not-a-uuid").status_code == 422


def test_flow_runs_see_resolved_paths(client: TestClient, api_config: AppConfig) -> None:
    """A root_dir given through a symlink inside the roots reaches the flow resolved."""
    real = api_config.sequencer.base_dir / "novaseq"
    real.mkdir(parents=True, exist_ok=True)
    link = api_config.sequencer.base_dir / "alias"
    link.symlink_to(real)
    response = client.post(
        "/workflows/run",
        json={
            "workflow_name": "Ingest Sequencer Runs",
            "parameters": {"sequencer_type": "novaseq", "root_dir": str(link)},
        },
    )
    assert response.status_code == 202, response.text
    flow_run_id = response.json()["flow_run_id"]
    with get_client(sync_client=True) as prefect:
        flow_run = prefect.read_flow_run(flow_run_id)
    assert flow_run.parameters["root_dir"] == str(Path(os.path.realpath(real)))
    assert wait_until_final(client, flow_run_id)["state_type"] == "COMPLETED"


def test_every_workflow_loads_the_flow_of_its_name() -> None:
    """Each workflow the API offers loads the Prefect flow that carries its name."""
    for name, workflow in WORKFLOWS.items():
        assert workflow.load().name == name

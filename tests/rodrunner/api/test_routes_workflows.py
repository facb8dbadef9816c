"""POST /workflows/run refuses what it must: unknown workflows, bad parameters, escaping paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rodrunner.config import AppConfig


def run(client: TestClient, name: str, **parameters: Any) -> Any:
    """POST /workflows/run."""
    return client.post("/workflows/run", json={"workflow_name": name, "parameters": parameters})


def test_unknown_workflow_is_404_naming_the_known_ones(client: TestClient) -> None:
    """An unknown name is 404 and the message lists the workflows."""
    response = run(client, "Delete Everything")
    assert response.status_code == 404
    assert "Ingest Sequencer Runs" in response.json()["detail"]


@pytest.mark.parametrize(
    ("name", "parameters", "field", "words"),
    [
        ("Ingest Sequencer Runs", {}, "sequencer_type", "required"),
        ("Ingest Sequencer Runs", {"sequencer_type": "toaster"}, "sequencer_type", "novaseq"),
        ("Ingest Run", {"run_dir": "/x", "force": "maybe"}, "force", "boolean"),
        ("Ingest Run", {"run_dir": "/x", "colour": "red"}, "colour", "unknown parameter"),
        ("Ingest Run", {"run_dir": "/x", "config": "/etc/x.yaml"}, "config", "set by the server"),
        ("Update Run Metadata", {"irods_path": "/tempZone/x"}, "sequencer_type", "required"),
        ("Ingest Run", {"run_dir": ""}, "run_dir", "at least 1"),
        (
            "Ingest All Sequencer Runs",
            {"completion_indicator": "a\x00"},
            "completion_indicator",
            "plain file name",
        ),
    ],
)
def test_bad_parameters_are_422_naming_the_field(
    client: TestClient, name: str, parameters: dict[str, Any], field: str, words: str
) -> None:
    """Missing, unknown, wrongly typed or server-owned parameters: 422 located at the field."""
    response = run(client, name, **parameters)
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "parameters", field]
    assert words in error["msg"]


def test_a_malformed_body_is_422(client: TestClient) -> None:
    """No workflow_name, or parameters that are not an object: 422."""
    assert client.post("/workflows/run", json={"parameters": {}}).status_code == 422
    response = client.post("/workflows/run", json={"workflow_name": "Ingest Run", "parameters": 3})
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("name", "parameters"),
    [
        ("Ingest Run", {"run_dir": "/etc"}),
        ("Ingest Run", {"run_dir": "{base}/novaseq/../../../etc"}),
        ("Ingest Run", {"run_dir": "novaseq/RUN"}),
        ("Ingest Sequencer Runs", {"sequencer_type": "novaseq", "root_dir": "/"}),
        ("Ingest All Sequencer Runs", {"root_dir": "{base}/.."}),
        ("Update Run Metadata", {"irods_path": "/otherZone/home/x", "sequencer_type": "miseq"}),
        ("Update Run Metadata", {"irods_path": "/tempZone/../x", "sequencer_type": "miseq"}),
    ],
)
def test_paths_out_of_bounds_are_400_with_a_clear_message(
    client: TestClient, api_config: AppConfig, name: str, parameters: dict[str, str]
) -> None:
    """Paths outside the roots / the zone (or climbing with '..') are 400 naming the parameter."""
    base = str(api_config.sequencer.base_dir)
    parameters = {k: v.format(base=base) for k, v in parameters.items()}
    response = run(client, name, **parameters)
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    [key] = [
        k for k in parameters if k in ("run_dir", "root_dir", "irods_path", "completion_indicator")
    ]
    assert detail.startswith(key)


def test_a_symlink_escaping_the_root_is_400(
    client: TestClient, api_config: AppConfig, tmp_path: Path
) -> None:
    """A run_dir that is a link inside the root to a folder outside it is refused."""
    outside = tmp_path / "elsewhere" / "RUN"
    outside.mkdir(parents=True)
    link = api_config.sequencer.base_dir / "novaseq" / "RUN"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside)
    response = run(client, "Ingest Run", run_dir=str(link))
    assert response.status_code == 400
    assert "resolves to" in response.json()["detail"]

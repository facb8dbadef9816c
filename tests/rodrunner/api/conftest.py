"""Fixtures for the API tests: a configuration on the shared iRODS sandbox, an app, a client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from rodrunner.api import create_app
from rodrunner.config import AppConfig, get_config
from rodrunner.sandbox import SandboxInfo

TOKEN = "test-token-0123456789abcdef"


def write_api_config(tmp_path: Path, info: SandboxInfo | None, **sections: Any) -> Path:
    """A configuration file: the sandbox ``info``, roots and state under ``tmp_path``."""
    irods: dict[str, Any] = {"host": "127.0.0.1", "port": 1, "password": "nope"}
    if info is not None:
        irods = {
            "host": info.host,
            "port": info.port,
            "zone": info.zone,
            "user": info.user,
            "password": info.password.get_secret_value(),
            "connection_timeout": 10,
        }
    data: dict[str, Any] = {
        "irods": irods,
        "sequencer": {"base_dir": str(tmp_path / "seq")},
        "daemon": {"state_dir": str(tmp_path / "state")},
        "api": {"token": TOKEN},
    }
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    (tmp_path / "seq").mkdir(exist_ok=True)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def api_config(
    tmp_path: Path, irods_sandbox_session: SandboxInfo, prefect_harness: None
) -> AppConfig:
    """The configuration of this test's API (shared sandbox, own roots, token set)."""
    return get_config(write_api_config(tmp_path, irods_sandbox_session))


@pytest.fixture
def client(api_config: AppConfig) -> Iterator[TestClient]:
    """A client of the running app (lifespan entered), sending the right token."""
    with TestClient(create_app(api_config)) as test_client:
        test_client.headers["Authorization"] = f"Bearer {TOKEN}"
        yield test_client


def wait_until_final(client: TestClient, flow_run_id: str, timeout: float = 240) -> dict[str, Any]:
    """Poll /workflows/status until the flow run is final (or fail after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/workflows/status/{flow_run_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["is_final"]:
            return body
        if time.monotonic() > deadline:
            pytest.fail(f"flow run {flow_run_id} not final after {timeout} s: {body}")
        time.sleep(0.25)

"""A request's way through the embedded submitter: what Prefect stores of it (a real
temporary Prefect server)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client

from rodrunner.config import AppConfig
from rodrunner.flowruns.embedded import EmbeddedSubmitter
from rodrunner.flowruns.outcomes import Outcome
from rodrunner.run import IngestRequest


@pytest.mark.usefixtures("prefect_harness")
def test_the_parameters_prefect_stores_for_a_request_hold_no_secret(tmp_path: Path) -> None:
    """An embedded request carrying the AppConfig itself: Prefect stores it masked."""
    config = AppConfig.model_validate(
        {"irods": {"password": "IrodsPassNeverStored"}, "api": {"token": "T0kenNeverStored"}}
    )
    missing = tmp_path / "no-such-run"
    submitter = EmbeddedSubmitter(max_concurrent=1)
    submitter.start()
    try:
        assert submitter.submit(IngestRequest(run_dir=str(missing), config=config))
        got: list[Outcome] = []
        deadline = time.monotonic() + 120
        while not any(o.kind != "running" for o in got) and time.monotonic() < deadline:
            submitter.wait(0.5)
            got.extend(submitter.outcomes())
    finally:
        submitter.stop(5)
    [ended] = [o for o in got if o.kind != "running"]
    assert ended.kind == "failed"
    assert ended.summary is not None
    assert "does not exist" in (ended.summary.error or "")
    with get_client(sync_client=True) as client:
        stored = client.read_flow_run(ended.flow_run_id).parameters  # type: ignore[arg-type]
    text = json.dumps(stored)
    assert str(missing) in text
    assert "**********" in text
    assert "IrodsPassNeverStored" not in text
    assert "T0kenNeverStored" not in text

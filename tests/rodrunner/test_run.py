"""The typed contracts of one ingest: IngestRequest and IngestSummary."""

from __future__ import annotations

from typing import Any

import pytest
from prefect import flow
from prefect.states import Failed
from pydantic import ValidationError

from rodrunner.config import AppConfig
from rodrunner.errors import ConfigError
from rodrunner.run import ENTRY_KEYS, SUMMARY_KEYS, IngestRequest, IngestSummary

SUMMARY = IngestSummary(
    run_dir="/seq/novaseq/250101_A00001_0001_AHXXXXXXXX",
    run_id="250101_A00001_0001_AHXXXXXXXX",
    sequencer_type="novaseq",
    irods_path="/tempZone/home/rods/sequencer/novaseq/250101_A00001_0001_AHXXXXXXXX",
    success=True,
    status="complete",
    files=3,
    bytes=1024,
    skipped_files=0,
    uploaded_files=3,
    uploaded_bytes=1024,
    verified=3,
    seconds=0.5,
    flow_run_id="f",
)


@flow(name="Summary Round Trip", persist_result=False)
def summary_flow(fail: bool) -> Any:
    """Returns the summary as "Ingest Run" does: a dict, or a Failed state carrying it."""
    if fail:
        failed = SUMMARY.model_copy(update={"success": False, "status": "conflict", "error": "x"})
        return Failed(message="x", data=failed.as_result(), name="Conflict")
    return SUMMARY.as_result()


def test_the_result_dict_has_the_documented_keys_and_reads_back() -> None:
    """as_result() has every summary key (error_type only when set) and from_result reads it."""
    result = SUMMARY.as_result()
    assert tuple(result) == SUMMARY_KEYS
    assert IngestSummary.from_result(result) == SUMMARY
    assert tuple(SUMMARY.as_entry()) == ENTRY_KEYS
    failed = IngestSummary.failed("/seq/x", "no RunInfo.xml").model_copy(
        update={"error_type": "MetadataError"}
    )
    assert failed.as_result()["error_type"] == "MetadataError"
    assert failed.as_entry() == {
        **dict.fromkeys(ENTRY_KEYS),
        "run_dir": "/seq/x",
        "success": False,
        "status": "failed",
        "error": "no RunInfo.xml",
    }


def test_from_result_ignores_unknown_keys_and_refuses_bad_values() -> None:
    """Keys a newer flow adds are dropped; a status outside the four is a ValidationError."""
    assert IngestSummary.from_result({"status": "complete", "new": 1}, "/r").run_dir == "/r"
    with pytest.raises(ValidationError):
        IngestSummary.from_result({"status": "done"})


@pytest.mark.usefixtures("prefect_harness")
def test_the_summary_round_trips_through_a_real_flow_runs_state() -> None:
    """A Completed and a Failed (Conflict) flow run give back the summary they returned."""
    done = summary_flow(False, return_state=True)
    assert IngestSummary.from_state(done) == SUMMARY
    held = IngestSummary.from_state(summary_flow(True, return_state=True))
    assert (held.status, held.success, held.error) == ("conflict", False, "x")
    assert held.run_id == SUMMARY.run_id


def test_a_request_gives_the_flow_parameters_and_the_idempotency_key() -> None:
    """Parameters are run_dir, sequencer_type, config and force; the key names the completion
    and the attempt (the run folder when there is no completion key)."""
    request = IngestRequest(run_dir="/seq/r1", sequencer_type="novaseq", config="/etc/c.yaml")
    assert request.parameters() == {
        "run_dir": "/seq/r1",
        "sequencer_type": "novaseq",
        "config": "/etc/c.yaml",
        "force": False,
    }
    assert request.idempotency_key == "rodrunner-/seq/r1-0"
    again = request.model_copy(update={"completion_key": "k", "attempt": 2})
    assert again.idempotency_key == "rodrunner-k-2"
    with pytest.raises(ValidationError, match="unknown sequencer type"):
        IngestRequest(run_dir="/seq/r1", sequencer_type="novaseq7")


def test_a_deployment_run_is_never_given_the_configuration_object() -> None:
    """The object (with its secrets) may only go to a flow run in this process."""
    request = IngestRequest(run_dir="/seq/r1", config=AppConfig())
    assert isinstance(request.parameters()["config"], AppConfig)
    with pytest.raises(ConfigError, match="FILE PATH"):
        request.parameters(deployment=True)

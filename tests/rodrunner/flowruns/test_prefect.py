"""The door's Prefect calls: one error translation, one retry policy (real Prefect server)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
from prefect.settings import PREFECT_API_URL, temporary_settings
from structlog.testing import capture_logs

from rodrunner.errors import (
    NotInPrefectError,
    PrefectRefusedError,
    PrefectUnavailableError,
    UnknownWorkflowError,
)
from rodrunner.flowruns.prefect import (
    prefect_problem,
    read_flow_run,
    retrying,
    start_deployment,
    translate,
    warm_up,
)


def _http_error(status: int) -> PrefectHTTPStatusError:
    request = httpx.Request("POST", "http://prefect.invalid/api/deployments/x/create_flow_run")
    response = httpx.Response(status, request=request, text="no")
    return PrefectHTTPStatusError(f"{status}", request=request, response=response)


def test_errors_are_translated() -> None:
    """Connection errors and overloaded answers are transient; refusals and anything unknown are
    permanent; ObjectNotFound is NotInPrefectError naming the kind and the fix."""
    assert isinstance(
        translate(ConnectionError("x"), "flow run", "1", "fix"), PrefectUnavailableError
    )
    assert isinstance(translate(_http_error(503), "flow run", "1", "fix"), PrefectUnavailableError)
    assert isinstance(translate(_http_error(429), "flow run", "1", "fix"), PrefectUnavailableError)
    assert isinstance(translate(_http_error(422), "flow run", "1", "fix"), PrefectRefusedError)
    assert isinstance(translate(ValueError("x"), "flow run", "1", "fix"), PrefectRefusedError)
    missing = translate(ObjectNotFound(ValueError("gone")), "deployment", "A/b", "serve it")
    assert isinstance(missing, NotInPrefectError)
    assert missing.missing == "deployment"
    assert str(missing) == "Prefect has no deployment 'A/b'; serve it"


@pytest.mark.usefixtures("prefect_harness")
def test_object_not_found_is_one_error_for_deployments_and_flow_runs() -> None:
    """A deployment and a flow run Prefect does not have both raise NotInPrefectError (an
    UnknownWorkflowError), the deployment's naming `rodrunner serve`."""
    with pytest.raises(NotInPrefectError) as deployment:
        start_deployment("Nope/nothing", {}, tags=["rodrunner"])
    assert deployment.value.missing == "deployment"
    assert "rodrunner serve" in str(deployment.value)
    flow_run_id = uuid.uuid4()
    with get_client(sync_client=True) as client, pytest.raises(NotInPrefectError) as flow_run:
        read_flow_run(client, flow_run_id)
    assert flow_run.value.missing == "flow run"
    assert isinstance(flow_run.value, UnknownWorkflowError)
    assert str(flow_run_id) in str(flow_run.value)


def test_an_unreachable_prefect_is_retried_then_unavailable() -> None:
    """With PREFECT_API_URL pointing nowhere, a submission is tried `attempts` times, one
    submit.retrying event between tries, then PrefectUnavailableError names the fix."""
    calls: list[str] = []

    def submit() -> str:
        calls.append("x")
        return start_deployment("Ingest Run/rodrunner-ingest-run", {}, tags=["rodrunner"])

    with (
        temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}),
        capture_logs() as logs,
        pytest.raises(PrefectUnavailableError, match="PREFECT_API_URL"),
    ):
        retrying(attempts=3, max_seconds=30)(submit)
    assert len(calls) == 3
    assert [e["attempt"] for e in logs if e["event"] == "submit.retrying"] == [1, 2]
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        assert prefect_problem() is not None


def test_a_refusal_is_not_retried() -> None:
    """A permanent error is raised at the first call, without a retry event."""
    calls: list[str] = []

    def refused() -> None:
        calls.append("x")
        raise PrefectRefusedError("Prefect refused deployment 'x' (422)")

    with capture_logs() as logs, pytest.raises(PrefectRefusedError):
        retrying(attempts=4, max_seconds=30)(refused)
    assert calls == ["x"]
    assert not [e for e in logs if e["event"] == "submit.retrying"]


def test_warm_up_against_an_unreachable_prefect_retries_by_the_one_policy() -> None:
    """warm_up with PREFECT_API_URL pointing nowhere is tried as the one policy says (a
    submit.retrying event between tries), then says once that Prefect is unavailable, naming
    PREFECT_API_URL, and answers False."""
    with (
        temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}),
        capture_logs() as logs,
    ):
        assert warm_up(attempts=3, max_seconds=30) is False
    assert [e["attempt"] for e in logs if e["event"] == "submit.retrying"] == [1, 2]
    [given_up] = [e for e in logs if e["event"] == "submit.prefect_unavailable"]
    assert "PREFECT_API_URL" in given_up["error"]


@pytest.mark.usefixtures("prefect_harness")
def test_warm_up_against_a_live_prefect_is_one_call() -> None:
    """warm_up against a Prefect that answers is True at once, without a retry event."""
    with capture_logs() as logs:
        assert warm_up() is True
    assert not [e for e in logs if e["event"].startswith("submit.")]

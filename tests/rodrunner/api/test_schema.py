"""Schemathesis fuzzes the OpenAPI schema of a real served API: no answer is a 500."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from rodrunner.api import create_app
from rodrunner.api.workflows import WORKFLOWS
from rodrunner.config import get_config
from rodrunner.ledger.states import RunState
from rodrunner.ledger.store import Ledger
from rodrunner.sandbox import SandboxInfo
from rodrunner.simulate import simulate_run
from tests.rodrunner.api.conftest import TOKEN, write_api_config

pytestmark = [
    pytest.mark.slow,
    # schemathesis's generators call `random` inside strategies; Hypothesis deprecates that.
    pytest.mark.filterwarnings(
        "ignore:Do not use the `random` module inside strategies"
        ":hypothesis.errors.HypothesisDeprecationWarning"
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served_api(
    tmp_path_factory: pytest.TempPathFactory,
    irods_sandbox_session: SandboxInfo,
    prefect_harness: None,
) -> Iterator[str]:
    """The API served by uvicorn on a loopback port, with a ledger and a run; its base URL."""
    tmp = tmp_path_factory.mktemp("fuzz")
    config = get_config(write_api_config(tmp, irods_sandbox_session))
    simulate_run(config.sequencer.base_dir / "miseq", "miseq", files=2, size=16)
    with Ledger.open(config.daemon.state_dir) as ledger:
        ledger.observe("/seq/miseq/RUN_X", "RUN_X", "miseq")
        ledger.transition("/seq/miseq/RUN_X", RunState.SKIPPED)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="fuzzed-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the API did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(300)


def _workflow_bodies() -> st.SearchStrategy[dict[str, Any]]:
    """Bodies naming real workflows with fuzzed parameters (the schema leaves them open)."""
    keys = sorted({key for w in WORKFLOWS.values() for key in w.params.model_fields} | {"config"})
    values = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.text(max_size=30),
        st.sampled_from(["novaseq", "/tempZone/home/rods/x", "/", "..", "/etc", "a\x00b", "\n"]),
    )
    fuzzed = st.fixed_dictionaries(
        {
            "workflow_name": st.sampled_from(sorted(WORKFLOWS)),
            "parameters": st.dictionaries(st.sampled_from(keys), values, max_size=4),
        }
    )
    # Well-formed bodies whose paths are out of bounds, so that the confinement (400) is
    # reached in every run, not only when the fuzzed keys happen to form a valid request.
    out_of_bounds = st.sampled_from(
        [
            {"workflow_name": "Ingest Run", "parameters": {"run_dir": "/etc"}},
            {"workflow_name": "Ingest All Sequencer Runs", "parameters": {"root_dir": "/"}},
        ]
    )
    return st.one_of(fuzzed, out_of_bounds)


def _fuzzer(
    operation: Any, base_url: str, statuses: set[int], mode: GenerationMode, *, bodies: bool
) -> Callable[[], None]:
    """A Hypothesis test of ``operation`` that records the status codes it saw.

    ``bodies``: replace the body by :func:`_workflow_bodies` (real names, fuzzed parameters).
    """

    @given(
        case=operation.as_strategy(generation_mode=mode),
        body=_workflow_bodies() if bodies else st.none(),
    )
    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def fuzz(case: schemathesis.Case, body: dict[str, Any] | None) -> None:
        if body is not None:
            case.body = body
        response = case.call_and_validate(
            base_url=base_url,
            headers={"Authorization": f"Bearer {TOKEN}"},
            checks=[not_a_server_error],
            timeout=60,
        )
        statuses.add(response.status_code)

    return fuzz


def test_no_request_gets_a_server_error(served_api: str) -> None:
    """Requests the schema allows, requests it forbids, real workflows with any parameters:
    with the token, never a 500."""
    schema = schemathesis.openapi.from_url(f"{served_api}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    seen: dict[str, set[int]] = {}
    for operation in operations:
        statuses = seen.setdefault(operation.label, set())
        _fuzzer(operation, served_api, statuses, GenerationMode.POSITIVE, bodies=False)()
        # Negative data exists only where there is something to get wrong (not for /health).
        with contextlib.suppress(Unsatisfiable):
            _fuzzer(operation, served_api, statuses, GenerationMode.NEGATIVE, bodies=False)()
        if operation.label == "POST /workflows/run":
            _fuzzer(operation, served_api, statuses, GenerationMode.POSITIVE, bodies=True)()
    # The fuzzing reached the routes themselves, not only the validation in front of them.
    assert 200 in seen["GET /metadata/search"]
    assert {202, 400, 404, 422} <= seen["POST /workflows/run"], seen
    assert {202, 404, 409} & seen["POST /runs/{run_id}/retry"], seen


def test_fuzzing_leaves_the_server_healthy(served_api: str, tmp_path: Path) -> None:
    """After the fuzzing, /health still answers 200."""
    import httpx

    assert httpx.get(f"{served_api}/health", timeout=60).status_code == 200

"""Hostile requests over real HTTP: the token is checked and the body size bounded before any
body is read, measured on the resident set of a real `rodrunner api` process."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from rodrunner.api import create_app
from rodrunner.config import AppConfig, IRODSConfig
from rodrunner.irods.client import iRODSClient
from rodrunner.sandbox import SandboxInfo
from tests.rodrunner.api.conftest import TOKEN, write_api_config
from tests.server_process import ServerProcess, free_port

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
BIG = 96 * MIB
"""The hostile body: far above the 1 MiB default, small enough for a shared test machine."""
GROWTH_LIMIT_KIB = 24 * 1024
"""What the API's peak resident set may grow by while refusing ``BIG`` (it grew by > BIG)."""


@pytest.fixture(scope="module")
def api_url(
    tmp_path_factory: pytest.TempPathFactory,
    irods_sandbox_session: SandboxInfo,
    prefect_harness: None,
) -> Iterator[tuple[str, ServerProcess]]:
    """`rodrunner api` in a child process on the shared sandbox and the harness's Prefect."""
    from prefect.settings import PREFECT_API_URL

    tmp_path = tmp_path_factory.mktemp("api-guard")
    config = write_api_config(tmp_path, irods_sandbox_session)
    port = free_port()
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    server = ServerProcess(["api", "--config", str(config), "--port", str(port)], env)
    try:
        server.wait_listening(port)
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.stop()


def _chunks(total: int, size: int = MIB) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b"x" * min(size, total - sent)
        sent += size


def _post(url: str, content: object, headers: dict[str, str]) -> httpx.Response | None:
    """POST; None when the server closed the connection while the body was still being sent."""
    try:
        return httpx.post(url, content=content, headers=headers, timeout=120)  # type: ignore[arg-type]
    except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
        return None


def test_an_oversized_unauthenticated_post_is_refused_unread(
    api_url: tuple[str, ServerProcess],
) -> None:
    """96 MiB announced by Content-Length without a token: 401, and the API's memory stays put."""
    url, server = api_url
    before = server.reset_peak()
    response = _post(
        f"{url}/workflows/run",
        _chunks(BIG),
        {"Content-Length": str(BIG), "Content-Type": "application/json"},
    )
    grown = server.status_kib("VmHWM") - before
    assert grown < GROWTH_LIMIT_KIB, f"peak RSS grew by {grown} KiB"
    if response is not None:
        assert response.status_code == 401, response.text
    assert httpx.get(f"{url}/health", timeout=60).status_code == 200


def test_an_oversized_authenticated_post_is_413_before_it_is_read(
    api_url: tuple[str, ServerProcess],
) -> None:
    """96 MiB announced by Content-Length with the token: 413 naming the limit, memory stays."""
    url, server = api_url
    before = server.reset_peak()
    response = _post(
        f"{url}/workflows/run",
        _chunks(BIG),
        {"Content-Length": str(BIG), "Authorization": f"Bearer {TOKEN}"},
    )
    grown = server.status_kib("VmHWM") - before
    assert grown < GROWTH_LIMIT_KIB, f"peak RSS grew by {grown} KiB"
    if response is not None:
        assert response.status_code == 413, response.text
        assert "api.max_body_bytes" in response.json()["detail"]


def test_an_oversized_chunked_post_is_cut_off_at_the_limit(
    api_url: tuple[str, ServerProcess],
) -> None:
    """96 MiB in chunked encoding (no Content-Length) with the token: 413, memory stays."""
    url, server = api_url
    before = server.reset_peak()
    response = _post(f"{url}/workflows/run", _chunks(BIG), {"Authorization": f"Bearer {TOKEN}"})
    grown = server.status_kib("VmHWM") - before
    assert grown < GROWTH_LIMIT_KIB, f"peak RSS grew by {grown} KiB"
    if response is not None:
        assert response.status_code == 413, response.text
    assert server.alive()


def test_the_token_is_checked_before_the_body_is_parsed(
    api_url: tuple[str, ServerProcess],
) -> None:
    """Malformed JSON without a token is 401, not a parse error."""
    url, _ = api_url
    response = httpx.post(
        f"{url}/workflows/run",
        content=b'{"workflow_name": ',
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_body_within_the_limit_is_served(api_url: tuple[str, ServerProcess]) -> None:
    """A normal request with the token still reaches the route (422 for an unknown field)."""
    url, _ = api_url
    response = httpx.post(
        f"{url}/workflows/run",
        json={"workflow_name": "Ingest Run", "parameters": {"run_dir": "/x", "colour": "red"}},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=60,
    )
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("indicator", ["*", "Copy*.txt", "?", "[ab]", "a\\b", "..", ".", "a/b"])
@pytest.mark.parametrize("workflow", ["Ingest Sequencer Runs", "Ingest All Sequencer Runs"])
def test_completion_indicator_must_be_a_plain_file_name(
    api_url: tuple[str, ServerProcess], workflow: str, indicator: str
) -> None:
    """A glob, a path or '.'/'..' as completion_indicator: 422 naming the field, no flow run."""
    url, _ = api_url
    parameters = {"completion_indicator": indicator}
    if workflow == "Ingest Sequencer Runs":
        parameters["sequencer_type"] = "novaseq"
    response = httpx.post(
        f"{url}/workflows/run",
        json={"workflow_name": workflow, "parameters": parameters},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=60,
    )
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "parameters", "completion_indicator"]
    assert "plain file name" in error["msg"]


def test_docs_page_loads_nothing_from_another_host(api_url: tuple[str, ServerProcess]) -> None:
    """/docs answers 200 and every script and stylesheet it names is served by the API itself."""
    url, _ = api_url
    page = httpx.get(f"{url}/docs", timeout=60)
    assert page.status_code == 200
    links = re.findall(r"""(?:src|href|url)\s*[=:(]\s*['"]([^'"]+)['"]""", page.text)
    assert links, page.text
    for link in links:
        assert link.startswith("/"), link
        assert not link.startswith("//"), link
        assert httpx.get(f"{url}{link}", timeout=60).status_code == 200, link


def test_the_limit_is_api_max_body_bytes(api_config: AppConfig) -> None:
    """With api.max_body_bytes 2048: a 4 KiB body is 413 (with or without a length), 1 KiB not."""
    config = api_config.model_copy(
        update={"api": api_config.api.model_copy(update={"max_body_bytes": 2048})}
    )
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    small = b'{"workflow_name": "Nothing", "parameters": {"x": "' + b"y" * 900 + b'"}}'
    with TestClient(create_app(config)) as client:
        sized = client.post("/workflows/run", content=b"x" * 4096, headers=headers)
        assert sized.status_code == 413, sized.text
        chunked = client.post("/workflows/run", content=iter([b"x" * 1024] * 4), headers=headers)
        assert chunked.status_code == 413, chunked.text
        assert client.post("/workflows/run", content=small, headers=headers).status_code == 404


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("run_id", "nomatch' || like '%"),
        ("run_id", "x' || '1'='1"),
        ("run_id' || like '%", "x"),
    ],
)
def test_search_injection_is_400_not_a_wider_query(
    api_url: tuple[str, ServerProcess], key: str, value: str
) -> None:
    """A key or value that would become a second GenQuery condition: 400 naming it."""
    url, _ = api_url
    response = httpx.get(
        f"{url}/metadata/search",
        params={"key": key, "value": value},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=60,
    )
    assert response.status_code == 400, response.text
    assert "cannot be searched" in response.json()["detail"]


def test_search_for_a_value_with_a_quote_finds_exactly_it(
    api_url: tuple[str, ServerProcess], irods_sandbox_session: SandboxInfo
) -> None:
    """A value with a quote in it is searched for as it is and finds only its collection."""
    url, _ = api_url
    tag = uuid.uuid4().hex[:8]
    config = IRODSConfig(
        host=irods_sandbox_session.host,
        port=irods_sandbox_session.port,
        zone=irods_sandbox_session.zone,
        user=irods_sandbox_session.user,
        password=irods_sandbox_session.password,
    )
    with iRODSClient(config) as client:
        quoted, other = f"{client.home}/q-{tag}", f"{client.home}/o-{tag}"
        for path, value in ((quoted, f"O'Brien's run {tag}"), (other, f"OBriens run {tag}")):
            client.ensure_collection(path)
            client.set_metadata(path, [("run_id", value)])
    response = httpx.get(
        f"{url}/metadata/search",
        params={"key": "run_id", "value": f"O'Brien's run {tag}"},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert [hit["path"] for hit in response.json()["items"]] == [quoted]

"""Bearer token on every route but /health; the loopback rule for serving without a token."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from rodrunner.api.security import check_bind, is_loopback
from rodrunner.errors import ConfigError

SECURED = [
    ("GET", "/workflows/list"),
    ("POST", "/workflows/run"),
    ("GET", "/workflows/status/00000000-0000-4000-8000-000000000000"),
    ("GET", "/metadata/search?key=run_id&value=x"),
    ("GET", "/runs"),
    ("GET", "/runs/some_run"),
    ("POST", "/runs/some_run/retry"),
]


@pytest.mark.parametrize(("method", "path"), SECURED)
def test_every_route_but_health_refuses_without_or_with_a_wrong_token(
    client: TestClient, method: str, path: str
) -> None:
    """No token: 401 with WWW-Authenticate; a wrong token (or scheme): 401 too."""
    body = {"workflow_name": "Ingest Run", "parameters": {}} if method == "POST" else None
    for headers in (
        {"Authorization": ""},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": "Basic cm9kczpyb2Rz"},
    ):
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.headers["www-authenticate"] == "Bearer"
        assert "token" in response.json()["detail"]


def test_health_and_schema_need_no_token(client: TestClient) -> None:
    """/health and the OpenAPI schema answer without a token; the schema declares bearer auth."""
    assert client.get("/health", headers={"Authorization": ""}).status_code == 200
    schema = client.get("/openapi.json", headers={"Authorization": ""}).json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "security" not in schema["paths"]["/health"]["get"]
    assert schema["paths"]["/runs"]["get"]["security"] == [{"HTTPBearer": []}]


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.1", "::1", "[::1]", "localhost"])
def test_loopback_addresses_may_serve_without_a_token(host: str) -> None:
    """Loopback addresses are loopback; no token is needed there."""
    assert is_loopback(host)
    check_bind(host, None)


@pytest.mark.parametrize(
    "host",
    ["0.0.0.0", "::", "192.168.1.10", "seq-host.example.org"],  # noqa: S104  (the refusals tested)
)
def test_other_addresses_need_a_token(host: str) -> None:
    """Any other address (or a name) without a token is refused, naming api.token."""
    assert not is_loopback(host)
    with pytest.raises(ConfigError, match=r"api\.token"):
        check_bind(host, None)
    with pytest.raises(ConfigError):
        check_bind(host, SecretStr(""))
    check_bind(host, SecretStr("long-random"))

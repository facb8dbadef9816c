"""``GET /health``: iRODS, Prefect and ledger reachability; no token needed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from rodrunner import __version__
from rodrunner.api.deps import get_services
from rodrunner.api.models import Component, Health
from rodrunner.api.services import Services
from rodrunner.errors import IRODSError, LedgerError, RodrunnerError
from rodrunner.flowruns.prefect import api_url, prefect_problem

router = APIRouter(tags=["health"])


def _irods(services: Services) -> Component:
    try:
        client = services.irods()
        seconds = client.ping()
    except IRODSError as exc:
        services.drop_irods(exc)
        return Component(status="down", required=True, detail=str(exc))
    except RodrunnerError as exc:
        return Component(status="down", required=True, detail=str(exc))
    return Component(
        status="ok", required=True, detail=f"logged in as {client.whoami} ({seconds:.3f} s)"
    )


def _prefect() -> Component:
    url = api_url()
    problem = prefect_problem()
    if problem is not None:
        return Component(status="down", required=True, detail=f"{url}: {problem}")
    return Component(status="ok", required=True, detail=f"{url} is healthy")


def _ledger(services: Services) -> Component:
    if not services.ledger_path.is_file():
        return Component(
            status="absent",
            required=False,
            detail=f"no ledger at {services.ledger_path} (rodrunnerd has not run here)",
        )
    try:
        with services.read_ledger() as ledger:
            runs = sum(ledger.counts().values())
    except LedgerError as exc:
        return Component(status="down", required=False, detail=str(exc))
    return Component(status="ok", required=False, detail=f"{runs} run(s) in the ledger")


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "A required component is down."}},
    summary="Reachability of iRODS, Prefect and the daemon's ledger",
)
def health(services: Annotated[Services, Depends(get_services)], response: Response) -> Health:
    """200 when iRODS and Prefect answer; 503 (same body) when one of them does not."""
    components = {
        "irods": _irods(services),
        "prefect": _prefect(),
        "ledger": _ledger(services),
    }
    healthy = all(c.status == "ok" for c in components.values() if c.required)
    if not healthy:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Health(
        status="ok" if healthy else "degraded", version=__version__, components=components
    )

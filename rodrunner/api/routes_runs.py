"""``/runs``: the daemon's ledger (when ``daemon.state_dir`` holds one) and operator retries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status

from rodrunner.api.deps import get_services
from rodrunner.api.models import Problem, RunDetail, RunInfo, RunPage, TransitionInfo
from rodrunner.api.services import Services
from rodrunner.ledger_view import RunEntry

router = APIRouter(prefix="/runs", tags=["runs"])

RunState = Literal[
    "seen", "settling", "queued", "submitted", "running", "ingested", "failed", "skipped",
    "incomplete",
]  # fmt: skip

_PROBLEMS: dict[int | str, dict[str, object]] = {
    401: {"model": Problem, "description": "Missing or wrong bearer token."},
    404: {"model": Problem, "description": "No ledger (the daemon never ran), or no such run."},
    409: {"model": Problem, "description": "Ambiguous run id, or the run is busy."},
}

RunId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=1000,
        pattern=r"^[^\x00-\x1f\x7f/]+$",
        description="The run id (the run folder's name).",
    ),
]


def _time(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _info(entry: RunEntry) -> dict[str, object]:
    data = entry.as_dict()
    for key in ("next_attempt_at", "created_at", "updated_at"):
        data[key] = _time(data[key])
    return data


def _not_found(services: Services, run_id: str) -> HTTPException:
    return HTTPException(
        status.HTTP_404_NOT_FOUND,
        f"run {run_id!r} is not in the ledger at {services.ledger.path}; see GET /runs",
    )


@router.get("", response_model=RunPage, responses=_PROBLEMS, summary="Runs the daemon knows")
def list_runs(
    services: Annotated[Services, Depends(get_services)],
    state: Annotated[RunState | None, Query(description="Only runs in this state.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> RunPage:
    """The ledger's runs, oldest first."""
    total, entries = services.ledger.list(state, limit=limit, offset=offset)
    return RunPage(
        total=total,
        limit=limit,
        offset=offset,
        items=[RunInfo.model_validate(_info(e)) for e in entries],
    )


@router.get("/{run_id}", response_model=RunDetail, responses=_PROBLEMS, summary="One run")
def get_run(run_id: RunId, services: Annotated[Services, Depends(get_services)]) -> RunDetail:
    """The run's ledger state and the history of its transitions."""
    entry = services.ledger.get(run_id)
    if entry is None:
        raise _not_found(services, run_id)
    history = [
        TransitionInfo(from_state=t.from_state, to_state=t.to_state, at=_time(t.at), error=t.error)
        for t in services.ledger.history(entry.run_dir)
    ]
    return RunDetail.model_validate({**_info(entry), "history": history})


@router.post(
    "/{run_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RunInfo,
    responses=_PROBLEMS,
    summary="Ingest a run again",
)
def retry_run(run_id: RunId, services: Annotated[Services, Depends(get_services)]) -> RunInfo:
    """Put a failed, ingested or skipped run back to ``queued``; the daemon submits it."""
    entry = services.ledger.retry(run_id)
    if entry is None:
        raise _not_found(services, run_id)
    return RunInfo.model_validate(_info(entry))

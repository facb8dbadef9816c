"""``/runs``: the daemon's ledger (when ``daemon.state_dir`` holds one) and operator retries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, HTTPException, Path, Query, status

from rodrunner.api.deps import get_services
from rodrunner.api.models import Problem, RunDetail, RunInfo, RunPage, TransitionInfo
from rodrunner.api.services import Services
from rodrunner.errors import UnknownRunError
from rodrunner.ledger.records import RunRecord
from rodrunner.ledger.states import RunState
from rodrunner.names import is_utf8, shown

router = APIRouter(prefix="/runs", tags=["runs"])
log = structlog.get_logger()

_SHOWN = ("run_dir", "run_id", "last_error")
"""Names and texts the ledger keeps losslessly; one that is not UTF-8 is answered escaped."""
_FIELDS = (*_SHOWN, "sequencer_type", "state", "attempts", "flow_run_id")

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


def _text(value: str | None) -> str | None:
    return value if value is None or is_utf8(value) else shown(value)


def _info(record: RunRecord) -> dict[str, object]:
    data = record.as_dict()
    info: dict[str, object] = {key: data[key] for key in _FIELDS}
    for key in _SHOWN:
        info[key] = _text(data[key])
    for key in ("next_attempt_at", "created_at", "updated_at"):
        info[key] = _time(data[key])
    return info


def _not_found(services: Services, run_id: str) -> HTTPException:
    return HTTPException(
        status.HTTP_404_NOT_FOUND,
        f"run {run_id!r} is not in the ledger at {services.ledger_path}; see GET /runs",
    )


@router.get("", response_model=RunPage, responses=_PROBLEMS, summary="Runs the daemon knows")
def list_runs(
    services: Annotated[Services, Depends(get_services)],
    state: Annotated[RunState | None, Query(description="Only runs in this state.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> RunPage:
    """The ledger's runs, oldest first."""
    with services.read_ledger() as ledger:
        total, entries = ledger.page(state, limit=limit, offset=offset)
    return RunPage(
        total=total,
        limit=limit,
        offset=offset,
        items=[RunInfo.model_validate(_info(e)) for e in entries],
    )


@router.get("/{run_id}", response_model=RunDetail, responses=_PROBLEMS, summary="One run")
def get_run(run_id: RunId, services: Annotated[Services, Depends(get_services)]) -> RunDetail:
    """The run's ledger state and the history of its transitions."""
    with services.read_ledger() as ledger:
        entry = ledger.get(run_id)
        if entry is None:
            raise _not_found(services, run_id)
        steps = ledger.history(entry.run_dir)
    history = [
        TransitionInfo(
            from_state=t.from_state, to_state=t.to_state, at=_time(t.at), error=_text(t.error)
        )
        for t in steps
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
    try:
        with services.write_ledger() as ledger:
            entry = ledger.retry(run_id)
    except UnknownRunError:
        raise _not_found(services, run_id) from None
    log.info("run.retry_requested", run_id=entry.run_id, run_dir=entry.run_dir)
    return RunInfo.model_validate(_info(entry))

"""``/workflows``: list the workflows, run one, follow its flow run."""

from __future__ import annotations

import dataclasses
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from rodrunner.api.deps import get_services
from rodrunner.api.models import (
    FlowRunStatus,
    Problem,
    WorkflowInfo,
    WorkflowList,
    WorkflowRunAccepted,
    WorkflowRunRequest,
)
from rodrunner.api.services import Services
from rodrunner.api.workflows import WORKFLOWS, get_workflow, validation_errors

router = APIRouter(prefix="/workflows", tags=["workflows"])

_PROBLEMS: dict[int | str, dict[str, object]] = {
    401: {"model": Problem, "description": "Missing or wrong bearer token."},
    503: {"model": Problem, "description": "Prefect cannot be reached."},
}


@router.get("/list", response_model=WorkflowList, responses=_PROBLEMS, summary="The workflows")
def list_workflows(services: Annotated[Services, Depends(get_services)]) -> WorkflowList:
    """Every workflow the API runs, with its parameters (``config`` is added by the server)."""
    mode = services.config.daemon.submit
    return WorkflowList(
        workflows=[
            WorkflowInfo(
                name=w.name,
                description=w.description,
                parameters=w.parameter_info(),
                submit=mode,
                deployment=w.deployment(services.config) if mode == "deployment" else None,
            )
            for w in WORKFLOWS.values()
        ]
    )


@router.post(
    "/run",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WorkflowRunAccepted,
    responses={
        **_PROBLEMS,
        400: {"model": Problem, "description": "A path lies outside the roots or the zone."},
        404: {"model": Problem, "description": "No workflow of that name."},
    },
    summary="Start a workflow",
)
def run_workflow(
    body: WorkflowRunRequest, services: Annotated[Services, Depends(get_services)]
) -> WorkflowRunAccepted:
    """Start the workflow now and return its Prefect flow run id (202); it runs on."""
    workflow = get_workflow(body.workflow_name)
    try:
        values = workflow.validate(body.parameters)
    except ValidationError as exc:
        raise RequestValidationError(validation_errors(exc)) from None
    values = workflow.confine(values, services.config)
    parameters = workflow.flow_parameters(values, services.config)
    flow_run_id = services.launcher.start(workflow, parameters)
    return WorkflowRunAccepted(
        flow_run_id=flow_run_id,
        workflow_name=workflow.name,
        status_url=f"/workflows/status/{flow_run_id}",
    )


@router.get(
    "/status/{flow_run_id}",
    response_model=FlowRunStatus,
    responses={**_PROBLEMS, 404: {"model": Problem, "description": "No such flow run."}},
    summary="Follow a flow run",
)
def workflow_status(
    flow_run_id: UUID, services: Annotated[Services, Depends(get_services)]
) -> FlowRunStatus:
    """The flow run's state, timestamps, and its (small) result once final."""
    report = services.launcher.status(flow_run_id)
    return FlowRunStatus(**dataclasses.asdict(report))

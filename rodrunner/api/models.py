"""Request and response models of the REST API (they are its OpenAPI schema). No I/O here."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ComponentStatus = Literal["ok", "down", "absent"]
SearchKind = Literal["any", "collection", "data_object"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(_Model):
    """Every error answer: what went wrong and how to fix it."""

    detail: str = Field(description="What went wrong, naming the value and the fix.")


class Component(_Model):
    """The reachability of one peer."""

    status: ComponentStatus = Field(description="ok, down, or absent (not there, not required).")
    required: bool = Field(description="Whether the API is unhealthy while this one is down.")
    detail: str = Field(description="What was checked and what it said.")


class Health(_Model):
    """``GET /health``: 200 when every required component is ok, else 503."""

    status: Literal["ok", "degraded"]
    version: str
    components: dict[str, Component]


class ParameterInfo(_Model):
    """One parameter a workflow takes."""

    name: str
    type: str
    required: bool
    default: Any = None
    description: str = ""


class WorkflowInfo(_Model):
    """One workflow the API can run."""

    name: str
    description: str
    parameters: list[ParameterInfo]
    submit: Literal["embedded", "deployment"] = Field(
        description="How the API runs it: in its own worker threads, or through a deployment."
    )
    deployment: str | None = Field(
        None, description="The Prefect deployment used when submit is 'deployment'."
    )


class WorkflowList(_Model):
    """``GET /workflows/list``."""

    workflows: list[WorkflowInfo]


class WorkflowRunRequest(_Model):
    """``POST /workflows/run``: which workflow, with which parameters.

    The server adds the configuration file itself; ``config`` is not a parameter here.
    """

    workflow_name: str = Field(
        min_length=1,
        max_length=200,
        examples=["Ingest Sequencer Runs"],
        description="One of the names GET /workflows/list returns.",
    )
    parameters: dict[str, Any] = Field(
        default_factory=dict,
        examples=[{"sequencer_type": "novaseq"}],
        description="The workflow's parameters (see GET /workflows/list).",
    )


class WorkflowRunAccepted(_Model):
    """``202`` from ``POST /workflows/run``."""

    flow_run_id: str = Field(description="The Prefect flow run id; follow it at /workflows/status.")
    workflow_name: str
    status_url: str


class FlowRunStatus(_Model):
    """``GET /workflows/status/{flow_run_id}``."""

    flow_run_id: str
    name: str
    workflow_name: str | None = None
    state_type: str | None = Field(
        None, description="SCHEDULED, PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, CRASHED …"
    )
    state_name: str | None = None
    message: str | None = None
    is_final: bool
    created: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    total_run_time_seconds: float | None = None
    result: Any = Field(
        None,
        description="The flow's return value when this API ran it and it is small, else null.",
    )


class SearchHit(_Model):
    """One collection or data object carrying the AVU."""

    path: str
    kind: Literal["collection", "data_object"]


class SearchPage(_Model):
    """``GET /metadata/search``: one page of the sorted hits (collections first)."""

    key: str
    value: str
    kind: SearchKind
    total: int
    limit: int
    offset: int
    items: list[SearchHit]


class RunInfo(_Model):
    """One run folder as the daemon's ledger knows it."""

    run_id: str
    run_dir: str
    sequencer_type: str
    state: str
    attempts: int
    last_error: str | None = None
    flow_run_id: str | None = None
    next_attempt_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


class TransitionInfo(_Model):
    """One state change of a run."""

    from_state: str | None
    to_state: str
    at: datetime
    error: str | None = None


class RunDetail(RunInfo):
    """``GET /runs/{run_id}``: the run and its history."""

    history: list[TransitionInfo]


class RunPage(_Model):
    """``GET /runs``."""

    total: int
    limit: int
    offset: int
    items: list[RunInfo]

"""``rodrunner serve [--cron EXPR] [--audit-cron EXPR] [--config F]``: the flows as deployments.

This process becomes a Prefect runner: it registers one deployment per flow on the Prefect API
(``PREFECT_API_URL``) and executes the flow runs started from the UI, the API,
``run_deployment`` (the daemon's ``submit: deployment`` mode) or the schedule, until SIGINT or
SIGTERM. Deployment names are stable; ``Ingest Run/rodrunner-ingest-run`` is the default of
``daemon.deployment``. ``--config F`` is handed to the flow runs as ``$RODRUNNER_CONFIG`` (a
path, never the secrets themselves). ``--cron`` schedules ``Ingest All Sequencer Runs``,
``--audit-cron`` ``Audit Ingested Runs``; either needs ``PREFECT_API_URL`` (a schedule on a
temporary server would never fire), else exit 2.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from rodrunner.config import get_config
from rodrunner.errors import ConfigError

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.deployments.runner import RunnerDeployment

INGEST_RUN = "rodrunner-ingest-run"
INGEST_SEQUENCER_RUNS = "rodrunner-ingest-sequencer-runs"
INGEST_ALL = "rodrunner-ingest-all-sequencer-runs"
UPDATE_METADATA = "rodrunner-update-run-metadata"
AUDIT = "rodrunner-audit-ingested-runs"

DEPLOYMENT_NAMES = {
    "Ingest Run": INGEST_RUN,
    "Ingest Sequencer Runs": INGEST_SEQUENCER_RUNS,
    "Ingest All Sequencer Runs": INGEST_ALL,
    "Update Run Metadata": UPDATE_METADATA,
    "Audit Ingested Runs": AUDIT,
}
"""Flow name → deployment name; ``<flow>/<deployment>`` is what ``run_deployment`` takes."""


def _deployment(flow: Flow[..., Any], **options: Any) -> RunnerDeployment:
    # Flow.to_deployment is sync-or-async by its caller; here it is always sync.
    return cast("RunnerDeployment", flow.to_deployment(**options))


def build_deployments(
    cron: str | None = None, audit_cron: str | None = None
) -> list[RunnerDeployment]:
    """The deployments ``rodrunner serve`` serves (``cron`` schedules Ingest All,
    ``audit_cron`` Audit Ingested Runs)."""
    from prefect.types.entrypoint import EntrypointType

    from rodrunner.workflows.audit import audit_ingested_runs
    from rodrunner.workflows.ingest import (
        ingest_all_sequencer_runs,
        ingest_run,
        ingest_sequencer_runs,
    )
    from rodrunner.workflows.metadata import update_run_metadata

    common: dict[str, Any] = {
        "entrypoint_type": EntrypointType.MODULE_PATH,
        "tags": ["rodrunner"],
    }
    return [
        _deployment(
            ingest_run,
            name=INGEST_RUN,
            description="Ingest one run folder into iRODS (what rodrunnerd submits).",
            **common,
        ),
        _deployment(
            ingest_sequencer_runs,
            name=INGEST_SEQUENCER_RUNS,
            description="Ingest every complete run of one sequencer type.",
            parameters={"config": None},
            **common,
        ),
        _deployment(
            ingest_all_sequencer_runs,
            name=INGEST_ALL,
            description="Ingest every complete run of every configured sequencer type.",
            parameters={"config": None},
            cron=cron,
            **common,
        ),
        _deployment(
            update_run_metadata,
            name=UPDATE_METADATA,
            description="Re-derive a run's AVUs from the metadata files stored in iRODS.",
            parameters={"config": None},
            **common,
        ),
        _deployment(
            audit_ingested_runs,
            name=AUDIT,
            description="Re-verify the stored runs not verified for audit.max_age days.",
            parameters={"config": None},
            cron=audit_cron,
            **common,
        ),
    ]


def _valid_cron(expression: str) -> bool:
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron=expression)
    except ValueError:  # pydantic's ValidationError included
        return False
    return True


def _prefect_api_url() -> str | None:
    """The Prefect API this process talks to (environment or profile), None when unset."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


def serve(
    cron: Annotated[
        str | None,
        typer.Option(
            "--cron",
            help="Schedule 'Ingest All Sequencer Runs' (e.g. '*/30 * * * *').",
            show_default=False,
        ),
    ] = None,
    config_file: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Configuration file.", show_default=False),
    ] = None,
    audit_cron: Annotated[
        str | None,
        typer.Option(
            "--audit-cron",
            help="Schedule 'Audit Ingested Runs' (e.g. '0 3 * * *').",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", min=1, help="Most flow runs executing at once.", show_default=False
        ),
    ] = None,
) -> None:
    """Serve the ingest flows as Prefect deployments until interrupted."""
    try:
        config = get_config(config_file)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if config.source is not None:
        # Flow runs execute in child processes: they find the file here, not in parameters.
        os.environ["RODRUNNER_CONFIG"] = str(config.source.resolve())
    if audit_cron is not None and not _valid_cron(audit_cron):
        typer.echo(
            f"error: --audit-cron {audit_cron!r} is not a valid cron expression; give five "
            "fields, e.g. '0 3 * * *'",
            err=True,
        )
        raise typer.Exit(2)
    try:
        deployments = build_deployments(cron, audit_cron)
    except ValueError:  # pydantic's ValidationError included: a bad cron expression
        typer.echo(
            f"error: --cron {cron!r} is not a valid cron expression; give five fields, "
            "e.g. '*/30 * * * *'",
            err=True,
        )
        raise typer.Exit(2) from None
    scheduling = [
        option
        for option, expression in (("--cron", cron), ("--audit-cron", audit_cron))
        if expression is not None
    ]
    if scheduling and not _prefect_api_url():
        option = scheduling[0]
        typer.echo(
            f"error: {option} needs a Prefect server that outlives this command to keep the "
            "schedule, and PREFECT_API_URL is not set: start one with `prefect server start` "
            "and set PREFECT_API_URL=http://127.0.0.1:4200/api (in the environment or with "
            f"`prefect config set`), then run rodrunner serve {option} again",
            err=True,
        )
        raise typer.Exit(2)
    from prefect import serve as prefect_serve

    names = ", ".join(f"{flow}/{name}" for flow, name in DEPLOYMENT_NAMES.items())
    typer.echo(f"serving {names}", err=True)
    prefect_serve(*deployments, limit=limit)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to ``app``."""
    app.command("serve")(serve)

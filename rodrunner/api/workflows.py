"""The workflows the API runs: name, flow, parameter model, and the path checks of each.

Pure but for the path confinement (which resolves symlinks) and :meth:`Workflow.load`, which
imports the flow module (Prefect is heavy: only when a run is asked for).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rodrunner.api.confine import allowed_roots, confine_irods_path, confine_local_path
from rodrunner.api.models import ParameterInfo
from rodrunner.config import AppConfig
from rodrunner.errors import UnknownWorkflowError
from rodrunner.run import IngestParameters, known_sequencer_type

__all__ = ["WORKFLOWS", "Workflow", "get_workflow"]


_NOT_IN_A_FILE_NAME = frozenset("/\\*?[]") | frozenset(map(chr, [*range(0x20), 0x7F]))
"""Path separators, glob metacharacters and control characters (Prefect stores parameters as
JSON text)."""


def _plain_file_name(value: str | None) -> str | None:
    """A completion file given through the API names one file of the run folder, nothing else:
    a glob such as ``*`` would make every folder complete."""
    if value is None:
        return None
    bad = sorted(set(value) & _NOT_IN_A_FILE_NAME)
    if value in ("", ".", "..") or bad:
        why = f"contains {''.join(bad)!r}" if bad else "is not a file name"
        raise ValueError(
            f"must be a plain file name such as CopyComplete.txt; {value!r} {why} "
            "(no path separators, no glob characters * ? [ ], not '.' or '..')"
        )
    return value


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IngestSequencerRunsParams(_Params):
    """Parameters of "Ingest Sequencer Runs"."""

    sequencer_type: str = Field(description="Profile name, e.g. novaseq.")
    root_dir: str | None = Field(
        None, description="Root to scan, inside a sequencer root; the configured root if null."
    )
    completion_indicator: str | None = Field(
        None,
        description="File that marks a run complete (a plain name); the profile's if null.",
        max_length=255,
    )

    _type = field_validator("sequencer_type")(known_sequencer_type)
    _indicator = field_validator("completion_indicator")(_plain_file_name)


class IngestAllSequencerRunsParams(_Params):
    """Parameters of "Ingest All Sequencer Runs"."""

    root_dir: str | None = Field(
        None, description="Base of the type folders, inside a sequencer root; base_dir if null."
    )
    completion_indicator: str | None = Field(
        None,
        description="File that marks a run complete (a plain name); each profile's if null.",
        max_length=255,
    )

    _indicator = field_validator("completion_indicator")(_plain_file_name)


class UpdateRunMetadataParams(_Params):
    """Parameters of "Update Run Metadata"."""

    irods_path: str = Field(
        description="The run collection, inside the zone.", min_length=1, max_length=4096
    )
    sequencer_type: str = Field(description="Profile name of the run.")

    _type = field_validator("sequencer_type")(known_sequencer_type)


@dataclass(frozen=True)
class Workflow:
    """One workflow the API offers."""

    name: str
    module: str
    function: str
    params: type[BaseModel]
    description: str

    def load(self) -> Any:
        """The Prefect flow object (imported only here: the flow modules import Prefect)."""
        from rodrunner.workflows import ingest, metadata

        modules = {ingest.__name__: ingest, metadata.__name__: metadata}
        return getattr(modules[self.module], self.function)

    @property
    def slug(self) -> str:
        """``ingest-sequencer-runs`` for "Ingest Sequencer Runs"."""
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")

    def deployment(self, config: AppConfig) -> str:
        """The deployment ``rodrunner serve`` creates: ``<flow name>/rodrunner-<slug>``.

        "Ingest Run" uses ``daemon.deployment``, as the daemon does.
        """
        if self.name == "Ingest Run":
            return config.daemon.deployment
        return f"{self.name}/rodrunner-{self.slug}"

    def parameter_info(self) -> list[ParameterInfo]:
        """The parameters a client may give."""
        out = []
        for name, field in self.params.model_fields.items():
            annotation = field.annotation
            type_name = getattr(annotation, "__name__", None) or str(annotation)
            out.append(
                ParameterInfo(
                    name=name,
                    type=str(type_name).replace("typing.", ""),
                    required=field.is_required(),
                    default=None if field.is_required() else field.default,
                    description=field.description or "",
                )
            )
        return out

    def validate(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters checked against the model; pydantic's ValidationError otherwise.

        ``config`` is refused like any unknown key: the server sets it.
        """
        return self.params.model_validate(dict(parameters)).model_dump()

    def confine(self, values: dict[str, Any], config: AppConfig) -> dict[str, Any]:
        """Paths resolved inside the roots / the zone; ``PathError`` otherwise."""
        out = dict(values)
        roots = allowed_roots(config)
        if out.get("run_dir") is not None:
            out["run_dir"] = confine_local_path("run_dir", out["run_dir"], roots)
        if out.get("root_dir") is not None:
            out["root_dir"] = confine_local_path(
                "root_dir", out["root_dir"], roots, allow_root=True
            )
        if out.get("irods_path") is not None:
            out["irods_path"] = confine_irods_path(
                "irods_path", out["irods_path"], config.irods.zone
            )
        return out

    def flow_parameters(self, values: dict[str, Any], config: AppConfig) -> dict[str, Any]:
        """What the flow is called with: the checked values plus the config FILE PATH."""
        source = str(config.source) if config.source is not None else None
        return {"config": source, **values}


WORKFLOWS: Mapping[str, Workflow] = MappingProxyType(
    {
        w.name: w
        for w in (
            Workflow(
                "Ingest Sequencer Runs",
                "rodrunner.workflows.ingest",
                "ingest_sequencer_runs",
                IngestSequencerRunsParams,
                "Ingest every complete run of one sequencer type.",
            ),
            Workflow(
                "Ingest All Sequencer Runs",
                "rodrunner.workflows.ingest",
                "ingest_all_sequencer_runs",
                IngestAllSequencerRunsParams,
                "Ingest the complete runs of every configured sequencer type.",
            ),
            Workflow(
                "Update Run Metadata",
                "rodrunner.workflows.metadata",
                "update_run_metadata",
                UpdateRunMetadataParams,
                "Replace a run collection's AVUs with those parsed from its stored files.",
            ),
            Workflow(
                "Ingest Run",
                "rodrunner.workflows.ingest",
                "ingest_run",
                IngestParameters,
                "Ingest one run folder, verified; skip it when iRODS already holds it.",
            ),
        )
    }
)


def get_workflow(name: str) -> Workflow:
    """The workflow called ``name``; :class:`UnknownWorkflowError` naming the known ones."""
    try:
        return WORKFLOWS[name]
    except KeyError:
        raise UnknownWorkflowError(
            f"unknown workflow {name!r}; use one of: {', '.join(WORKFLOWS)} (GET /workflows/list)"
        ) from None


def validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """pydantic's errors located under ``body.parameters`` (as FastAPI reports body errors)."""
    errors = []
    for err in exc.errors(include_url=False, include_context=False):
        loc = ("body", "parameters", *err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden" and err["loc"] == ("config",):
            msg = "config is set by the server (its configuration file); remove it"
        elif err["type"] == "extra_forbidden":
            msg = f"unknown parameter {err['loc'][-1]!r}; see GET /workflows/list"
        errors.append({"type": err["type"], "loc": list(loc), "msg": msg})
    return errors

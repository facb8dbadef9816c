"""The two contracts of one ingest: what is asked (:class:`IngestRequest`) and what became of
it (:class:`IngestSummary`).

Pure: no I/O. The "Ingest Run" flow is called with ``IngestRequest.parameters()`` and returns
``IngestSummary.as_result()`` (a plain dict: Prefect stores it, people index it); the batch
flows return ``as_entry()`` dicts; every reader (the daemon, the API, the CLI, the tests) parses
what it gets back with :meth:`IngestSummary.from_result` or :meth:`IngestSummary.from_state`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rodrunner.config import AppConfig
from rodrunner.errors import ConfigError
from rodrunner.profiles import PROFILES

if TYPE_CHECKING:
    from prefect.client.schemas.objects import State

__all__ = [
    "ENTRY_KEYS",
    "SUMMARY_KEYS",
    "IngestParameters",
    "IngestRequest",
    "IngestStatus",
    "IngestSummary",
    "known_sequencer_type",
]

IngestStatus = Literal["complete", "skipped", "failed", "conflict"]
"""``conflict``: another run folder owns the run's collection; nothing was changed."""

SUMMARY_KEYS = (
    "run_dir",
    "run_id",
    "sequencer_type",
    "irods_path",
    "success",
    "status",
    "error",
    "files",
    "bytes",
    "skipped_files",
    "uploaded_files",
    "uploaded_bytes",
    "verified",
    "seconds",
    "flow_run_id",
)
"""The keys of the dict "Ingest Run" returns (plus ``error_type`` when it failed)."""

ENTRY_KEYS = (
    "run_dir",
    "run_id",
    "irods_path",
    "success",
    "status",
    "error",
    "files",
    "bytes",
    "seconds",
)
"""The keys of every entry ``ingest_sequencer_runs``/``ingest_all_sequencer_runs`` return."""


def known_sequencer_type(value: str | None) -> str | None:
    """``value`` when it names a sequencer profile (or is None); ValueError naming them."""
    if value is not None and value not in PROFILES:
        raise ValueError(f"unknown sequencer type {value!r}; use one of: {', '.join(PROFILES)}")
    return value


class IngestParameters(BaseModel):
    """What a person may ask of "Ingest Run" (the API offers exactly these)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_dir: str = Field(
        description="The run folder, inside a sequencer root.", min_length=1, max_length=4096
    )
    sequencer_type: str | None = Field(None, description="Profile name; detected when null.")
    force: bool = Field(False, description="Re-verify every object instead of trusting a manifest.")

    _type = field_validator("sequencer_type")(known_sequencer_type)


class IngestRequest(IngestParameters):
    """One ingest to start: the parameters plus the configuration and the run's identity.

    ``config`` is the configuration FILE PATH (what a deployment run must get: Prefect stores
    it), the :class:`AppConfig` itself (an embedded run; Prefect masks its secrets), or None
    (the usual search where the flow runs). ``completion_key`` names one completion of one run
    folder (the folder itself when not given); with ``attempt`` it makes the idempotency key.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    config: AppConfig | str | None = None
    run_id: str | None = None
    completion_key: str | None = None
    attempt: int = Field(0, ge=0)

    @field_validator("run_dir", mode="before")
    @classmethod
    def _fspath(cls, value: Any) -> Any:
        return os.fspath(value) if isinstance(value, os.PathLike) else value

    @property
    def idempotency_key(self) -> str:
        """The Prefect idempotency key: one flow run per (run folder, completion, attempt)."""
        return f"rodrunner-{self.completion_key or self.run_dir}-{self.attempt}"

    def parameters(self, *, deployment: bool = False) -> dict[str, Any]:
        """The flow parameters of "Ingest Run": plain values and ``config``, never a secret
        in plain text (a path, or the object Prefect stores masked). A ``deployment`` run runs
        elsewhere: it is given the path, never the object (ConfigError)."""
        if deployment and isinstance(self.config, AppConfig):
            raise ConfigError(
                f"a deployment run of {self.run_dir!r} needs the configuration FILE PATH, not "
                "the configuration itself; start rodrunnerd with --config FILE",
                key="config",
            )
        return {
            "run_dir": self.run_dir,
            "sequencer_type": self.sequencer_type,
            "config": self.config,
            "force": self.force,
        }


class IngestSummary(BaseModel):
    """What became of one ingest: the one result shape of the ingest flows.

    Counts are None where unknown (a run that failed before it was planned); "Ingest Run"
    sets every count, starting from 0.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_dir: str = ""
    run_id: str | None = None
    sequencer_type: str | None = None
    irods_path: str | None = None
    success: bool = False
    status: IngestStatus = "failed"
    error: str | None = None
    error_type: str | None = None
    files: int | None = None
    bytes: int | None = None
    skipped_files: int | None = None
    uploaded_files: int | None = None
    uploaded_bytes: int | None = None
    verified: int | None = None
    seconds: float | None = None
    flow_run_id: str | None = None

    @property
    def ended_well(self) -> bool:
        """Complete or skipped: nothing left to do for this run folder."""
        return self.success and self.status in ("complete", "skipped")

    def as_result(self) -> dict[str, Any]:
        """The dict "Ingest Run" returns: every key of :data:`SUMMARY_KEYS`, and
        ``error_type`` when known."""
        out = {key: getattr(self, key) for key in SUMMARY_KEYS}
        if self.error_type is not None:
            out["error_type"] = self.error_type
        return out

    def as_entry(self) -> dict[str, Any]:
        """One entry of the batch flows: every key of :data:`ENTRY_KEYS`."""
        return {key: getattr(self, key) for key in ENTRY_KEYS}

    @classmethod
    def from_result(cls, data: Mapping[str, Any], run_dir: str = "") -> IngestSummary:
        """The summary in ``data`` (a dict an ingest flow returned); keys it does not know are
        left out (a newer flow's), a missing ``run_dir`` is ``run_dir``."""
        known = {key: value for key, value in data.items() if key in cls.model_fields}
        known.setdefault("run_dir", run_dir)
        return cls.model_validate(known)

    @classmethod
    def failed(cls, run_dir: str, error: str) -> IngestSummary:
        """A run that ended failed with ``error`` and nothing else known."""
        return cls(run_dir=run_dir, error=error)

    @classmethod
    def from_state(cls, state: State[Any], run_dir: str = "") -> IngestSummary:
        """The summary an "Ingest Run" flow run ended with, whatever its final state; a run
        that left none (crashed, cancelled) is a failed one with the state's reason."""
        try:
            data: Any = state.result(raise_on_failure=False)
        except Exception as exc:  # a crashed or cancelled run has no summary: report what is known
            data = exc
        if isinstance(data, Mapping):
            return cls.from_result(data, run_dir)
        reason = state.message or (str(data) if data is not None else state.type.value)
        return cls.failed(run_dir, reason)

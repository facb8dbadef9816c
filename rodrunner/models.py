"""Run metadata: the typed form of ``rodrunner metadata RUN_DIR --json``.

The JSON contract lives in the design card; every run AVU is derived from it.
No I/O happens here.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

Platform = Literal["illumina", "pacbio", "nanopore", "element"]


class Read(BaseModel):
    """One read of a run (Illumina: a RunInfo <Read>)."""

    model_config = ConfigDict(frozen=True)

    number: int
    cycles: int
    is_index: bool


class Sample(BaseModel):
    """One sample row of a sample sheet / run manifest."""

    model_config = ConfigDict(frozen=True)

    sample_id: str
    sample_name: str | None = None
    project: str | None = None
    lane: int | None = None
    index: str | None = None
    index2: str | None = None


class Software(BaseModel):
    """Instrument software versions."""

    model_config = ConfigDict(frozen=True)

    control_software: str | None = None
    control_software_version: str | None = None
    rta_version: str | None = None


class RunMetadata(BaseModel):
    """Everything rodrunner knows about a run; keys are null or empty where absent."""

    run_id: str
    platform: Platform
    sequencer_type: str
    instrument_model: str | None = None
    instrument_id: str | None = None
    run_number: int | None = None
    flowcell_id: str | None = None
    run_date: str | None = None
    lanes: int | None = None
    reads: list[Read] = Field(default_factory=list)
    samplesheet_version: int | None = None
    samples: list[Sample] = Field(default_factory=list)
    projects: list[str] = Field(default_factory=list)
    software: Software = Field(default_factory=Software)
    chemistry: str | None = None
    flowcell_mode: str | None = None
    source_files: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list, exclude=True)
    qc: dict[str, float] = Field(default_factory=dict, exclude=True)
    """InterOp QC summary (yield_gb, percent_q30, clusters_pf ...) if available; not a JSON key."""

    SCALAR_KEYS: ClassVar[tuple[str, ...]] = (
        "run_id",
        "platform",
        "sequencer_type",
        "instrument_model",
        "instrument_id",
        "run_number",
        "flowcell_id",
        "run_date",
        "lanes",
        "samplesheet_version",
        "chemistry",
        "flowcell_mode",
    )

    def to_avus(self, prefix: str = "") -> list[tuple[str, str, str]]:
        """The run AVUs of the design card: scalars, software, one per sample_id and project."""
        avus: list[tuple[str, str, str]] = []
        data = self.model_dump(mode="json")
        for key in self.SCALAR_KEYS:
            value = data.get(key)
            if value is not None and value != "":
                avus.append((f"{prefix}{key}", str(value), ""))
        for key, value in data["software"].items():
            if value:
                avus.append((f"{prefix}{key}", str(value), ""))
        if self.reads:
            avus.append(
                (
                    f"{prefix}reads",
                    ",".join(f"{r.cycles}{'i' if r.is_index else ''}" for r in self.reads),
                    "",
                )
            )
        for sample_id in sorted({s.sample_id for s in self.samples if s.sample_id}):
            avus.append((f"{prefix}sample_id", sample_id, ""))
        for project in self.projects:
            avus.append((f"{prefix}project", project, ""))
        return avus

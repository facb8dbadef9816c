"""Prefect task: read a run folder's metadata files into :class:`RunMetadata`."""

from __future__ import annotations

import os
from pathlib import Path

import structlog
from prefect import task
from prefect.cache_policies import NO_CACHE

from rodrunner.models import RunMetadata
from rodrunner.parsers import parse_run_folder

log = structlog.get_logger()


@task(
    name="parse-sequencer-run",
    task_run_name="parse-{run_dir}",
    cache_policy=NO_CACHE,
    persist_result=False,
)
def parse_sequencer_run(
    run_dir: str | os.PathLike[str], sequencer_type: str | None = None
) -> RunMetadata:
    """The run's metadata (the ``rodrunner metadata --json`` contract).

    ``sequencer_type`` is a profile name; detected from the folder when omitted. Raises
    :class:`rodrunner.errors.RunFolderError` (permanent) for a folder it cannot understand.
    """
    metadata = parse_run_folder(Path(run_dir), sequencer_type)
    for warning in metadata.warnings:
        log.warning("run.metadata_warning", run_dir=os.fspath(run_dir), warning=warning)
    return metadata

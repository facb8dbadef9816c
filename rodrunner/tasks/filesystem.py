"""Prefect tasks over the sequencer share."""

from __future__ import annotations

import os
from typing import Any

from prefect import task

from rodrunner.config.schema import DEFAULT_SKIP_FILE, DEFAULT_TRIGGER_FILE
from rodrunner.discovery import find_sequencer_runs

__all__ = ["find_run_entries_task", "find_sequencer_runs_task"]


@task(name="find-run-entries", task_run_name="find-run-entries-{sequencer_type}")
def find_run_entries_task(
    root_dir: str | os.PathLike[str],
    sequencer_type: str | None,
    completion_indicator: str | None = None,
    trigger_file: str = DEFAULT_TRIGGER_FILE,
    skip_file: str = DEFAULT_SKIP_FILE,
) -> list[dict[str, Any]]:
    """The complete runs (for PacBio: SMRT cells) under ``root_dir``, as plain dicts.

    Each dict is :meth:`rodrunner.discovery.RunEntry.to_dict`: ``run_dir`` (absolute),
    ``run_id``, ``sequencer_type``, ``state``, ``reason``, ``indicator``,
    ``indicator_mtime``, ``forced``, ``trigger_mtime``.
    """
    entries = find_sequencer_runs(
        root_dir,
        sequencer_type,
        completion_indicator=completion_indicator,
        trigger_file=trigger_file,
        skip_file=skip_file,
    )
    return [entry.to_dict() for entry in entries if entry.complete]


@task(name="find-sequencer-runs", task_run_name="find-sequencer-runs-{sequencer_type}")
def find_sequencer_runs_task(
    root_dir: str | os.PathLike[str],
    sequencer_type: str | None,
    completion_indicator: str | None = None,
    trigger_file: str = DEFAULT_TRIGGER_FILE,
    skip_file: str = DEFAULT_SKIP_FILE,
) -> list[str]:
    """The complete run folders (for PacBio: SMRT cells) under ``root_dir``, as absolute path
    strings sorted by path; :func:`find_run_entries_task` gives each one's state and reason.
    """
    return [
        str(entry["run_dir"])
        for entry in find_run_entries_task.fn(
            root_dir,
            sequencer_type,
            completion_indicator=completion_indicator,
            trigger_file=trigger_file,
            skip_file=skip_file,
        )
    ]

"""``rodrunner verify RUN_DIR|IRODS_COLLECTION [--deep] [--json]``: is a stored run whole?

Compares the run folder (when given and here), the stored manifest and the catalog; ``--deep``
also has the server re-read every replica from its storage. One line per problem and a
summary (or one JSON document); exit 0 only when the run is whole, 1 when it is not, 2 for a
wrong configuration or argument. A progress bar on a terminal.
"""

from __future__ import annotations

import json
import logging
from contextlib import AbstractContextManager, nullcontext
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn

from rodrunner.cli.ingest import ConfigOption, _check_type, _load
from rodrunner.cli.logs import log_to_stderr
from rodrunner.errors import ConfigError, RodrunnerError
from rodrunner.stored_run import VerifyReport, resolve, verify_run

STAGES = {"hash": "hashing local files", "verify": "server re-reading replicas"}


class _Bar:
    """A rich progress bar per stage on a terminal; nothing otherwise."""

    def __init__(self, console: Console) -> None:
        self._progress = (
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.completed}/{task.total}"),
                console=console,
                transient=True,
            )
            if console.is_terminal
            else None
        )
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self._progress is None:
            return
        task = self._tasks.get(stage)
        if task is None:
            task = self._tasks[stage] = self._progress.add_task(
                STAGES.get(stage, stage), total=total
            )
        self._progress.update(task, completed=done)

    def live(self) -> AbstractContextManager[object]:
        return self._progress if self._progress is not None else nullcontext()


def print_report(out: Console, report: VerifyReport) -> None:
    """One line per problem, one per note, then the summary."""
    for problem in report.problems:
        where = f"{problem.path}: " if problem.path else ""
        out.print(f"{problem.kind:<13} {where}{problem.message}", markup=False, highlight=False)
    for note in report.notes:
        out.print(f"{'note':<13} {note.message}", markup=False, highlight=False)
    kind = "deep " if report.deep else ""
    if report.ok:
        out.print(
            f"{report.collection}: whole ({kind}verified {report.files} files, "
            f"{report.replicas} replicas)",
            markup=False,
            highlight=False,
        )
    else:
        out.print(
            f"{report.collection}: NOT whole, {len(report.problems)} problem(s) "
            f"({kind}verification of {report.files} files, {report.replicas} replicas)",
            markup=False,
            highlight=False,
        )


def verify(
    run: Annotated[
        str,
        typer.Argument(
            help="A run folder here, or the run's iRODS collection.",
            metavar="RUN_DIR|IRODS_COLLECTION",
            show_default=False,
        ),
    ],
    deep: Annotated[
        bool,
        typer.Option("--deep", help="Have the server re-read every replica from its storage."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    sequencer_type: Annotated[
        str | None,
        typer.Option("--type", "-t", help="Sequencer type of RUN_DIR; detected when omitted."),
    ] = None,
    config_file: ConfigOption = None,
) -> None:
    """Check that a stored run is whole: folder, manifest, catalog (and storage with --deep)."""
    err = Console(stderr=True, soft_wrap=True)
    out = Console(soft_wrap=True)
    log_to_stderr(logging.WARNING)
    logging.getLogger("irods").setLevel(logging.ERROR)  # its per-object checksum warnings
    _check_type(sequencer_type, err)
    config = _load(config_file, err)
    from rodrunner.connect import open_irods

    bar = _Bar(err)
    try:
        target = resolve(run, config, sequencer_type)
        with open_irods(config.irods) as client, bar.live():
            report = verify_run(client, target, deep=deep, progress=bar)
    except ConfigError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    except RodrunnerError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        print_report(out, report)
    raise typer.Exit(0 if report.ok else 1)


def register(app: typer.Typer) -> None:
    """Add ``verify`` to ``app``."""
    app.command("verify")(verify)

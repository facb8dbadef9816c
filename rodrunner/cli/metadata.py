"""``rodrunner metadata RUN_DIR [--type T] [--json]``: what rodrunner reads from a run folder.

A readable summary by default; with ``--json`` exactly the design card's run metadata JSON.
Exit code 1 with one clear message when RUN_DIR is not a run folder rodrunner recognises.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from rodrunner.cli.logs import log_to_stderr
from rodrunner.errors import RodrunnerError
from rodrunner.models import RunMetadata
from rodrunner.parsers import METADATA_FILE_PATTERNS, parse_run_folder


def metadata(
    run_dir: Annotated[Path, typer.Argument(help="The run folder (PacBio: the SMRT cell folder).")],
    sequencer_type: Annotated[
        str | None,
        typer.Option("--type", "-t", help="Sequencer type; detected from the files when omitted."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the run metadata JSON of the design card.")
    ] = False,
) -> None:
    """Show the metadata rodrunner reads from RUN_DIR."""
    err = Console(stderr=True, soft_wrap=True)
    log_to_stderr()  # metadata.file_unusable and friends: --json on stdout stays parseable
    if sequencer_type is not None and sequencer_type not in METADATA_FILE_PATTERNS:
        known = ", ".join(METADATA_FILE_PATTERNS)
        err.print(f"error: --type {sequencer_type!r} is not a sequencer type; use one of: {known}")
        raise typer.Exit(2)
    try:
        result = parse_run_folder(run_dir, sequencer_type)
    except RodrunnerError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), indent=2, ensure_ascii=False))
        return
    _print_summary(Console(), result)
    for warning in result.warnings:
        err.print(f"warning: {warning}", markup=False, highlight=False)


def _print_summary(console: Console, meta: RunMetadata) -> None:
    table = Table(title=f"run {meta.run_id}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    reads = " + ".join(f"{r.cycles}{' (index)' if r.is_index else ''}" for r in meta.reads)
    software = meta.software
    rows: list[tuple[str, object]] = [
        ("platform", meta.platform),
        ("sequencer type", meta.sequencer_type),
        ("instrument", _join(meta.instrument_model, meta.instrument_id)),
        ("run number", meta.run_number),
        ("flowcell", _join(meta.flowcell_id, meta.flowcell_mode)),
        ("run date", meta.run_date),
        ("lanes", meta.lanes),
        ("reads", reads or None),
        ("chemistry", meta.chemistry),
        ("control software", _join(software.control_software, software.control_software_version)),
        ("RTA", software.rta_version),
        ("sample sheet", f"v{meta.samplesheet_version}" if meta.samplesheet_version else None),
        ("samples", len({s.sample_id for s in meta.samples}) if meta.samples else None),
        ("projects", ", ".join(meta.projects) or None),
        ("files read", ", ".join(meta.source_files)),
    ]
    rows += [(f"QC {key}", value) for key, value in meta.qc.items()]
    for label, value in rows:
        table.add_row(label, "-" if value in (None, "") else str(value))
    console.print(table)


def _join(first: str | None, second: str | None) -> str | None:
    """``first (second)``, or whichever of the two exists."""
    if first and second:
        return f"{first} ({second})"
    return first or second


def register(app: typer.Typer) -> None:
    """Add the ``metadata`` command to the rodrunner CLI."""
    app.command("metadata")(metadata)

"""``rodrunner deletable RUN_DIR [--json]``: may this run folder leave the share now?

Every condition of the safe-to-delete gate (:mod:`rodrunner.deletable`), checked at this
moment, one line each with its reason; exit 0 only if every one holds, 1 if any does not, 2
for a wrong configuration or argument. Nothing is moved or deleted.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from rodrunner.cli.ingest import ConfigOption, _check_type, _load
from rodrunner.cli.logs import log_to_stderr
from rodrunner.errors import ConfigError, RodrunnerError


def deletable(
    run_dir: Annotated[
        Path, typer.Argument(help="The run folder (PacBio: the SMRT cell).", metavar="RUN_DIR")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    sequencer_type: Annotated[
        str | None,
        typer.Option("--type", "-t", help="Sequencer type; detected when omitted."),
    ] = None,
    config_file: ConfigOption = None,
) -> None:
    """Say whether a run folder may leave the share: every condition, by name."""
    err = Console(stderr=True, soft_wrap=True)
    out = Console(soft_wrap=True)
    log_to_stderr(logging.WARNING)
    _check_type(sequencer_type, err)
    config = _load(config_file, err)
    if not run_dir.is_dir():
        err.print(f"error: run folder '{run_dir}' is not a directory", markup=False)
        raise typer.Exit(2)
    from rodrunner.connect import open_irods
    from rodrunner.deletable import evaluate
    from rodrunner.stored_run import gate_input, resolve

    try:
        target = resolve(str(run_dir), config, sequencer_type)
        with open_irods(config.irods) as client:
            conditions = evaluate(gate_input(client, target, config))
    except ConfigError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    except RodrunnerError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    ok = all(c.ok for c in conditions)
    if as_json:
        document = {
            "run_dir": str(target.run_dir),
            "collection": target.collection,
            "deletable": ok,
            "conditions": [c.as_dict() for c in conditions],
        }
        typer.echo(json.dumps(document, indent=2))
    else:
        for c in conditions:
            mark = "ok  " if c.ok else "FAIL"
            out.print(f"{mark} {c.name:<24} {c.reason}", markup=False, highlight=False)
        failed = sum(not c.ok for c in conditions)
        verdict = "deletable" if ok else f"NOT deletable ({failed} condition(s) fail)"
        out.print(f"{target.run_dir}: {verdict}", markup=False, highlight=False)
    raise typer.Exit(0 if ok else 1)


def register(app: typer.Typer) -> None:
    """Add ``deletable`` to ``app``."""
    app.command("deletable")(deletable)

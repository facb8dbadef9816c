"""``rodrunner ingest RUN_DIR`` and ``rodrunner update-metadata IRODS_PATH``.

``ingest`` runs the ``Ingest Run`` flow in this process (recorded on ``PREFECT_API_URL``, or on
the local Prefect server of ``daemon.state_dir``, started on first use and reused, when none is
set) with a progress bar of files and bytes. Exit
0 when the run is complete or already was (skipped), 1 with one clear message when it failed,
2 for a wrong configuration or option. ``--dry-run`` prints the plan (collection, files, bytes,
AVUs) without touching iRODS or Prefect.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from rodrunner.cli.logs import log_to_stderr, quiet_prefect_console
from rodrunner.config import AppConfig, get_config
from rodrunner.confine import allowed_roots, linked_out_of_root
from rodrunner.errors import ConfigError, RodrunnerError
from rodrunner.irods.walk import walk_tree
from rodrunner.parsers import parse_run_folder
from rodrunner.plan import IngestPlan, make_plan
from rodrunner.profiles import PROFILES, get_profile

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="Configuration file.", show_default=False)
]


def _load(config_file: Path | None, err: Console) -> AppConfig:
    try:
        return get_config(config_file)
    except ConfigError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(2) from None


def _check_type(sequencer_type: str | None, err: Console) -> None:
    if sequencer_type is not None and sequencer_type not in PROFILES:
        known = ", ".join(PROFILES)
        err.print(f"error: --type {sequencer_type!r} is not a sequencer type; use one of: {known}")
        raise typer.Exit(2)


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def _plan(run_dir: Path, sequencer_type: str | None, config: AppConfig) -> IngestPlan:
    metadata = parse_run_folder(run_dir, sequencer_type)
    stype = sequencer_type or metadata.sequencer_type
    return make_plan(metadata, config, stype, profile_exclude=get_profile(stype).default_excludes)


def _print_plan(console: Console, plan: IngestPlan, run_dir: Path) -> int:
    listing = walk_tree(run_dir, include=plan.include, exclude=plan.exclude)
    console.print(f"run         {plan.run_id} ({plan.sequencer_type})", highlight=False)
    console.print(f"collection  {plan.collection}", highlight=False)
    console.print(
        f"files       {len(listing.files)} ({_human(listing.total_bytes)}, "
        f"{listing.total_bytes} bytes)",
        highlight=False,
    )
    if plan.exclude:
        console.print(f"excluded    {', '.join(plan.exclude)}", highlight=False)
    table = Table("attribute", "value", title="run AVUs", title_justify="left")
    for attr, value, _units in plan.run_avus:
        table.add_row(attr, value)
    console.print(table)
    console.print(
        "then rodrunner::status=ingesting, upload, verify, rodrunner.manifest.json, "
        "status AVUs, rodrunner::status=complete",
        highlight=False,
    )
    for problem in listing.errors:
        console.print(f"problem     {problem.relative}: {problem.message}", highlight=False)
    return 1 if listing.errors else 0


def _local_prefect(config: AppConfig, err: Console) -> None:
    """Record flow runs on the local Prefect server unless PREFECT_API_URL names one."""
    from rodrunner.localprefect import ensure_local_prefect, server_dir, server_status
    from rodrunner.localprefect.control import configured_api_url

    directory = server_dir(config.daemon.state_dir)
    local = config.prefect.local_server and not configured_api_url()
    if local and not server_status(directory)["running"]:
        err.print(
            f"starting the local Prefect server in {directory} (once: later commands reuse it; "
            "`rodrunner prefect-server stop` ends it)",
            markup=False,
            highlight=False,
        )
    try:
        ensure_local_prefect(config)
    except RodrunnerError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(1) from None


def _run_with_progress(
    run_dir: Path,
    sequencer_type: str | None,
    config_file: Path | None,
    force: bool,
    totals: tuple[int, int],
    err: Console,
    verbose: bool = False,
    replace: bool = False,
    suffix: str | None = None,
) -> dict[str, Any]:
    # Prefect is imported here: --dry-run and --help stay fast and never start a server.
    from rodrunner.run import IngestSummary
    from rodrunner.tasks.irods import report_progress
    from rodrunner.workflows.ingest import ingest_run

    if not verbose:
        quiet_prefect_console()

    files, size = totals
    columns = (
        TextColumn("{task.description:>5}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[shown]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        files_task = bar.add_task("files", total=files, shown=f"0/{files}")
        bytes_task = bar.add_task("bytes", total=size, shown=f"0 B/{_human(size)}")
        done = [0, 0]

        def advance(_relative: str, nbytes: int) -> None:
            done[0] += 1
            done[1] += nbytes
            bar.update(files_task, completed=done[0], shown=f"{done[0]}/{files}")
            bar.update(bytes_task, completed=done[1], shown=f"{_human(done[1])}/{_human(size)}")

        with report_progress(advance):
            state = ingest_run(
                str(run_dir),
                sequencer_type,
                str(config_file) if config_file is not None else None,
                force,
                replace,
                suffix,
                return_state=True,
            )
    return IngestSummary.from_state(state, str(run_dir)).as_result()  # type: ignore[arg-type]


def ingest(
    run_dir: Annotated[Path, typer.Argument(help="The run folder (PacBio: the SMRT cell).")],
    sequencer_type: Annotated[
        str | None,
        typer.Option("--type", "-t", help="Sequencer type; detected when omitted."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Re-verify every stored object; resend what differs."),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan; touch neither iRODS nor Prefect.")
    ] = False,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="The run's collection came from another folder (a conflict): move it aside "
            "to <collection>.replaced-<time> and ingest this folder there.",
        ),
    ] = False,
    suffix: Annotated[
        str | None,
        typer.Option(
            "--suffix",
            help="Ingest into <collection>_SUFFIX (a second folder with the same run id).",
        ),
    ] = None,
    config_file: ConfigOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug events.")] = False,
) -> None:
    """Ingest one run folder into iRODS, verified (skipped when already there)."""
    err = Console(stderr=True, soft_wrap=True)
    out = Console(soft_wrap=True)
    log_to_stderr(logging.DEBUG if verbose else logging.WARNING)
    _check_type(sequencer_type, err)
    config = _load(config_file, err)
    run_dir = run_dir.absolute()
    outside = linked_out_of_root(run_dir, allowed_roots(config))  # the daemon's rule too
    if outside is not None:
        err.print(f"error: {outside}", markup=False, highlight=False)
        raise typer.Exit(1)
    try:
        plan = _plan(run_dir, sequencer_type, config)
        if dry_run:
            raise typer.Exit(_print_plan(out, plan, run_dir))
        listing = walk_tree(run_dir, include=plan.include, exclude=plan.exclude)
    except RodrunnerError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    except OSError as exc:
        err.print(f"error: run folder '{run_dir}': {exc}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    _local_prefect(config, err)
    summary = _run_with_progress(
        run_dir,
        sequencer_type,
        config_file,
        force,
        (len(listing.files), listing.total_bytes),
        err,
        verbose,
        replace,
        suffix,
    )
    status = summary.get("status")
    where = summary.get("irods_path") or "(no collection)"
    if status == "complete":
        out.print(
            f"ingested {summary['run_id']} into {where}: {summary['files']} files, "
            f"{_human(int(summary['bytes']))} ({summary.get('uploaded_files', 0)} files sent, "
            f"{summary.get('verified', 0)} verified) in {summary['seconds']:.1f} s",
            highlight=False,
        )
        return
    if status == "skipped":
        out.print(
            f"{summary['run_id']} is already complete in {where} "
            f"({summary['files']} files); nothing sent. Use --force to re-verify.",
            highlight=False,
        )
        return
    if status == "conflict":
        err.print(f"conflict: {summary.get('error')}", markup=False, highlight=False)
        raise typer.Exit(1)
    err.print(f"error: ingest of {run_dir} failed: {summary.get('error')}", highlight=False)
    err.print(f"iRODS collection: {where} (not marked complete)", highlight=False)
    raise typer.Exit(1)


def update_metadata(
    irods_path: Annotated[str, typer.Argument(help="The run collection in iRODS.")],
    sequencer_type: Annotated[str, typer.Option("--type", "-t", help="Sequencer type of the run.")],
    config_file: ConfigOption = None,
) -> None:
    """Re-read a run's metadata files stored in iRODS and replace its run AVUs."""
    err = Console(stderr=True, soft_wrap=True)
    log_to_stderr(logging.WARNING)
    _check_type(sequencer_type, err)
    _local_prefect(_load(config_file, err), err)
    from prefect.client.schemas.objects import State

    from rodrunner.workflows.metadata import update_run_metadata

    quiet_prefect_console()

    state = cast(
        "State[Any]",
        update_run_metadata(
            str(config_file) if config_file is not None else None,
            irods_path,
            sequencer_type,
            return_state=True,
        ),
    )
    result = state.result(raise_on_failure=False)
    if not isinstance(result, dict) or not result.get("success"):
        error = result.get("error") if isinstance(result, dict) else state.message
        err.print(f"error: {error}", markup=False, highlight=False)
        raise typer.Exit(1)
    for attr, value, _units in result["added"]:
        typer.echo(f"+ {attr}={value}")
    for attr, value, _units in result["removed"]:
        typer.echo(f"- {attr}={value}")
    typer.echo(
        f"{irods_path}: {len(result['added'])} AVU(s) added, {len(result['removed'])} removed"
    )


def register(app: typer.Typer) -> None:
    """Add ``ingest`` and ``update-metadata`` to ``app``."""
    app.command("ingest")(ingest)
    app.command("update-metadata")(update_metadata)

"""``rodrunner simulate ROOT --type T ...``: write a realistic run folder over time."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rodrunner.cli.logs import log_to_stderr
from rodrunner.errors import ConfigError
from rodrunner.simulate import simulate_run


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to ``app``."""

    @app.command()
    def simulate(
        root: Annotated[Path, typer.Argument(help="Sequencer root to write the run folder in.")],
        sequencer_type: Annotated[str, typer.Option("--type", "-t", help="Profile name.")],
        files: Annotated[int, typer.Option("--files", help="Number of data files.")] = 20,
        size: Annotated[int, typer.Option("--size", help="Bytes per data file.")] = 1024,
        duration: Annotated[
            float, typer.Option("--duration", help="Seconds to spread the writes over.")
        ] = 0.0,
        source: Annotated[
            Path | None,
            typer.Option("--from", help="Take the metadata files from this directory."),
        ] = None,
        indicator_by_rename: Annotated[
            bool,
            typer.Option("--indicator-by-rename", help="Write the indicator as a rename."),
        ] = False,
        run_id: Annotated[
            str | None, typer.Option("--run-id", help="Run folder name (default: fixture's).")
        ] = None,
        incomplete: Annotated[
            bool, typer.Option("--incomplete", help="Stop before the completion indicator.")
        ] = False,
        seed: Annotated[int, typer.Option("--seed", help="Seed of the file contents.")] = 0,
    ) -> None:
        """Write a run folder like the instrument does: metadata, data, indicator last."""
        log_to_stderr()  # stdout holds only the run folder's path
        try:
            run_dir = simulate_run(
                root,
                sequencer_type,
                files=files,
                size=size,
                duration=duration,
                source=source,
                indicator_by_rename=indicator_by_rename,
                run_id=run_id,
                complete=not incomplete,
                seed=seed,
            )
        except ConfigError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except OSError as exc:
            where = exc.filename if exc.filename is not None else root
            typer.echo(
                f"error: cannot write the run folder under '{root}' ('{where}': {exc.strerror}); "
                "check that the root is a writable directory",
                err=True,
            )
            raise typer.Exit(1) from None
        typer.echo(str(run_dir))

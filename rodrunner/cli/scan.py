"""``rodrunner scan [ROOT] [--type T] [--json] [--config F]``: every entry of a root, with state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rodrunner.errors import ConfigError

if TYPE_CHECKING:  # the command imports its machinery lazily: `rodrunner --help` stays fast
    from rich.table import Table

    from rodrunner.config import AppConfig
    from rodrunner.discovery import RunEntry

_STYLE = {
    "complete": "green",
    "in_progress": "yellow",
    "skipped": "magenta",
    "problem": "red",
    "not_a_run": "dim",
}


def _roots(
    config: AppConfig, root: Path | None, sequencer_type: str | None
) -> list[tuple[Path, str | None, str | None]]:
    """(root, type, completion_indicator) to scan: ROOT, or every configured root."""
    types = config.sequencer.types
    if root is not None:
        if sequencer_type is None:  # a configured root knows its type
            absolute = root.absolute()
            for name in types:
                if config.sequencer.root_for(name).absolute() == absolute:
                    sequencer_type = name
                    break
        entry = types.get(sequencer_type) if sequencer_type else None
        return [(root, sequencer_type, entry.completion_indicator if entry else None)]
    if not types:
        raise ConfigError(
            "no sequencer roots configured; pass ROOT or set sequencer.types in the "
            "configuration (see config.example.yaml)",
            key="sequencer.types",
        )
    wanted = [sequencer_type] if sequencer_type else list(types)
    result: list[tuple[Path, str | None, str | None]] = []
    for name in wanted:
        entry = types.get(name)
        result.append(
            (config.sequencer.root_for(name), name, entry.completion_indicator if entry else None)
        )
    return result


def _table(entries: list[RunEntry]) -> Table:
    from rich.table import Table
    from rich.text import Text

    from rodrunner.names import shown

    table = Table(show_header=True, header_style="bold", expand=False)
    table.add_column("state")
    table.add_column("type")
    table.add_column("run", overflow="fold")
    table.add_column("reason", overflow="fold")
    for entry in entries:
        style = _STYLE.get(entry.state, "")
        table.add_row(
            f"[{style}]{entry.state}[/{style}]" if style else entry.state,
            entry.sequencer_type or "-",
            Text(shown(entry.run_id)),  # any bytes a name may hold, printable, never markup
            Text(shown(entry.reason)),
        )
    return table


def register(app: typer.Typer) -> None:
    """Add ``scan`` to ``app``."""

    @app.command()
    def scan(
        root: Annotated[
            Path | None,
            typer.Argument(help="Root to scan; default: every root in the configuration."),
        ] = None,
        sequencer_type: Annotated[
            str | None, typer.Option("--type", "-t", help="Profile of every run under ROOT.")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
        config_file: Annotated[
            Path | None, typer.Option("--config", "-c", help="Configuration file.")
        ] = None,
    ) -> None:
        """List every entry at the top of a sequencer root with its state and the reason."""
        from rodrunner.config import get_config
        from rodrunner.discovery import find_sequencer_runs

        try:
            config = get_config(config_file)
            roots = _roots(config, root, sequencer_type)
        except ConfigError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        entries: list[RunEntry] = []
        failed = False
        for path, type_name, indicator in roots:
            try:
                entries += find_sequencer_runs(
                    path,
                    type_name,
                    completion_indicator=indicator,
                    trigger_file=config.daemon.trigger_file,
                    skip_file=config.daemon.skip_file,
                )
            except ConfigError as exc:
                typer.echo(f"error: {exc}", err=True)
                failed = True
        if failed and not entries:
            raise typer.Exit(2)
        if as_json:
            typer.echo(json.dumps([e.to_dict() for e in entries], indent=2))
        else:
            from rich.console import Console

            out = Console()
            out.print(_table(entries))
            counts = {s: sum(e.state == s for e in entries) for s in _STYLE}
            out.print(", ".join(f"{n} {s}" for s, n in counts.items()), highlight=False)
        if failed:
            raise typer.Exit(1)

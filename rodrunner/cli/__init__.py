"""The ``rodrunner`` command: a thin shell over the library.

Each sub-command lives in its own module of this package and exposes ``register(app)``.
``main(argv) -> int`` is what the console script and the tests call. Only the module of the
command being run is imported (``rodrunner scan`` need not load Prefect or the sandbox);
``--help`` and unknown commands load them all.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from types import ModuleType

import typer

from rodrunner import __version__

#: command name -> the module of this package that registers it
COMMANDS = {
    "check-config": "check_config",
    "scan": "scan",
    "metadata": "metadata",
    "simulate": "simulate",
    "sandbox": "sandbox",
    "ingest": "ingest",
    "update-metadata": "ingest",
    "verify": "verify",
    "deletable": "deletable",
    "serve": "serve",
    "api": "api",
    "prefect-server": "prefect_server",
}
COMMAND_MODULES = tuple(dict.fromkeys(COMMANDS.values()))
_registered: set[str] = set()

app = typer.Typer(
    name="rodrunner",
    help="Move finished sequencing runs from the sequencer share into iRODS.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Move finished sequencing runs from the sequencer share into iRODS."""


def _register(modules: Sequence[str]) -> None:
    for name in modules:
        if name in _registered:
            continue
        _load(name).register(app)
        _registered.add(name)


def _load(name: str) -> ModuleType:
    """Import one command module (plain imports: import-linter sees every edge)."""
    match name:
        case "check_config":
            from rodrunner.cli import check_config

            return check_config
        case "scan":
            from rodrunner.cli import scan

            return scan
        case "metadata":
            from rodrunner.cli import metadata

            return metadata
        case "simulate":
            from rodrunner.cli import simulate

            return simulate
        case "sandbox":
            from rodrunner.cli import sandbox

            return sandbox
        case "ingest":
            from rodrunner.cli import ingest

            return ingest
        case "verify":
            from rodrunner.cli import verify

            return verify
        case "deletable":
            from rodrunner.cli import deletable

            return deletable
        case "serve":
            from rodrunner.cli import serve

            return serve
        case "api":
            from rodrunner.cli import api

            return api
        case "prefect_server":
            from rodrunner.cli import prefect_server

            return prefect_server
    raise KeyError(name)


def _modules_for(args: Sequence[str]) -> Sequence[str]:
    """The command modules ``args`` needs: the named command's, or all of them."""
    for arg in args:
        if arg.startswith("-"):
            continue
        if arg == "version":
            return ()
        module = COMMANDS.get(arg)
        return (module,) if module else COMMAND_MODULES
    return COMMAND_MODULES


@app.command()
def version() -> None:
    """Print the rodrunner version."""
    typer.echo(__version__)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code instead of exiting."""
    args = list(sys.argv[1:] if argv is None else argv)
    _register(_modules_for(args))
    try:
        app(args=args, prog_name="rodrunner")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0

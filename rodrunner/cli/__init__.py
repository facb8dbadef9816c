"""The ``rodrunner`` command: a thin shell over the library.

Each sub-command lives in its own module of this package and exposes ``register(app)``.
``main(argv) -> int`` is what the console script and the tests call.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import typer

from rodrunner import __version__

COMMAND_MODULES = (
    "check_config",
    "scan",
    "metadata",
    "simulate",
    "sandbox",
    "ingest",
    "serve",
    "api",
)

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


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue  # command not built yet
            raise
        module.register(app)


@app.command()
def version() -> None:
    """Print the rodrunner version."""
    typer.echo(__version__)


_register_all()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code instead of exiting."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        app(args=args, prog_name="rodrunner")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0

"""Where the ``rodrunner`` command's log events go: stderr (stdout is the command's output).

The command is an entry point, so it (not the library) configures structlog, once per process:
a later call leaves an existing configuration alone (an embedding program's, or a test's).
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO, cast

import structlog


class _Stderr:
    """Whatever ``sys.stderr`` is when a line is written (test runners replace it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def log_to_stderr(level: int = logging.INFO) -> None:
    """Print structlog events at ``level`` and above to stderr, unless already configured."""
    if not structlog.is_configured():
        structlog.configure(
            logger_factory=structlog.PrintLoggerFactory(cast(TextIO, _Stderr())),
            wrapper_class=structlog.make_filtering_bound_logger(level),
        )


class _NotPrefect(logging.Filter):
    """Drops the records of Prefect's own loggers."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "prefect" or record.name.startswith("prefect."))


def quiet_prefect_console() -> None:
    """Keep Prefect's run lines and task tracebacks off the terminal (they still reach the
    Prefect API, the record of the run); the command prints its own outcome. Call after
    Prefect is imported (it installs its console handler then)."""
    from prefect.logging.handlers import PrefectConsoleHandler

    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler) and not any(
            isinstance(f, _NotPrefect) for f in handler.filters
        ):
            handler.addFilter(_NotPrefect())

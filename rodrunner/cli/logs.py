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

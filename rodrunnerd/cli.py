"""The ``rodrunnerd`` command."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the daemon command line; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    print(f"rodrunnerd: not built yet ({args})", file=sys.stderr)
    return 1

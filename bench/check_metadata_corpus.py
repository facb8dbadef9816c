"""Check the metadata parsers against real run folders that are not in the repository.

    uv run python bench/check_metadata_corpus.py DIR [--type T] [--depth N]

Runs ``parse_run_folder`` over every run folder under DIR (the entries ``--depth`` levels down,
default 1; use 2 for ``DIR/<type>/<run>``) and prints one aligned line per folder: run folder, type,
model, run ID, flowcell, date and problems (errors and warnings). Exit code 1 if any failed.
Only the few metadata files of each folder are read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rodrunner.errors import RodrunnerError
from rodrunner.parsers import parse_run_folder


def run_folders(root: Path, depth: int) -> list[Path]:
    """Directories exactly ``depth`` levels below ``root``, sorted."""
    level = [root]
    for _ in range(depth):
        level = sorted(p for d in level for p in d.iterdir() if p.is_dir())
    return level


def main(argv: list[str] | None = None) -> int:
    """Parse every run folder under DIR and print the table; 1 if any failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("root", type=Path, help="directory holding run folders")
    parser.add_argument("--type", dest="sequencer_type", default=None)
    parser.add_argument("--depth", type=int, default=1)
    args = parser.parse_args(argv)
    rows: list[tuple[str, ...]] = [
        ("run folder", "type", "model", "run_id", "flowcell", "date", "problems")
    ]
    failed = 0
    for folder in run_folders(args.root, args.depth):
        name = str(folder.relative_to(args.root))
        try:
            meta = parse_run_folder(folder, args.sequencer_type)
        except RodrunnerError as exc:
            failed += 1
            rows.append((name, "", "", "", "", "", f"{type(exc).__name__}: {exc}"))
            continue
        rows.append(
            (
                name,
                meta.sequencer_type,
                meta.instrument_model or "",
                meta.run_id,
                meta.flowcell_id or "",
                meta.run_date or "",
                "; ".join(meta.warnings),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[6]]))
    print(f"{failed} of {len(rows) - 1} folders failed", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

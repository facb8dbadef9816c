"""Benchmark: `rodrunner scan` over a root with 10,000 run folders, beside `ls` and os.scandir.

Run: ``uv run python bench/bench_scan.py [--runs 10000] [--repeat 3] [--no-write]``

Builds a temporary root of NovaSeq-style run folders (RunInfo.xml, RunParameters.xml, a Data/
tree stub; 90 % with CopyComplete.txt, some with RTAComplete.txt only, a few skipped), then
times, in the same process run and on the same (warm) page cache:

- ``ls -1 ROOT | wc -l`` (a shell baseline: only the root's names),
- ``os.scandir(ROOT)`` (the Python floor),
- ``find_sequencer_runs(ROOT)`` in process (discovery alone),
- ``rodrunner scan ROOT --json`` as a subprocess (what an operator runs, start-up included).

Medians of ``--repeat`` runs are appended to docs/benchmarks.md with the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import machine

from rodrunner.discovery import find_sequencer_runs

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "docs" / "benchmarks.md"


def build_root(root: Path, runs: int) -> None:
    """``runs`` NovaSeq run folders, most complete, some in progress, a few skipped."""
    for i in range(runs):
        run = root / f"{200101 + i % 28:06d}_A{i % 7:05d}_{i:04d}_AH{i:07d}XX"
        (run / "Data" / "Intensities" / "BaseCalls" / "L001").mkdir(parents=True)
        (run / "RunInfo.xml").write_bytes(b"<RunInfo/>")
        (run / "RunParameters.xml").write_bytes(b"<RunParameters/>")
        (run / "RTAComplete.txt").write_bytes(b"")
        if i % 10:
            (run / "CopyComplete.txt").write_bytes(b"")
        if i % 97 == 0:
            (run / ".rodrunner-skip").write_bytes(b"")


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Median seconds of ``repeat`` calls and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="Do not append to the docs.")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="rodrunner-bench-scan-"))
    try:
        start = time.perf_counter()
        build_root(root, args.runs)
        built = time.perf_counter() - start
        cmd = [sys.executable, "-m", "rodrunner", "scan", str(root), "--json"]
        ls_s, ls_out = timed(
            lambda: subprocess.run(  # noqa: S602 - the baseline is this very shell pipeline
                f"ls -1 '{root}' | wc -l", shell=True, capture_output=True, text=True, check=True
            ).stdout.strip(),
            args.repeat,
        )
        scandir_s, _ = timed(lambda: sum(1 for _ in os.scandir(root)), args.repeat)
        discovery_s, entries = timed(lambda: find_sequencer_runs(root), args.repeat)
        cli_s, cli = timed(
            lambda: subprocess.run(cmd, capture_output=True, text=True, check=True), args.repeat
        )
        python_s, _ = timed(
            lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), args.repeat
        )
        import_s, _ = timed(
            lambda: subprocess.run([sys.executable, "-c", "import rodrunner.cli"], check=True),
            args.repeat,
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)

    assert isinstance(entries, list)
    assert int(str(ls_out)) == args.runs, ls_out
    complete = sum(e.state == "complete" for e in entries)
    rows = [
        ("`ls -1 ROOT \\| wc -l`", ls_s),
        ("`os.scandir(ROOT)` (in process)", scandir_s),
        ("`find_sequencer_runs(ROOT)` (in process)", discovery_s),
        ("`rodrunner scan ROOT --json` (subprocess)", cli_s),
        ("`python -c pass` (interpreter start)", python_s),
        ("`python -c 'import rodrunner.cli'` (CLI start-up)", import_s),
    ]
    report = [
        "",
        f"## scan: {args.runs} run folders ({dt.date.today().isoformat()})",
        "",
        f"Machine: {machine(Path(tempfile.gettempdir()))}. "
        "Command: `uv run python bench/bench_scan.py`. Warm page cache, "
        f"median of {args.repeat}; root built in {built:.1f} s; {complete} complete entries, "
        f"CLI output {len(getattr(cli, 'stdout', ''))} bytes of JSON.",
        "",
        "| what | seconds | × ls |",
        "|---|---:|---:|",
        *[f"| {name} | {secs:.3f} | {secs / ls_s:.1f} |" for name, secs in rows],
        "",
        f"Target: `rodrunner scan` under 2 s: {'met' if cli_s < 2 else 'NOT met'} ({cli_s:.2f} s).",
        "",
    ]
    text = "\n".join(report)
    print(text)
    if not args.no_write:
        RESULTS.parent.mkdir(exist_ok=True)
        if not RESULTS.exists():
            RESULTS.write_text("# Benchmarks\n\nOne section per run of a bench/ command.\n")
        with RESULTS.open("a", encoding="utf-8") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: a 200 MiB put into the iRODS sandbox on loopback, beside ``cp`` of the same file.

Run: ``uv run python bench/bench_sandbox_put.py [--mib 200] [--repeat 3] [--no-write]``

Writes one random file into a temporary directory, starts ``rodrunner sandbox`` (its own
process, as a server would be) with its vault on the same file system, then times (median of
``--repeat``, each after ``sync`` so that no step pays for another's dirty pages; warm page
cache for the source):

- ``cp FILE COPY`` (the disk-to-disk floor on this machine),
- python-irodsclient ``data_objects.put`` (the parallel >32 MiB path, 2-3 connections),
- the same put with ``regChksum`` (the server hashes the bytes: what an ingest does).

Prints the ratios ``cp time / put time`` (the goal is >= 0.4) and appends a section to
docs/benchmarks.md with the machine, unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import irods.keywords as kw
from common import machine, sandbox_process
from irods.session import iRODSSession

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "docs" / "benchmarks.md"
MiB = 1024 * 1024


def median_of(repeat: int, func: Callable[[], None]) -> float:
    """The median wall time of ``repeat`` calls, each started with no dirty pages."""
    times = []
    for _ in range(repeat):
        os.sync()
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as scratch:
        work = Path(scratch)
        source = work / "source.bin"
        with source.open("wb") as f:
            for _ in range(args.mib):
                f.write(os.urandom(MiB))
        copy = work / "copy.bin"

        def cp() -> None:
            subprocess.run(["cp", str(source), str(copy)], check=True)
            copy.unlink()

        cp_time = median_of(args.repeat, cp)
        root = work / "sandbox"
        with sandbox_process(root) as server:
            session = iRODSSession(
                host=server.host,
                port=server.port,
                user=server.user,
                password=server.password.get_secret_value(),
                zone=server.zone,
            )
            target = "/tempZone/home/rods/bench.bin"
            try:
                put_time = median_of(
                    args.repeat, lambda: session.data_objects.put(str(source), target)
                )
                chk_time = median_of(
                    args.repeat,
                    lambda: session.data_objects.put(str(source), target, **{kw.REG_CHKSUM_KW: ""}),
                )
            finally:
                session.cleanup()
        where = machine(work)

    size = args.mib * MiB
    rows = [
        ("cp", cp_time),
        ("sandbox put", put_time),
        ("sandbox put + regChksum (sha256)", chk_time),
    ]
    lines = [
        f"| {name} | {t:.2f} s | {size / t / MiB:.0f} MiB/s | {cp_time / t:.2f}x |"
        for name, t in rows
    ]
    table = "\n".join(
        ["| operation | median time | throughput | speed vs cp |", "|---|---|---|---|", *lines]
    )
    print(table)
    if not args.no_write:
        RESULTS.parent.mkdir(exist_ok=True)
        if not RESULTS.exists():
            RESULTS.write_text("# Benchmarks\n\nOne section per run of a bench/ command.\n")
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        section = (
            f"\n## iRODS sandbox: {args.mib} MiB put on loopback vs cp ({stamp})\n\n"
            f"`uv run python bench/bench_sandbox_put.py --mib {args.mib} --repeat {args.repeat}`"
            f" (median of {args.repeat}, each after sync; goal: put >= 0.4x the speed of cp).\n"
            f"Machine: {where}.\n\n{table}\n"
        )
        with RESULTS.open("a", encoding="utf-8") as fh:
            fh.write(section)


if __name__ == "__main__":
    main()

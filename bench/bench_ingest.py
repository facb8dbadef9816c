"""Ingest throughput: ``cp -r`` vs a naive ``data_objects.put`` loop vs ``upload_directory``.

One command (``uv run python bench/bench_ingest.py [--quick] [--only large|small]``). Starts
an iRODS sandbox in a temporary directory, builds two workloads on the same disk and times, for
each:

(a) ``cp -r`` of the tree to another directory on the same disk;
(b) a naive sequential python-irodsclient loop (``collections.create`` per directory, then
    ``data_objects.put`` per file, no checksums: the baseline DESIGN.md measured);
(c) ``iRODSClient.upload_directory`` (checksums registered and verified, default threads).

Goals (issue 4): large files (c) >= 0.4x (a); 10,000 small files (c) >= 5x (b). Each step is
run ``--repeat`` times (median reported), each time into a fresh destination after the previous
one was deleted and after ``sync``, so that no step pays for another's dirty pages (the kernel
throttles whichever writer comes later). The results are printed side by side and appended to
docs/benchmarks.md with the machine (CPUs, model, load average). This script is
a reference measurement, so it calls python-irodsclient directly for (b) (the project code
only does so in rodrunner/irods).
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import structlog
from common import Server, machine, sandbox_process
from irods.session import iRODSSession

from rodrunner.config import IRODSConfig
from rodrunner.irods.client import iRODSClient

MiB = 1024 * 1024
DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def make_large(root: Path, count: int, size: int) -> int:
    root.mkdir(parents=True)
    for i in range(count):
        with open(root / f"big_{i}.bin", "wb") as fh:
            for _ in range(size // MiB):
                fh.write(os.urandom(MiB))
    return count * size


def make_small(root: Path, count: int, size: int) -> int:
    per_dir = 100
    for i in range(count):
        d = root / f"L{i // per_dir // 10:03d}" / f"C{i // per_dir:04d}.1"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"s_{i}.cbcl").write_bytes(os.urandom(size))
    return count * size


def timed(fn: Callable[[], object]) -> float:
    os.sync()  # start from no dirty pages: cp and the uploads are throttled alike
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by this process (all threads) and process ``pid``.

    The load-independent measure of an upload: on a shared machine the wall time depends on
    what else runs, the CPU the client and the sandbox spend does not (much).
    """
    own = resource.getrusage(resource.RUSAGE_SELF)
    total = own.ru_utime + own.ru_stime
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")  # not Linux: no per-process figure for the sandbox
    return total


def remove_collection(info: Server, coll: str) -> None:
    """Delete an uploaded collection (and its vault files) before the next repetition."""
    with iRODSSession(
        host=info.host,
        port=info.port,
        user=info.user,
        zone=info.zone,
        password=info.password.get_secret_value(),
    ) as session:
        if session.collections.exists(coll):
            session.collections.remove(coll, recurse=True, force=True)


def naive_put(info: Server, tree: Path, coll: str) -> None:
    with iRODSSession(
        host=info.host,
        port=info.port,
        user=info.user,
        zone=info.zone,
        password=info.password.get_secret_value(),
    ) as session:
        for dirpath, _dirs, files in os.walk(tree):
            rel = os.path.relpath(dirpath, tree)
            target = coll if rel == "." else f"{coll}/{rel}"
            session.collections.create(target)
            for name in files:
                session.data_objects.put(os.path.join(dirpath, name), f"{target}/{name}")


def client_upload(info: Server, tree: Path, coll: str, threads: int | None) -> None:
    config = IRODSConfig(
        host=info.host, port=info.port, zone=info.zone, user=info.user, password=info.password
    )
    with iRODSClient(config) as client:
        report = client.upload_directory(tree, coll, threads=threads)
    if not report.ok or report.skipped:
        raise SystemExit(f"upload_directory failed: {report.errors[:3]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 small files, 2 large")
    parser.add_argument("--threads", type=int, default=None, help="upload_directory threads")
    parser.add_argument("--workdir", type=Path, default=None, help="where trees go (one disk)")
    parser.add_argument("--no-append", action="store_true", help="do not write docs/")
    parser.add_argument("--repeat", type=int, default=3, help="runs per step (median)")
    parser.add_argument(
        "--only", choices=("large", "small"), default=None, help="run one workload only"
    )
    args = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    large_count = 2 if args.quick else 4
    small_count = 2000 if args.quick else 10_000
    rows: list[tuple[str, str, float, float, float, float, int]] = []
    base = Path(tempfile.mkdtemp(prefix="rodrunner-bench-", dir=args.workdir))
    try:
        (base / "sandbox").mkdir()
        with sandbox_process(base / "sandbox") as info:
            home = f"/{info.zone}/home/{info.user}"
            for name, make, count, size in (
                ("large", make_large, large_count, 64 * MiB),
                ("small", make_small, small_count, 4096),
            ):
                if args.only not in (None, name):
                    continue
                tree = base / f"{name}-tree"
                total = make(tree, count, size)
                copy, naive_coll, ours_coll = (
                    base / f"{name}-copy",
                    f"{home}/naive-{name}",
                    f"{home}/ours-{name}",
                )
                cps, naives, ourss, cpus = [], [], [], []
                for _ in range(max(1, args.repeat)):
                    shutil.rmtree(copy, ignore_errors=True)
                    cps.append(
                        timed(
                            lambda t=tree, c=copy: subprocess.run(  # type: ignore[misc]
                                ["cp", "-r", str(t), str(c)], check=True
                            )
                        )
                    )
                    remove_collection(info, naive_coll)
                    naives.append(timed(lambda t=tree, c=naive_coll: naive_put(info, t, c)))  # type: ignore[misc]
                    remove_collection(info, ours_coll)
                    cpu_before = cpu_seconds(info.pid)
                    ourss.append(
                        timed(lambda t=tree, c=ours_coll: client_upload(info, t, c, args.threads))  # type: ignore[misc]
                    )
                    cpus.append(cpu_seconds(info.pid) - cpu_before)
                cp, naive, ours, cpu = (statistics.median(x) for x in (cps, naives, ourss, cpus))
                rows.append((name, f"{count} x {size // 1024} KiB", cp, naive, ours, cpu, total))
                shutil.rmtree(copy, ignore_errors=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)

    header = (
        "| workload | files | cp -r s | naive put s | upload_directory s | CPU s | MB/s | "
        "vs cp -r | vs naive |"
    )
    lines = [header, "|---|---|---|---|---|---|---|---|---|"]
    for name, files, cp, naive, ours, cpu, total in rows:
        lines.append(
            f"| {name} | {files} | {cp:.2f} | {naive:.2f} | {ours:.2f} | {cpu:.2f} | "
            f"{total / MiB / ours:.0f} | {cp / ours:.2f}x | {naive / ours:.1f}x |"
        )
    table = "\n".join(lines)
    print(table)
    print("goals: large vs cp -r >= 0.4x; small vs naive >= 5x")
    if not args.no_append:
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        flags = (" --quick" if args.quick else "") + (f" --only {args.only}" if args.only else "")
        section = (
            f"\n## Ingest throughput ({'quick' if args.quick else 'full'}), {when}\n\n"
            f"`uv run python bench/bench_ingest.py{flags}` against "
            "the iRODS sandbox in its own process (not a real iRODS server); median of "
            f"{max(1, args.repeat)} runs, each after `sync` into a fresh destination.\n"
            f"Machine: {machine(Path(tempfile.gettempdir()))}.\n"
            "'vs cp -r' and 'vs naive' are speed ratios (higher is faster) of "
            "upload_directory; goals: large >= 0.4x cp -r, small >= 5x naive. 'CPU s' is the "
            "user + system CPU of client and sandbox together for upload_directory.\n\n"
            f"{table}\n"
        )
        DOCS.parent.mkdir(exist_ok=True)
        if not DOCS.exists():
            DOCS.write_text("# Benchmarks\n")
        with DOCS.open("a", encoding="utf-8") as fh:
            fh.write(section)
        print(f"appended to {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the catalog check of a run marked complete costs: one listing of N objects against
the manifest (the step a second ingest runs before it says "skipped").

Run: ``uv run python bench/bench_catalog_check.py [--objects 10000] [--repeat 5] [--no-write]``

Starts the sandbox in its own process, stores N tiny objects below one collection (in 100
sub-collections, as lanes/cycles are), builds their manifest, then times ``check_catalog``'s
work (``list_objects`` + ``catalog_problems``) ``--repeat`` times on one client and reports
the median. The figure is the sandbox's: a real iRODS server with a PostgreSQL catalog
answers GenQuery at its own speed (docs/benchmarks.md has the real-server figures we know).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import structlog
from common import machine, sandbox_process

from rodrunner.config import IRODSConfig
from rodrunner.irods.client import iRODSClient
from rodrunner.manifest import build_manifest
from rodrunner.tasks.irods import catalog_problems

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="do not append to the docs")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory(prefix="bench-catalog-") as tmp:
        root = Path(tmp)
        tree = root / "run"
        sizes: dict[str, int] = {}
        sums: dict[str, str] = {}
        for i in range(args.objects):
            rel = f"L{i % 4 + 1:03d}/C{i % 25 + 1}.1/f{i:05d}.cbcl"
            data = b"%016d" % i
            path = tree / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            sizes[rel] = len(data)
            sums[rel] = hashlib.sha256(data).hexdigest()
        manifest = build_manifest("bench", sizes, sums)
        with sandbox_process(root / "sandbox") as server:
            config = IRODSConfig(
                host=server.host,
                port=server.port,
                zone=server.zone,
                user=server.user,
                password=server.password,
            )
            with iRODSClient(config) as client:
                coll = f"{client.home}/bench-catalog"
                start = time.perf_counter()
                report = client.upload_directory(tree, coll)
                upload = time.perf_counter() - start
                assert report.ok, report.errors[:3]
                times = []
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    problems = catalog_problems(manifest, client.list_objects(coll))
                    times.append(time.perf_counter() - start)
                    assert problems == (), problems[:3]
        median = statistics.median(times)
        where = machine(root)
    per = median / args.objects * 1e6
    text = (
        f"\n## Catalog check of a complete run: {args.objects} objects "
        f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)\n\n"
        "What a second ingest of a run marked complete adds before it skips: one listing "
        "(names, sizes, checksums, replica status; pages of 500 on one connection) compared "
        "with the stored manifest. **Against the sandbox**, a Python process on the same "
        "machine, not a real iRODS server (whose PostgreSQL catalog answers at its own speed).\n\n"
        "| objects | check (median of "
        f"{args.repeat}) | per object | storing them first (upload_directory) |\n"
        "|---:|---:|---:|---:|\n"
        f"| {args.objects} | {median:.2f} s | {per:.0f} µs | {upload:.1f} s |\n\n"
        f"Machine: {where}.\n"
    )
    print(text)
    if not args.no_write:
        with DOCS.open("a", encoding="utf-8") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()

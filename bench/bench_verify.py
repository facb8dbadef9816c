"""How long ``rodrunner verify`` and ``rodrunner verify --deep`` take for a 10,000-file run.

One command (``uv run python bench/bench_verify.py [--files N] [--repeat N] [--no-append]``).
Starts an iRODS sandbox in its own process (not a real iRODS server), writes a NovaSeq run of
``--files`` files (4 KiB each) with ``rodrunner.simulate``, stores it as the "Ingest Run" flow
does (its task functions, without Prefect), then times the command line as an operator runs
it, ``--repeat`` times each (median): ``verify RUN_DIR`` (hashes the folder, reads the
manifest, lists every replica) and ``verify RUN_DIR --deep`` (the same, and the server re-reads
every replica from its storage). Appends the result with the machine to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import structlog
import yaml
from common import machine, sandbox_process

from rodrunner.config import get_config
from rodrunner.irods.client import iRODSClient
from rodrunner.manifest import build_manifest
from rodrunner.parsers import parse_run_folder
from rodrunner.plan import make_plan
from rodrunner.profiles import get_profile
from rodrunner.simulate import simulate_run
from rodrunner.tasks.irods import mark_ingesting, tag_run, upload_run, write_manifest

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def store(run_dir: Path, config_file: Path) -> tuple[str, float]:
    """Store the run as an ingest does; its collection and the seconds it took."""
    config = get_config(config_file)
    metadata = parse_run_folder(run_dir)
    stype = metadata.sequencer_type
    plan = make_plan(metadata, config, stype, profile_exclude=get_profile(stype).default_excludes)
    start = time.perf_counter()
    with iRODSClient(config.irods) as client:
        mark_ingesting.fn(client, plan.collection)
        report = upload_run.fn(
            client, run_dir, plan.collection, include=plan.include, exclude=plan.exclude
        )
        if not report.ok:
            raise SystemExit(f"the upload failed: {report.errors[:3]}")
        sizes = {rel: (run_dir / rel).stat().st_size for rel in report.checksums}
        manifest = build_manifest(plan.run_id, sizes, report.checksums)
        write_manifest.fn(client, plan.collection, manifest)
        tag_run.fn(client, plan, manifest)
    return plan.collection, time.perf_counter() - start


def timed_cli(args: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "rodrunner", *args], capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"rodrunner {' '.join(args)} exited {done.returncode}: {done.stdout}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-append", action="store_true", help="do not write docs/")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory(prefix="rodrunner-bench-verify-") as scratch:
        root = Path(scratch)
        run_dir = simulate_run(root / "novaseq", "novaseq", files=args.files, size=args.size)
        files = sum(1 for p in run_dir.rglob("*") if p.is_file())
        with sandbox_process(root / "irods") as server:
            config_file = root / "config.yaml"
            config_file.write_text(
                yaml.safe_dump(
                    {
                        "irods": {
                            "host": server.host,
                            "port": server.port,
                            "password": server.password.get_secret_value(),
                        }
                    }
                )
            )
            collection, stored_s = store(run_dir, config_file)
            print(f"stored {files} files into {collection} in {stored_s:.1f} s", flush=True)
            plain, deep = [], []
            for _ in range(args.repeat):
                plain.append(timed_cli(["verify", str(run_dir), "--config", str(config_file)]))
                deep.append(
                    timed_cli(["verify", str(run_dir), "--deep", "--config", str(config_file)])
                )
                print(f"verify {plain[-1]:.2f} s, verify --deep {deep[-1]:.2f} s", flush=True)
        where = machine(root)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"\n## verify: a {files}-file run against the sandbox ({when})\n\n"
        f"`uv run python bench/bench_verify.py` (`--repeat {args.repeat}`: median): the\n"
        "`rodrunner verify` command line (process start included) on a NovaSeq run of\n"
        f"{args.files} files of {args.size} bytes stored in the iRODS sandbox in its own process\n"
        "(the sandbox's figure, not a real iRODS server's: there each verification is a round\n"
        "trip to the catalog and a read from the resource's storage).\n"
        f"Machine: {where}.\n\n"
        "| command | what it reads | seconds |\n"
        "|---|---|---|\n"
        f"| `verify RUN_DIR` | the folder (SHA-256 of every file), the manifest, one replica "
        f"listing | {statistics.median(plain):.2f} |\n"
        f"| `verify RUN_DIR --deep` | the same, and the server re-reads every replica "
        f"| {statistics.median(deep):.2f} |\n"
    )
    print(section)
    if not args.no_append:
        with DOCS.open("a", encoding="utf-8") as fh:
            fh.write(section)
        print(f"appended to {DOCS}")


if __name__ == "__main__":
    main()

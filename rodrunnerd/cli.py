"""The ``rodrunnerd`` command: run the daemon, or inspect and steer its ledger.

::

    rodrunnerd [--config F]                  run in the foreground until SIGTERM/SIGINT
    rodrunnerd status [--json] [--config F]  every run the ledger knows
    rodrunnerd retry RUN [--config F]        put a failed/ingested/skipped run back in the queue
    rodrunnerd forget RUN [--config F]       drop a run from the ledger

``RUN`` is a run folder or a run id. Exit codes: 0 done, 1 the command failed (unknown run,
ledger trouble), 2 bad usage or configuration. Errors are one line on stderr, no traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import IO

from rodrunner.config import AppConfig, get_config
from rodrunner.config.permissions import secret_file_warning
from rodrunner.errors import ConfigError, RodrunnerError
from rodrunner.ledger.connection import ledger_file
from rodrunner.ledger.records import RunRecord
from rodrunner.ledger.store import Ledger
from rodrunner.names import shown
from rodrunnerd.errors import DaemonError

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    config_help = "configuration file (default: $RODRUNNER_CONFIG, ./config.yaml, /etc/rodrunner)"
    parser = argparse.ArgumentParser(
        prog="rodrunnerd",
        description="Watch the sequencer share and ingest every completed run into iRODS once.",
    )
    parser.add_argument("--config", metavar="F", help=config_help)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="F", default=argparse.SUPPRESS, help=config_help)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    status = commands.add_parser(
        "status", parents=[common], help="list the runs in the ledger with their state"
    )
    status.add_argument("--json", action="store_true", help="a JSON list of objects")
    retry = commands.add_parser(
        "retry",
        parents=[common],
        help="queue a failed, ingested, skipped, conflict or released run again",
    )
    retry.add_argument("run", metavar="RUN", help="run folder or run id")
    forget = commands.add_parser("forget", parents=[common], help="drop a run from the ledger")
    forget.add_argument("run", metavar="RUN", help="run folder or run id")
    keep = commands.add_parser(
        "retention",
        parents=[common],
        help="list which ingested run folders retention would release and why the rest stay",
    )
    keep.add_argument(
        "--dry-run",
        action="store_true",
        required=True,
        help="only report (the one mode: the daemon itself acts)",
    )
    return parser


def _age(seconds: float) -> str:
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def _status_table(records: Sequence[RunRecord], now: float, out: IO[str]) -> None:
    if not records:
        print("no runs in the ledger yet", file=out)
        return
    headers = ("RUN", "TYPE", "STATE", "ATTEMPTS", "AGE", "FLOW RUN", "LAST ERROR")
    rows = [
        (
            shown(r.run_id),
            r.sequencer_type,
            r.state.value,
            str(r.attempts),
            _age(now - r.updated_at),
            r.flow_run_id or "-",
            shown((r.last_error or "-").splitlines()[0])[:80] if r.last_error else "-",
        )
        for r in records
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    for row in (headers, *rows):
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(),
            file=out,
        )


_TIMES = ("created_at", "updated_at", "next_attempt_at", "trigger_mtime")
"""Ledger times (epoch seconds) that ``status --json`` gives as ISO 8601, like the API."""


def _iso(epoch: float | None) -> str | None:
    """ISO 8601 UTC with a ``Z``, as the API writes times; None stays None."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def _status(config: AppConfig, as_json: bool, out: IO[str]) -> int:
    state_dir = config.daemon.state_dir
    if not ledger_file(state_dir).exists():
        print("[]" if as_json else f"no runs: no ledger in '{state_dir}' yet", file=out)
        return EXIT_OK
    with Ledger.open_read_only(state_dir) as ledger:
        records = ledger.list()
    now = time.time()
    if as_json:
        items = []
        for record in records:
            item = record.as_dict()
            for key in _TIMES:
                item[key] = _iso(item[key])
            item["age_seconds"] = round(now - record.updated_at, 3)
            items.append(item)
        json.dump(items, out, indent=2)
        out.write("\n")
    else:
        _status_table(records, now, out)
    return EXIT_OK


def _retry(config: AppConfig, run: str, out: IO[str]) -> int:
    with Ledger.open(config.daemon.state_dir, create=False) as ledger:
        before = ledger.get(run)
        record = ledger.retry(run)
    was = before.state.value if before else "?"
    print(
        f"{shown(record.run_id)}: {was} -> {record.state.value} ({shown(record.run_dir)})",
        file=out,
    )
    return EXIT_OK


def _forget(config: AppConfig, run: str, out: IO[str]) -> int:
    with Ledger.open(config.daemon.state_dir, create=False) as ledger:
        if not ledger.forget(run):
            print(
                f"rodrunnerd: no run '{run}' in the ledger; `rodrunnerd status` lists them",
                file=sys.stderr,
            )
            return EXIT_FAILED
    print(f"{run}: forgotten (the next scan sees the folder as new)", file=out)
    return EXIT_OK


def _retention(config: AppConfig, out: IO[str]) -> int:
    from rodrunnerd import retention
    from rodrunnerd.logs import configure_logging

    configure_logging(config.logging.format, "WARNING", stream=sys.stderr)  # stdout: the list

    state_dir = config.daemon.state_dir
    if not ledger_file(state_dir).exists():
        print(f"no runs: no ledger in '{state_dir}' yet", file=out)
        return EXIT_OK
    with Ledger.open(state_dir, create=False) as ledger:
        report = retention.run_pass(config, ledger, dry_run=True)
    settings = config.retention
    mode = "dry run" if settings.dry_run else "acts"
    print(
        f"retention.action: {settings.action} ({mode}); {len(report.deletable)} of "
        f"{len(report.judged)} ingested run(s) deletable, {report.reclaimable} bytes",
        file=out,
    )
    for line in retention.lines(report, config):
        print(line, file=out)
    return EXIT_OK


def _run_daemon(config: AppConfig) -> int:
    from rodrunnerd.logs import configure_logging

    configure_logging(config.logging.format, config.logging.level)
    try:
        from rodrunnerd import daemon
    except ModuleNotFoundError as exc:
        if exc.name != "rodrunnerd.daemon":
            raise
        print("rodrunnerd: the daemon loop (rodrunnerd.daemon) is not installed", file=sys.stderr)
        return EXIT_FAILED
    result = daemon.run(config)
    return result if isinstance(result, int) else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``rodrunnerd`` command line; returns the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    out = sys.stdout
    try:
        config = get_config(args.config)
    except ConfigError as exc:
        print(f"rodrunnerd: {exc}", file=sys.stderr)
        return EXIT_USAGE
    warning = secret_file_warning(config.source)
    if warning is not None:
        print(f"rodrunnerd: warning: {warning}", file=sys.stderr)
    try:
        if args.command == "status":
            return _status(config, args.json, out)
        if args.command == "retry":
            return _retry(config, args.run, out)
        if args.command == "forget":
            return _forget(config, args.run, out)
        if args.command == "retention":
            return _retention(config, out)
        return _run_daemon(config)
    except ConfigError as exc:
        print(f"rodrunnerd: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (DaemonError, RodrunnerError) as exc:
        print(f"rodrunnerd: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130

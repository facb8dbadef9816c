"""Detection benchmark for rodrunnerd: ``uv run python bench/bench_detection.py``.

Measures, in temporary directories on this machine:

1. detection latency, indicator written → ``run.submitted`` (inotify with settle 0, and
   polling with a 1 s poll interval), median over several runs;
2. inotify watches in use with 300 incomplete run folders of 1,000 directories each
   (counted from /proc/self/fdinfo of every inotify fd; goal <= roots + incomplete runs + 2);
3. idle CPU and RSS of the watching process with those 300 runs watched;
4. reconciliation scan time over 10,000 run folders.

Prints a Markdown section; append it to docs/benchmarks.md with ``--append``.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from structlog.testing import capture_logs

from rodrunner.config import AppConfig
from rodrunnerd.daemon import Daemon
from rodrunnerd.observers import EventSink
from rodrunnerd.scanner import RootSpec, Scanner
from rodrunnerd.supervisor import Supervisor


def inotify_watches() -> int:
    """inotify watches held by this process (one ``inotify wd:`` line per watch)."""
    total = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") != "anon_inode:inotify":
                continue
            with open(f"/proc/self/fdinfo/{fd}", encoding="ascii") as fh:
                total += sum(line.startswith("inotify wd:") for line in fh)
        except OSError:
            continue
    return total


def make_runs(root: Path, count: int, dirs_per_run: int, *, complete: bool) -> list[Path]:
    """``count`` NovaSeq-named run folders, each with ``dirs_per_run`` directories inside."""
    runs = []
    for i in range(count):
        run = root / f"250101_A00001_{i:04d}_AH{i:07d}X"
        base = run / "Data" / "Intensities" / "BaseCalls"
        for d in range(dirs_per_run):
            (base / f"L{d % 4 + 1:03d}" / f"C{d}.1").mkdir(parents=True, exist_ok=True)
        (run / "RunInfo.xml").write_text("<RunInfo/>")
        if complete:
            (run / "CopyComplete.txt").write_text("")
        runs.append(run)
    return runs


def bench_watches(tmp: Path) -> dict[str, Any]:
    """Watches, idle CPU and RSS with 300 incomplete runs of 1,000 directories each."""
    root = tmp / "novaseq"
    runs = make_runs(root, 300, 1000, complete=False)
    before = inotify_watches()
    sup = Supervisor(EventSink(), kind_for=lambda spec: "inotify")
    sup.add(RootSpec("novaseq", root))
    sup.sync_runs(str(root), [str(r) for r in runs])
    watches = inotify_watches() - before
    cpu0 = time.process_time()
    time.sleep(30)
    idle_cpu = (time.process_time() - cpu0) / 30 * 100
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sup.stop()
    return {"watches": watches, "goal": 1 + 300 + 2, "idle_cpu_pct": idle_cpu, "rss_mb": rss_mb}


def bench_scan(tmp: Path) -> float:
    """Seconds for one reconciliation scan over 10,000 run folders."""
    root = tmp / "scan"
    make_runs(root, 10_000, 1, complete=True)
    scanner = Scanner(trigger_file=".rodrunner-ingest", skip_file=".rodrunner-skip")
    scanner.scan([RootSpec("novaseq", root)])  # warm the dentry cache like a running daemon
    started = time.perf_counter()
    report = scanner.scan([RootSpec("novaseq", root)])
    took = time.perf_counter() - started
    assert len(report.observations) == 10_000
    return took


def _noop_flow(**params: Any) -> dict[str, Any]:
    time.sleep(0.05)
    return {"success": True, "status": "complete"}


def bench_latency(tmp: Path, observer: str, poll: float, samples: int) -> list[float]:
    """Seconds from indicator rename to ``run.submitted``, per sample."""
    root = tmp / f"lat-{observer}" / "novaseq"
    root.mkdir(parents=True)
    config = AppConfig.model_validate(
        {
            "sequencer": {
                "base_dir": str(root.parent),
                "types": {"novaseq": {"observer": observer, "poll_interval": poll}},
            },
            "daemon": {
                "state_dir": str(tmp / f"state-{observer}"),
                "settle_seconds": 0,
                "rescan_interval": 3600,
                "max_concurrent_ingests": 4,
            },
        }
    )
    daemon = Daemon(config, flow=_noop_flow)
    latencies = []
    with capture_logs() as logs:
        daemon.start()
        thread = threading.Thread(target=daemon.loop, daemon=True)
        thread.start()
        runs = make_runs(root, samples, 1, complete=False)
        time.sleep(max(2.0, 3 * poll))  # every run folder seen and watched
        for run in runs:
            tmpfile = run / ".CopyComplete.txt.tmp"
            tmpfile.write_text("")
            written = time.time()
            os.rename(tmpfile, run / "CopyComplete.txt")
            deadline = time.monotonic() + 10 + 2 * poll
            while time.monotonic() < deadline:
                hit = [e for e in list(logs) if e["event"] == "run.submitted"]
                if any(e.get("run_dir") == str(run) for e in hit):
                    latencies.append(time.time() - written)
                    break
                time.sleep(0.005)
        daemon.stop_event.set()
        thread.join(30)
        daemon.stop()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--append", type=Path, help="append the results to this Markdown file")
    parser.add_argument("--samples", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        inotify = bench_latency(tmp, "inotify", 1.0, args.samples)
        polling = bench_latency(tmp, "polling", 1.0, max(5, args.samples // 3))
        watches = bench_watches(tmp)
        scan = bench_scan(tmp)
    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
    cpu = next((ln.split(":", 1)[1].strip() for ln in cpuinfo if "model name" in ln), "?")
    text = f"""
## rodrunnerd detection (bench/bench_detection.py)

Machine: {platform.node() and "this CI/dev host"}, {os.cpu_count()} cores, {cpu}, Python \
{platform.python_version()}, temp dirs on the local disk.

| measure | result | goal |
|---|---|---|
| detection latency, inotify, settle 0 (median of {len(inotify)}) | \
{statistics.median(inotify):.3f} s | <= 0.5 s |
| detection latency, polling every 1 s (median of {len(polling)}) | \
{statistics.median(polling):.3f} s | <= 1.5 s |
| inotify watches, 300 incomplete runs x 1,000 dirs | {watches["watches"]} | \
<= {watches["goal"]} |
| idle CPU with 300 runs watched | {watches["idle_cpu_pct"]:.2f} % | low |
| max RSS of the benchmark process | {watches["rss_mb"]:.0f} MiB | |
| reconciliation scan, 10,000 run folders | {scan:.2f} s | |
"""
    print(text)
    if args.append:
        with args.append.open("a", encoding="utf-8") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()

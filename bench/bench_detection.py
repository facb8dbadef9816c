"""Detection benchmark for rodrunnerd: ``uv run python bench/bench_detection.py``.

Measures, in temporary directories on this machine:

1. detection latency, indicator written → ``run.submitted`` (inotify with settle 0, and
   polling with a 1 s poll interval), median over several runs;
2. inotify watches in use by a daemon watching 300 incomplete run folders of 1,000
   directories each (counted from /proc/self/fdinfo of every inotify fd; goal <= roots +
   incomplete runs + 2);
3. idle CPU (over 30 s) and RSS of that daemon's process;
4. reconciliation scan time over 10,000 run folders.

The daemons here run the real loop, ledger, scanner and observers with the embedded submitter;
the "flow" is a no-op and Prefect is not contacted (detection is measured, not Prefect), but
the ingest flow module is imported so the RSS includes what a real daemon loads.
Prints a Markdown section; append it to docs/benchmarks.md with ``--append``.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from structlog.testing import capture_logs

import rodrunner.flowruns.embedded
from rodrunner.config import AppConfig
from rodrunnerd.daemon import Daemon
from rodrunnerd.scanner import RootSpec, Scanner
from rodrunnerd.sdnotify import Notifier

# No flow run reaches Prefect here, so the embedded submitter need not start Prefect's
# temporary server (a subprocess this benchmark would have to clean up).
rodrunner.flowruns.embedded.warm_up = lambda attempts=3: True


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


def rss_mib() -> float:
    """VmRSS of this process in MiB."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class _Done:
    """What the embedded submitter reads from a finished flow run's state."""

    def result(self, raise_on_failure: bool = False) -> dict[str, Any]:
        return {"success": True, "status": "complete"}

    def is_completed(self) -> bool:
        return True


def _noop_flow(**params: Any) -> _Done:
    time.sleep(0.05)
    return _Done()


def _config(tmp: Path, name: str, root: Path, observer: str, poll: float) -> AppConfig:
    return AppConfig.model_validate(
        {
            "sequencer": {
                "base_dir": str(root.parent),
                "types": {"novaseq": {"observer": observer, "poll_interval": poll}},
            },
            "daemon": {
                "state_dir": str(tmp / f"state-{name}"),
                "settle_seconds": 0,
                "rescan_interval": 3600,
                "max_concurrent_ingests": 4,
            },
            # No flow run reaches Prefect here: no local Prefect server either.
            "prefect": {"local_server": False},
        }
    )


def bench_watches(tmp: Path, idle_seconds: float = 30.0) -> dict[str, Any]:
    """A daemon watching 300 incomplete runs of 1,000 directories: watches, idle CPU, RSS."""
    rodrunner.flowruns.embedded.load_ingest_flow()  # what a real embedded daemon imports
    root = tmp / "watch" / "novaseq"
    make_runs(root, 300, 1000, complete=False)
    before = inotify_watches()
    daemon = Daemon(
        _config(tmp, "watch", root, "inotify", 1.0), flow=_noop_flow, notifier=Notifier(None)
    )
    with capture_logs():
        daemon.start()
        thread = threading.Thread(target=daemon.loop, daemon=True)
        thread.start()
        time.sleep(5)  # past start-up
        watches = inotify_watches() - before
        cpu0, wall0 = time.process_time(), time.monotonic()
        time.sleep(idle_seconds)
        idle_cpu = (time.process_time() - cpu0) / (time.monotonic() - wall0) * 100
        rss = rss_mib()
        daemon.stop_event.set()
        thread.join(30)
        daemon.stop()
    return {"watches": watches, "goal": 1 + 300 + 2, "idle_cpu_pct": idle_cpu, "rss_mb": rss}


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


def bench_latency(tmp: Path, observer: str, poll: float, samples: int) -> list[float]:
    """Seconds from indicator rename to ``run.submitted``, per sample (each sample written
    at a random moment: for polling, a random phase of the poll cycle)."""
    root = tmp / f"lat-{observer}" / "novaseq"
    root.mkdir(parents=True)
    config = _config(tmp, observer, root, observer, poll)
    daemon = Daemon(config, flow=_noop_flow, notifier=Notifier(None))
    latencies = []
    with capture_logs() as logs:
        daemon.start()
        thread = threading.Thread(target=daemon.loop, daemon=True)
        thread.start()
        runs = make_runs(root, samples, 1, complete=False)
        time.sleep(max(2.0, 3 * poll))  # every run folder seen and watched
        for run in runs:
            # A random phase of the poll cycle (writing right after a detection would always
            # land just after a snapshot: the worst case every time).
            time.sleep(random.uniform(0, poll if observer == "polling" else 0.2))
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
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        watches = bench_watches(tmp)  # first: the RSS is the daemon's, not earlier benches'
        inotify = bench_latency(tmp, "inotify", 1.0, args.samples)
        polling = bench_latency(tmp, "polling", 1.0, max(5, args.samples // 3))
        scan = bench_scan(tmp)
    load_after = os.getloadavg()
    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
    cpu = next((ln.split(":", 1)[1].strip() for ln in cpuinfo if "model name" in ln), "?")
    loads = ", ".join(f"{x:.2f}" for x in load_before)
    loads_after = ", ".join(f"{x:.2f}" for x in load_after)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    text = f"""
## rodrunnerd detection ({stamp})

`uv run python bench/bench_detection.py` (in-process daemons: real loop, ledger, scanner,
watchdog observers, embedded submitter with a no-op flow; temp dirs on the local disk).
Machine: {os.cpu_count()} CPUs (nproc), {cpu}, Linux {platform.release()}, Python \
{platform.python_version()}; load average (1, 5, 15 min) {loads} at the start, {loads_after} at
the end.

| measure | result | goal |
|---|---|---|
| detection latency, inotify, settle 0 (median of {len(inotify)}; max {max(inotify):.3f} s) | \
{statistics.median(inotify):.3f} s | <= 0.5 s |
| detection latency, polling every 1 s (median of {len(polling)}; max {max(polling):.3f} s) | \
{statistics.median(polling):.3f} s | <= 1.5 s |
| inotify watches, 1 root + 300 incomplete runs x 1,000 dirs | {watches["watches"]} | \
<= {watches["goal"]} |
| idle CPU of the daemon with 300 runs watched (30 s) | {watches["idle_cpu_pct"]:.2f} % | |
| RSS of the daemon with 300 runs watched | {watches["rss_mb"]:.0f} MiB | |
| reconciliation scan, 10,000 run folders (warm cache) | {scan:.2f} s | |
"""
    print(text)
    if args.append:
        with args.append.open("a", encoding="utf-8") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()

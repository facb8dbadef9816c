"""Start-up and idle benchmark: ``uv run python bench/bench_startup.py [--append]``.

Measures, in temporary directories on this machine, with no PREFECT_API_URL set (the
out-of-the-box case):

1. the wall time from starting ``rodrunner ingest RUN`` to the first byte of the run reaching
   the iRODS sandbox (the first file appearing in its vault; the sandbox runs in its own
   process over TCP), for the first call on a fresh state directory and for the calls after it
   (median), and each call's total wall time;
2. the idle CPU of the daemon's whole process tree (``rodrunnerd`` with the embedded sandbox,
   its Prefect server, 300 incomplete runs watched), over ``--idle-seconds`` after it said
   ``daemon.ready`` and settled, from /proc (utime + stime of every process).

``--code DIR`` runs the commands from another checkout of the project (DIR first on
PYTHONPATH), which is how the "before" figures are taken. The commands run from compiled
bytecode, as an installed program does (a first untimed import writes it when missing).
Prints a Markdown section; append it to docs/benchmarks.md with ``--append``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine, sandbox_process
from rodrunner.simulate import simulate_run

TICKS = os.sysconf("SC_CLK_TCK")


def _env(tmp: Path, code: Path | None) -> dict[str, str]:
    """The environment of the commands measured (run with the working directory ``tmp``)."""
    env = {**os.environ, "PREFECT_HOME": str(tmp / "prefect-home"), "PYTHONUNBUFFERED": "1"}
    # An installed program runs from compiled bytecode (pip and uv compile it, or Python writes
    # it on first import); without it every call compiles ~1,500 modules (2.5 s of CPU here).
    for key in ("PREFECT_API_URL", "RODRUNNER_CONFIG", "NOTIFY_SOCKET", "PYTHONDONTWRITEBYTECODE"):
        env.pop(key, None)
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(code), env.get("PYTHONPATH", "")]).rstrip(":")
    warm = "import rodrunner.cli.ingest, rodrunner.workflows.ingest, rodrunnerd.daemon"
    subprocess.run([sys.executable, "-c", warm], env=env, cwd=tmp, check=True)
    return env


def _first_file(vault: Path) -> bool:
    return any(files for _dirpath, _dirs, files in os.walk(vault))


def first_byte(runs: int, files: int, code: Path | None) -> list[dict[str, Any]]:
    """Time ``rodrunner ingest`` start → first byte in the vault, ``runs`` times, fresh state."""
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as name:
        tmp = Path(name)
        env = _env(tmp, code)
        for i in range(runs):
            with sandbox_process(tmp / f"irods-{i}") as server:
                env["RODRUNNER_IRODS__PASSWORD"] = server.password.get_secret_value()
                config = tmp / "config.yaml"
                config.write_text(
                    json.dumps(
                        {
                            "irods": {"host": server.host, "port": server.port},
                            "daemon": {"state_dir": str(tmp / "state")},
                            "logging": {"format": "json"},
                        }
                    ),
                    encoding="utf-8",
                )
                run = simulate_run(tmp / "roots" / "novaseq", "novaseq", files=files, seed=i)
                vault = tmp / f"irods-{i}" / "vault"
                command = [sys.executable, "-m", "rodrunner", "ingest", str(run)]
                command += ["--type", "novaseq", "--config", str(config)]
                start = time.monotonic()
                proc = subprocess.Popen(
                    command, env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
                )
                first = cpu = None
                while proc.poll() is None:
                    if first is None and _first_file(vault):
                        first = time.monotonic() - start
                        cpu = _cpu_seconds({proc.pid}).get(proc.pid)
                    time.sleep(0.01)
                total = time.monotonic() - start
                stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                if proc.returncode != 0 or first is None:
                    lines = stderr.strip().splitlines() or ["?"]
                    reason = next((ln for ln in reversed(lines) if "Error" in ln), lines[-1])
                    reason = reason[:200]
                    print(f"call {i + 1}: FAILED after {total:.2f} s: {reason}", flush=True)
                    results.append({"first_byte": None, "total": total, "error": reason})
                    continue
                results.append({"first_byte": first, "total": total, "cpu": cpu})
                print(
                    f"call {i + 1}: first byte {first:.2f} s (CPU {cpu} s), total {total:.2f} s",
                    flush=True,
                )
        _stop_local_server(tmp / "state", env)
    return results


def _stop_local_server(state_dir: Path, env: dict[str, str]) -> None:
    """Stop the local Prefect server of ``state_dir`` if the code under test started one."""
    if (state_dir / "prefect-server").is_dir():
        code = "from rodrunner.localprefect import stop_server; import sys; "
        code += "stop_server(__import__('pathlib').Path(sys.argv[1]))"
        subprocess.run(
            [sys.executable, "-c", code, str(state_dir / "prefect-server")],
            env=env,
            cwd=state_dir,
            check=False,
            capture_output=True,
        )


def _tree(pid: int) -> set[int]:
    """``pid`` and every descendant (from /proc/*/task/*/children)."""
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        if current in found:
            continue
        found.add(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                text = Path(f"/proc/{current}/task/{task}/children").read_text()
            except OSError:
                continue
            todo.extend(int(c) for c in text.split())
    return found


def _cpu_seconds(pids: set[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / TICKS
    return out


def idle_cpu(seconds: float, watched: int, code: Path | None) -> dict[str, Any]:
    """The daemon's whole tree (and its local Prefect server) idle with ``watched`` runs."""
    with tempfile.TemporaryDirectory(prefix="bench-idle-") as name:
        tmp = Path(name)
        env = _env(tmp, code)
        root = tmp / "roots" / "novaseq"
        for i in range(watched):
            simulate_run(root, "novaseq", files=2, complete=False, seed=i)
        config = tmp / "config.yaml"
        config.write_text(
            json.dumps(
                {
                    "irods": {"sandbox": str(tmp / "irods")},
                    "sequencer": {"base_dir": str(tmp / "roots"), "types": {"novaseq": {}}},
                    "daemon": {"state_dir": str(tmp / "state"), "rescan_interval": 300},
                    "logging": {"format": "json"},
                }
            ),
            encoding="utf-8",
        )
        daemon = subprocess.Popen(
            [sys.executable, "-m", "rodrunnerd", "--config", str(config)],
            env=env,
            cwd=tmp,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            assert daemon.stdout is not None
            for line in daemon.stdout:
                if "daemon.ready" in line:
                    break
            else:
                raise SystemExit("the daemon exited before daemon.ready")
            time.sleep(20)  # let start-up work (first scan, Prefect's own start) settle
            state = tmp / "state" / "prefect-server" / "server.json"
            server = json.loads(state.read_text())["pid"] if state.exists() else None

            def pids() -> set[int]:
                tree = _tree(daemon.pid)
                return tree | _tree(server) if server else tree

            before, wall0 = _cpu_seconds(pids()), time.monotonic()
            time.sleep(seconds)
            after, wall = _cpu_seconds(pids()), time.monotonic() - wall0
            used = sum(after[p] - before.get(p, 0.0) for p in after)
            alone = after.get(daemon.pid, 0.0) - before.get(daemon.pid, 0.0)
            return {
                "tree_pct": used / wall * 100,
                "daemon_pct": alone / wall * 100,
                "processes": len(after),
            }
        finally:
            daemon.terminate()
            daemon.wait(120)
            _stop_local_server(tmp / "state", env)


def _call(call: dict[str, Any]) -> str:
    if call["first_byte"] is None:
        return f"failed after {call['total']:.2f} s: {call['error']}"
    return (
        f"{call['first_byte']:.2f} s, {call['cpu']:.2f} s of it CPU of the command "
        f"(exit after {call['total']:.2f} s)"
    )


def _later(calls: list[dict[str, Any]]) -> str:
    ok = [c["first_byte"] for c in calls if c["first_byte"] is not None]
    failed = len(calls) - len(ok)
    text = ", ".join(f"{c['first_byte']:.2f}" if c["first_byte"] else "failed" for c in calls)
    if not ok:
        return f"all {len(calls)} failed ({calls[0]['error'] if calls else ''})"
    median = statistics.median(ok)
    cpu = statistics.median(c["cpu"] for c in calls if c["first_byte"] is not None)
    return f"median {median:.2f} s ({text} s; {failed} failed); CPU of the command {cpu:.2f} s"


def main() -> None:
    """Run both measurements and print (or append) the Markdown section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=4, help="ingest calls (the first is cold)")
    parser.add_argument("--files", type=int, default=20, help="files per run")
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--watched", type=int, default=300)
    parser.add_argument("--no-idle", action="store_true", help="only the start-up times")
    parser.add_argument("--code", type=Path, help="run another checkout's code (before/after)")
    parser.add_argument("--label", default="this tree")
    parser.add_argument("--append", action="store_true", help="append to docs/benchmarks.md")
    args = parser.parse_args()
    calls = first_byte(args.calls, args.files, args.code)
    idle = None if args.no_idle else idle_cpu(args.idle_seconds, args.watched, args.code)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = f"""
### Start-up and idle: {args.label} ({when})

Machine: {machine(Path(tempfile.gettempdir()))}. No PREFECT_API_URL; `rodrunner ingest` of a
{args.files}-file NovaSeq run against the sandbox in its own process, a fresh run each call.

| measure | value |
|---|---|
| first call: start → first byte sent | {_call(calls[0])} |
| later calls: start → first byte sent | {_later(calls[1:])} |
"""
    if idle is not None:
        tree = (
            f"{args.watched} runs watched, {args.idle_seconds:.0f} s, {idle['processes']} processes"
        )
        text += (
            f"| idle CPU of the daemon's process tree ({tree}) "
            f"| {idle['tree_pct']:.2f} % of a core |\n"
            f"| idle CPU of the daemon process alone | {idle['daemon_pct']:.2f} % of a core |\n"
        )
    print(text)
    if args.append:
        docs = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
        with docs.open("a", encoding="utf-8") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()

"""The real daemon as a child process, for the end-to-end and reliability tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def wait_for(predicate: Callable[[], bool], timeout: float, what: str = "") -> None:
    """Poll ``predicate`` until it holds; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    assert predicate(), f"timed out after {timeout:.0f} s waiting for {what}"


class DaemonProcess:
    """``python -m rodrunnerd --config F`` in its own process group, output kept line by line."""

    def __init__(self, config: Path, env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rodrunnerd", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            env=env,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        """The JSON log events printed so far (only ``name`` when given)."""
        out = []
        for line in list(self.lines):
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and (name is None or event.get("event") == name):
                out.append(event)
        return out

    def saw(self, *needles: str) -> bool:
        """Whether one output line contains every needle."""
        return any(all(n in line for n in needles) for line in list(self.lines))

    def count(self, *needles: str) -> int:
        """Output lines containing every needle."""
        return sum(all(n in line for n in needles) for line in list(self.lines))

    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.proc.poll() is None

    def peak_rss_kib(self) -> int | None:
        """VmHWM (peak resident set) of the live process, in KiB."""
        return _proc_status_kib(self.proc.pid, "VmHWM")

    def rss_kib(self) -> int | None:
        """VmRSS of the live process, in KiB."""
        return _proc_status_kib(self.proc.pid, "VmRSS")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 120) -> int:
        """Send ``sig`` and wait for the exit code.

        SIGKILL goes to the whole process group, as systemd kills a service's cgroup. The
        local Prefect server runs in its own session and outlives a SIGKILLed daemon: the
        caller stops it (``rodrunner.localprefect.stop_server``).
        """
        if self.proc.poll() is None:
            if sig == signal.SIGKILL:
                os.killpg(self.proc.pid, signal.SIGKILL)
            else:
                self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self._reader.join(10)
            if self.proc.stdout is not None and not self._reader.is_alive():
                self.proc.stdout.close()

    def output(self, last: int = 200) -> str:
        """The last lines the daemon printed (for assertion messages)."""
        return "".join(self.lines[-last:])


def _proc_status_kib(pid: int, key: str) -> int | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None

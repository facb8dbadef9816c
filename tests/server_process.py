"""A server command (``rodrunner api``, ``rodrunner sandbox``) as a child process whose memory
the hostile-input tests read from /proc."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

from tests.daemon_process import wait_for


def free_port() -> int:
    """A TCP port nobody listens on right now (on 127.0.0.1)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class ServerProcess:
    """``python -m rodrunner <args>`` in its own process group, its output kept."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rodrunner", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            env=env if env is not None else dict(os.environ),
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_listening(self, port: int, timeout: float = 180) -> None:
        """Wait until the server accepts connections on ``port`` (fail if it exits)."""
        wait_for(
            lambda: self.proc.poll() is not None or port_open(port),
            timeout,
            f"a server on port {port}",
        )
        assert self.proc.poll() is None, f"the server exited: {self.output()}"

    def status_kib(self, key: str) -> int:
        """A memory figure of /proc/<pid>/status (VmRSS, VmHWM), in KiB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        raise AssertionError(f"no {key} in /proc/{self.proc.pid}/status")

    def reset_peak(self) -> int:
        """Reset VmHWM to the present resident set (Linux ``clear_refs`` 5); that figure."""
        Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")
        return self.status_kib("VmHWM")

    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.proc.poll() is None

    def output(self, last: int = 60) -> str:
        """The last lines it printed."""
        return "".join(self.lines[-last:])

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, then SIGKILL to the group after ``timeout``; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(timeout)
        finally:
            self._reader.join(10)
            if self.proc.stdout is not None and not self._reader.is_alive():
                self.proc.stdout.close()

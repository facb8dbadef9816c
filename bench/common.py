"""What the benchmarks share: a description of the machine and the sandbox in its own process."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr


def machine(where: Path) -> str:
    """nproc, CPU model, kernel, Python, the file system of ``where`` and the load average."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    disk = "unknown"
    try:
        out = subprocess.run(["df", "-T", str(where)], capture_output=True, text=True, check=True)
        fields = out.stdout.splitlines()[-1].split()
        disk = f"{fields[1]} ({fields[0]})"
    except (OSError, subprocess.CalledProcessError, IndexError):
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} CPUs (nproc; {cpu}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, files on {disk}, load average {load} at the end"
    )


@dataclass(frozen=True)
class Server:
    """How to reach a sandbox started by :func:`sandbox_process`."""

    host: str
    port: int
    zone: str = "tempZone"
    user: str = "rods"
    password: SecretStr = SecretStr("rods")  # noqa: RUF009 - immutable, the sandbox default
    pid: int = 0


@contextlib.contextmanager
def sandbox_process(root: Path) -> Iterator[Server]:
    """The sandbox in its own process (as a real server would be), on a free port."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "rodrunner", "sandbox", "--port", "0", "--root", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"listening on ([^:\s]+):(\d+)", line)
        if not found:
            raise SystemExit(f"the sandbox did not start: {line!r}")
        yield Server(found.group(1), int(found.group(2)), pid=proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)

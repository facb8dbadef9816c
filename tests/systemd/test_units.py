"""The systemd units and the install script."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted((ROOT / "systemd").glob("*.service"))
ANALYZE = shutil.which("systemd-analyze")

needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")


def _runnable_copy(unit: Path, tmp_path: Path) -> Path:
    """The unit with /opt/rodrunner/venv/bin/X pointed at this environment's X."""
    bindir = Path(sys.executable).parent
    text = re.sub(
        r"/opt/rodrunner/venv/bin/([a-z-]+)",
        lambda m: str(bindir / m.group(1)) if (bindir / m.group(1)).exists() else "/bin/true",
        unit.read_text(),
    )
    copy = tmp_path / unit.name
    copy.write_text(text)
    return copy


def test_every_expected_unit_is_shipped() -> None:
    """The daemon, runner, API and Prefect server units are all in systemd/."""
    assert {u.name for u in UNITS} >= {
        "rodrunnerd.service",
        "rodrunner-runner.service",
        "rodrunner-api.service",
        "prefect-server.service",
    }


@needs_analyze
@pytest.mark.parametrize("unit", UNITS, ids=[u.name for u in UNITS])
def test_unit_verifies(unit: Path, tmp_path: Path) -> None:
    """systemd-analyze verify reports nothing for the unit."""
    copy = _runnable_copy(unit, tmp_path)
    result = subprocess.run(
        [ANALYZE or "systemd-analyze", "verify", str(copy)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


@needs_analyze
def test_daemon_exposure_is_at_most_two(tmp_path: Path) -> None:
    """systemd-analyze security rates rodrunnerd.service at exposure <= 2.0."""
    copy = _runnable_copy(ROOT / "systemd" / "rodrunnerd.service", tmp_path)
    result = subprocess.run(
        [ANALYZE or "systemd-analyze", "security", "--offline=yes", str(copy)],
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.0


def test_daemon_unit_is_notify_with_watchdog() -> None:
    """rodrunnerd.service waits for READY=1 and is watched by the service manager."""
    text = (ROOT / "systemd" / "rodrunnerd.service").read_text()
    for line in (
        "Type=notify",
        "NotifyAccess=main",
        "Restart=on-failure",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=",
        "SystemCallFilter=@system-service",
        "MemoryDenyWriteExecute=yes",
    ):
        assert re.search(rf"^{re.escape(line)}$", text, re.MULTILINE), line
    assert re.search(r"^WatchdogSec=\d+", text, re.MULTILINE)
    assert re.search(r"^ReadOnlyPaths=", text, re.MULTILINE)


def test_install_script_stages_the_layout(tmp_path: Path) -> None:
    """scripts/install.sh lays out units, snippets, docs and a 0640 config under DESTDIR."""
    env = {**os.environ, "DESTDIR": str(tmp_path), "SKIP_VENV": "1"}
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "install.sh")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    config = tmp_path / "etc/rodrunner/config.yaml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o640
    for unit in UNITS:
        assert (tmp_path / "etc/systemd/system" / unit.name).is_file()
    assert (tmp_path / "usr/lib/sysusers.d/rodrunner.conf").is_file()
    assert (tmp_path / "usr/lib/tmpfiles.d/rodrunner.conf").is_file()
    assert (tmp_path / "opt/rodrunner/docs").is_dir()
    # A second run keeps an operator's edited configuration.
    config.write_text("# edited\n")
    subprocess.run(
        ["bash", str(ROOT / "scripts" / "install.sh")], env=env, check=True, capture_output=True
    )
    assert config.read_text() == "# edited\n"

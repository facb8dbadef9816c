"""The ``rodrunner`` command loads only what the command being run needs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rodrunner.cli import COMMAND_MODULES, COMMANDS


def test_help_lists_every_command() -> None:
    """``rodrunner --help`` registers every command module and names every command (in a
    process of its own: importing every command loads Prefect, whose log handlers would keep
    this test's captured stream)."""
    done = subprocess.run(
        [sys.executable, "-m", "rodrunner", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    for command in COMMANDS:
        assert command in done.stdout


@pytest.mark.parametrize("module", COMMAND_MODULES)
def test_each_command_module_registers(module: str) -> None:
    """Each command module named in the table imports and registers its commands."""
    from rodrunner.cli import _load

    assert callable(_load(module).register)


def test_unknown_module_is_refused() -> None:
    """A module name outside the table is a KeyError, not an arbitrary import."""
    from rodrunner.cli import _load

    with pytest.raises(KeyError):
        _load("os")


def test_scan_does_not_load_prefect() -> None:
    """``rodrunner scan --help`` imports the scan command alone: Prefect is not loaded."""
    code = (
        "import sys\n"
        "from rodrunner.cli import main\n"
        "rc = main(['scan', '--help'])\n"
        "print('prefect' in sys.modules, rc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split()[-2:] == ["False", "0"]

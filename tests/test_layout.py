"""The layout of the two packages: no module grows past the size a reader takes in at once."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("rodrunner", "rodrunnerd")
MAX_LINES = 400


def _sizes() -> dict[str, int]:
    return {
        path.relative_to(ROOT).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def test_no_module_is_longer_than_400_lines() -> None:
    """Every module of rodrunner and rodrunnerd has at most 400 lines."""
    too_long = {name: lines for name, lines in _sizes().items() if lines > MAX_LINES}
    assert not too_long, f"modules over {MAX_LINES} lines: {too_long}; split each along its seams"


def test_the_size_check_sees_every_package() -> None:
    """The check reads both packages' modules (a wrong root would pass with nothing to read)."""
    names = _sizes()
    assert "rodrunner/irods/client.py" in names
    assert "rodrunnerd/daemon.py" in names

"""Helpers for the parser tests: the real run-folder metadata files in tests/data/runs."""

from __future__ import annotations

from pathlib import Path

RUNS = Path(__file__).resolve().parents[2] / "data" / "runs"


def fixture_files(pattern: str) -> list[Path]:
    """Every real fixture file whose name matches ``pattern`` (case-insensitive), sorted."""
    wanted = pattern.lower()
    return sorted(
        p for p in RUNS.glob("*/*/*") if p.is_file() and Path(p.name.lower()).match(wanted)
    )


def folder_files(folder: str) -> dict[str, bytes]:
    """All files of one fixture run folder (``family/name``), name -> bytes."""
    return {p.name: p.read_bytes() for p in sorted((RUNS / folder).iterdir()) if p.is_file()}


def file_id(path: Path) -> str:
    """A short test id: family/folder/file."""
    return "/".join(path.parts[-3:])

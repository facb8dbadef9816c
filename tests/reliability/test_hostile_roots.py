"""Hostile entries at the TOP of a sequencer root, against the real daemon process.

Names the filesystem allows but text does not (non-UTF-8 bytes, a newline, 255 bytes), a
symlink loop, a symlink to a run folder outside the root: each is a problem of that entry
only. The daemon keeps running, the other runs of the root are ingested, the ledger keeps the
entry losslessly with the reason, and ``rodrunnerd status`` / ``rodrunner scan`` show it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from rodrunner.simulate import simulate_run
from tests.daemon_process import DaemonProcess
from tests.reliability.harness import Share, audit, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def miseq_run(root: Path, n: int) -> Path:
    """A complete MiSeq run whose run id is made unique by ``n``."""
    run_id = f"250402_M04034_{n:04d}_000000000-C{n:04d}"
    return simulate_run(root, "miseq", run_id=run_id, seed=n, files=4, size=200)


def rename(run: Path, name: bytes) -> str:
    """Rename ``run`` to the raw file name ``name`` in the same folder; the new path."""
    target = os.path.join(os.fsencode(run.parent), name)
    os.rename(os.fsencode(run), target)
    return os.fsdecode(target)


def test_hostile_names_and_links_at_the_top_of_a_root(share: Share, tmp_path: Path) -> None:
    """A non-UTF-8 folder name, a symlink loop and a symlink out of the root are problems of
    those entries only: the daemon lives, the good runs (a newline and a 255-byte name among
    them) are ingested, the ledger and both status commands show the bad ones."""
    share.configure(["miseq"], max_attempts=1)
    root = share.roots / "miseq"
    good = miseq_run(root, 1)
    non_utf8 = rename(miseq_run(root, 2), b"250402_M04034_0002_caf\xe9")
    newline = rename(miseq_run(root, 3), b"250402_M04034_0003_two\nlines")
    long_name = rename(miseq_run(root, 4), b"250402_M04034_0004_" + b"x" * 236)
    assert len(os.fsencode(os.path.basename(long_name))) == 255
    (root / "loop-a").symlink_to(root / "loop-b")
    (root / "loop-b").symlink_to(root / "loop-a")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    outside = miseq_run(elsewhere, 5)
    (root / outside.name).symlink_to(outside)

    daemon = share.start()
    ingested = [
        ("miseq", good),
        ("miseq", Path(newline).with_name("250402_M04034_0003_000000000-C0003")),
        ("miseq", Path(long_name).with_name("250402_M04034_0004_000000000-C0004")),
    ]
    for _, run in ingested:
        share.wait_complete([("miseq", run)], timeout=300)
    wait_for(lambda: daemon.count('"scan.completed"') >= 1, 60, "a scan")
    assert daemon.alive(), daemon.output()
    assert not daemon.saw('"scan.root_failed"'), daemon.output()
    assert not share.session.collections.exists(share.collection("miseq", outside.name))

    records = {r["run_dir"]: r for r in share.ledger()}
    for bad, why in (
        (non_utf8, "not valid UTF-8"),
        (str(root / "loop-a"), "symlink loop"),
        (str(root / outside.name), "outside the sequencer root"),
    ):
        assert bad in records, f"{bad!r} not in the ledger: {sorted(records)}"
        assert records[bad]["state"] == "seen", records[bad]
        assert why in (records[bad]["last_error"] or ""), records[bad]
    problems = [e for e in daemon.events("run.problem") if "caf" in str(e.get("run_dir"))]
    assert problems, daemon.events("run.problem")
    assert "caf\\xe9" in problems[0]["run_dir"], problems

    table = share.rodrunnerd("status")
    assert table.returncode == 0, table.stderr
    assert "caf\\xe9" in table.stdout, table.stdout
    assert "not valid UTF-8" in table.stdout, table.stdout
    scan = subprocess.run(
        [sys.executable, "-m", "rodrunner", "scan", "--config", str(share.config_path)],
        capture_output=True,
        text=True,
        env=share.env,
        timeout=120,
        check=False,
    )
    assert scan.returncode == 0, scan.stderr
    assert "caf\\xe9" in scan.stdout, scan.stdout
    assert "loop-a" in scan.stdout, scan.stdout
    listed = subprocess.run(
        [sys.executable, "-m", "rodrunner", "scan", "--json", "--config", str(share.config_path)],
        capture_output=True,
        env=share.env,
        timeout=120,
        check=False,
    )
    entries = {os.fsencode(e["run_dir"]): e for e in json.loads(listed.stdout)}
    assert entries[os.fsencode(non_utf8)]["state"] == "problem", entries

    assert daemon.stop() == 0, daemon.output()
    audit(share, [("miseq", good)])


def test_a_second_daemon_on_one_state_directory_exits_2(share: Share) -> None:
    """While one daemon ingests, a second on the same configuration exits 2 naming the holder
    (PID, host) and the fix, before it touches the ledger: no run is resumed or sent twice."""
    share.configure(["miseq"])
    root = share.roots / "miseq"
    first = share.start()
    run = simulate_run(root, "miseq", run_id="250402_M04034_0100_000000000-D0100", files=300)
    wait_for(lambda: first.saw('"irods.upload_started"', run.name), 180, "the upload")

    second = DaemonProcess(share.config_path, share.env)
    share.lives.append(second)
    wait_for(lambda: not second.alive(), 120, "the second daemon to exit")
    assert second.stop() == 2, second.output()
    said = second.output()
    assert f"pid {first.proc.pid}" in said, said
    assert socket.gethostname() in said, said
    assert "run.resumed" not in said, said

    share.wait_complete([("miseq", run)], timeout=300)
    assert first.stop() == 0, first.output()
    assert share.ingest_events("ingest.complete", run.name) == 1, first.output()
    audit(share, [("miseq", run)])

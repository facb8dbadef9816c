"""Two run folders with one run id, against the real daemon process and the sandbox over TCP.

Collections are named from the RunInfo run id. A second folder with the same run id (a re-run
copy, a re-demultiplexed folder) must never be merged into the first one's collection: it is
held as ``conflict`` naming both folders, iRODS unchanged, until an operator resolves it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rodrunner.simulate import simulate_run
from tests.reliability.harness import Share, irods_sha256, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

RUN_ID = "250403_M04034_0200_000000000-E0200"
SOURCE_DIR = "rodrunner::source_dir"


def avu(share: Share, collection: str, attr: str) -> list[str]:
    """The values of ``attr`` on ``collection``."""
    return [a.value for a in share.session.collections.get(collection).metadata.get_all(attr)]


def stored_sha256(share: Share, path: str) -> str | None:
    """The server checksum of the data object ``path`` as hex."""
    return irods_sha256(share.session.data_objects.get(path).checksum)


def test_a_second_folder_with_the_same_run_id_is_held_as_a_conflict(
    share: Share, tmp_path: Path
) -> None:
    """The second folder is `conflict` naming both folders, nothing in iRODS changes; the
    operator's `rodrunner ingest --replace` keeps the old collection aside, recoverable, and
    `rodrunnerd retry` then finds the folder ingested."""
    share.configure(["miseq"], max_attempts=1)
    root = share.roots / "miseq"
    first = simulate_run(root, "miseq", run_id=RUN_ID, files=4, size=200)
    daemon = share.start()
    share.wait_complete([("miseq", first)])
    coll = share.collection("miseq", RUN_ID)
    sheet_before = stored_sha256(share, f"{coll}/SampleSheet.csv")

    copy = tmp_path / "staging" / f"{RUN_ID}_redemux"
    shutil.copytree(first, copy)
    with (copy / "SampleSheet.csv").open("a") as sheet:
        sheet.write("extra,row,of,a,re-demultiplexing\n")
    (copy / "extra.txt").write_text("only in the second folder\n")
    second = root / copy.name
    os.rename(copy, second)

    def state() -> str | None:
        return next((r["state"] for r in share.ledger() if r["run_dir"] == str(second)), None)

    wait_for(lambda: state() == "conflict", 240, f"the conflict\n{daemon.output()}")
    [record] = [r for r in share.ledger() if r["run_dir"] == str(second)]
    assert str(first) in record["last_error"], record
    assert str(second) in record["last_error"], record
    assert daemon.events("run.conflict"), daemon.output()
    assert avu(share, coll, SOURCE_DIR) == [str(first)]
    assert stored_sha256(share, f"{coll}/SampleSheet.csv") == sheet_before
    assert not share.session.data_objects.exists(f"{coll}/extra.txt")
    assert daemon.alive(), daemon.output()

    replaced = subprocess.run(
        [
            *(sys.executable, "-m", "rodrunner", "ingest", str(second), "--replace"),
            *("--config", str(share.config_path)),
        ],
        capture_output=True,
        text=True,
        env=share.env,
        timeout=300,
        check=False,
    )
    assert replaced.returncode == 0, replaced.stdout + replaced.stderr
    assert avu(share, coll, SOURCE_DIR) == [str(second)]
    local = hashlib.sha256((second / "SampleSheet.csv").read_bytes()).hexdigest()
    assert stored_sha256(share, f"{coll}/SampleSheet.csv") == local
    parent = share.session.collections.get(os.path.dirname(coll))
    aside = [c.path for c in parent.subcollections if c.name.startswith(f"{RUN_ID}.replaced-")]
    assert len(aside) == 1, [c.path for c in parent.subcollections]
    assert avu(share, aside[0], SOURCE_DIR) == [str(first)]
    assert stored_sha256(share, f"{aside[0]}/SampleSheet.csv") == sheet_before

    retried = share.rodrunnerd("retry", str(second))
    assert retried.returncode == 0, retried.stderr
    wait_for(lambda: state() == "ingested", 240, f"the retried run\n{daemon.output()}")
    assert daemon.stop() == 0, daemon.output()

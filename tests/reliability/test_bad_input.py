"""Bad input: hostile metadata, hostile file trees, runs that vanish. One bad folder never stops
the others, and each says what is wrong.

The committed hostile files are in tests/data/bad/ (see its README); the big ones and what only
a filesystem can make (FIFOs, symlink loops, odd names, a 5 GiB sparse file) are made here.

Unreadable file: the tests run as root, so ``chmod 000`` does not stop a read. We use a FIFO
(reading one would block forever: it is refused before any open) and a dangling symlink
(``open`` fails with ENOENT); both are reported per file and fail the run with its reason.
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from rodrunner.config import AppConfig
from rodrunner.errors import MetadataFileError, PathError, RodrunnerError
from rodrunner.parsers import parse_run_folder
from rodrunner.plan import make_plan
from rodrunner.simulate import simulate_run
from tests.reliability.harness import Share, audit, wait_for
from tests.reliability.report import record

BAD = Path(__file__).parent.parent / "data" / "bad"
HUGE_XML_BYTES = 40 * 2**20  # past the 32 MiB limit for metadata XML; sparse on disk
SPARSE_BYTES = 5 * 2**30


def miseq_run(root: Path, n: int, **options: object) -> Path:
    """A complete MiSeq run whose run id is made unique by ``n``."""
    run_id = f"250401_M04034_{n:04d}_000000000-B{n:04d}"
    return simulate_run(root, "miseq", run_id=run_id, seed=n, **options)  # type: ignore[arg-type]


def write_huge_xml(path: Path, size: int = HUGE_XML_BYTES) -> None:
    """A RunInfo.xml that starts well and is ``size`` bytes long (a sparse file)."""
    with path.open("wb") as out:
        out.write(b'<?xml version="1.0"?>\n<RunInfo Version="2"><Run Id="x">')
        out.truncate(size)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("RunInfo.malformed.xml", "not well-formed"),
        ("RunInfo.truncated.xml", "not well-formed"),
        ("RunInfo.bomb.xml", "DTD"),
        ("RunInfo.external-entity.xml", "DTD"),
    ],
)
def test_hostile_runinfo_is_a_typed_error_naming_the_file(
    tmp_path: Path, name: str, expected: str
) -> None:
    """Malformed, truncated, entity-bomb and external-entity RunInfo.xml: MetadataFileError."""
    run = miseq_run(tmp_path, 1, files=2, size=10)
    shutil.copy(BAD / name, run / "RunInfo.xml")
    with pytest.raises(MetadataFileError, match=expected) as caught:
        parse_run_folder(run, "miseq")
    assert "RunInfo.xml" in str(caught.value)


def test_huge_runinfo_is_refused_by_size(tmp_path: Path) -> None:
    """A 40 MiB RunInfo.xml is refused for its size before it is parsed."""
    run = miseq_run(tmp_path, 1, files=2, size=10)
    write_huge_xml(run / "RunInfo.xml")
    with pytest.raises(MetadataFileError, match="more than"):
        parse_run_folder(run, "miseq")


@pytest.mark.parametrize("name", ["SampleSheet.latin1.csv", "SampleSheet.nul.csv"])
def test_non_utf8_and_nul_sample_sheets_still_parse(tmp_path: Path, name: str) -> None:
    """Latin-1 bytes and NUL bytes in a sample sheet do not stop the run (real sheets have them)."""
    run = miseq_run(tmp_path, 1, files=2, size=10)
    shutil.copy(BAD / name, run / "SampleSheet.csv")
    metadata = parse_run_folder(run, "miseq")
    assert metadata.samples
    assert all("\x00" not in s.sample_id for s in metadata.samples)


def test_run_id_climbing_out_of_the_collection_is_a_path_error(tmp_path: Path) -> None:
    """A RunInfo.xml run id of ../../.. never becomes a collection path: PathError."""
    run = miseq_run(tmp_path, 1, files=2, size=10)
    shutil.copy(BAD / "RunInfo.climbing-run-id.xml", run / "RunInfo.xml")
    metadata = parse_run_folder(run, "miseq")
    with pytest.raises(PathError, match="run id"):
        make_plan(metadata, AppConfig(), "miseq")


@pytest.mark.parametrize("run_id", ["..", ".", "a/../../b", "x\n..", " "])
def test_run_folder_names_that_would_climb_are_refused(tmp_path: Path, run_id: str) -> None:
    """Run ids of '..', '.', with '/', a newline or only blanks never become a collection."""
    run = miseq_run(tmp_path, 1, files=2, size=10)
    metadata = parse_run_folder(run, "miseq").model_copy(update={"run_id": run_id})
    with pytest.raises(PathError, match="run id"):
        make_plan(metadata, AppConfig(), "miseq")


# -- the daemon in front of all of it -----------------------------------------------------


class Hostile:
    """One hostile run: how it was made and what its failure must mention."""

    def __init__(self, label: str, expected: str | None, make: Callable[[Path], None]) -> None:
        self.label = label
        self.expected = expected  # None: the run must be ingested
        self.make = make
        self.run_dir: Path | None = None


def _copy(name: str, target: str) -> Callable[[Path], None]:
    def make(run: Path) -> None:
        shutil.copy(BAD / name, run / target)

    return make


def _indicator_dir(run: Path) -> None:
    (run / "RTAComplete.txt").unlink()
    (run / "RTAComplete.txt").mkdir()


def _indicator_empty(run: Path) -> None:
    (run / "RTAComplete.txt").write_bytes(b"")


def _fifo(run: Path) -> None:
    os.mkfifo(run / "Data" / "pipe.bin")


def _dangling(run: Path) -> None:
    (run / "Data" / "gone.bin").symlink_to(run / "Data" / "never-there.bin")


def _loop(run: Path) -> None:
    (run / "Data" / "loop-a").symlink_to(run / "Data" / "loop-b")
    (run / "Data" / "loop-b").symlink_to(run / "Data" / "loop-a")


def _outside(run: Path) -> None:
    secret = run.parent.parent.parent / "outside-the-share.txt"
    secret.write_text("not part of any run\n")
    (run / "Data" / "escape.txt").symlink_to(secret)


def _newline_name(run: Path) -> None:
    (run / "Data" / "two\nlines.txt").write_text("x")


def _non_utf8_name(run: Path) -> None:
    with open(os.path.join(os.fsencode(run / "Data"), b"caf\xe9.txt"), "wb") as out:
        out.write(b"latin-1 name")


def _zero_bytes(run: Path) -> None:
    for i in range(3):
        (run / "Data" / f"empty-{i}.bin").write_bytes(b"")


HOSTILE = [
    Hostile("malformed XML", "not well-formed", _copy("RunInfo.malformed.xml", "RunInfo.xml")),
    Hostile("truncated XML", "not well-formed", _copy("RunInfo.truncated.xml", "RunInfo.xml")),
    Hostile("huge XML", "more than", lambda run: write_huge_xml(run / "RunInfo.xml")),
    Hostile("XML bomb", "DTD", _copy("RunInfo.bomb.xml", "RunInfo.xml")),
    Hostile("external entity", "DTD", _copy("RunInfo.external-entity.xml", "RunInfo.xml")),
    Hostile(
        "run id climbing out",
        "not allowed in an iRODS collection name",
        _copy("RunInfo.climbing-run-id.xml", "RunInfo.xml"),
    ),
    Hostile("Latin-1 sample sheet", None, _copy("SampleSheet.latin1.csv", "SampleSheet.csv")),
    Hostile("NUL sample sheet", None, _copy("SampleSheet.nul.csv", "SampleSheet.csv")),
    Hostile("indicator is a directory", "directory", _indicator_dir),
    Hostile("empty indicator", None, _indicator_empty),
    Hostile("FIFO (unreadable file)", "pipe.bin", _fifo),
    Hostile("dangling symlink (unreadable file)", "gone.bin", _dangling),
    Hostile("symlink loop", "loop", _loop),
    Hostile("symlink outside the share", "outside the run folder", _outside),
    Hostile("newline in a file name", "newline", _newline_name),
    Hostile("non-UTF-8 file name", "not valid UTF-8", _non_utf8_name),
    Hostile("0-byte files", None, _zero_bytes),
]


def _make(root: Path, n: int, hostile: Hostile) -> Path:
    """Write the run without its indicator, spoil it, then complete it (as an instrument)."""
    run = miseq_run(root, n, files=6, size=500, complete=False)
    (run / "Data").mkdir(exist_ok=True)
    (run / "RTAComplete.txt").write_text("RTA 1.18.54\n")
    hostile.make(run)
    return run


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_daemon_survives_every_hostile_run(share: Share) -> None:
    """Each hostile run fails (or is ingested) with a logged error naming the run and the cause
    and a ledger state saying why; a run deleted mid-ingest fails cleanly; the good runs go on
    and the daemon keeps running."""
    share.configure(["miseq"], max_attempts=1, max_concurrent_ingests=2)
    root = share.roots / "miseq"
    daemon = share.start()

    vanishing = miseq_run(root, 900, files=400, size=4000)
    wait_for(lambda: daemon.saw('"irods.upload_started"', vanishing.name), 180, "big upload")
    shutil.rmtree(vanishing)

    good = [("miseq", miseq_run(root, 1, files=10, size=800))]
    for n, hostile in enumerate(HOSTILE, start=10):
        hostile.run_dir = _make(root, n, hostile)
    good.append(("miseq", miseq_run(root, 2, files=10, size=800)))
    ingested = good + [("miseq", h.run_dir) for h in HOSTILE if h.expected is None and h.run_dir]
    share.wait_complete(ingested, timeout=600)

    def settled() -> bool:
        states = {r["run_dir"]: r["state"] for r in share.ledger()}
        failing = [h for h in HOSTILE if h.expected and h.label != "indicator is a directory"]
        return states.get(str(vanishing)) == "failed" and all(
            states.get(str(h.run_dir)) == "failed" for h in failing
        )

    wait_for(settled, 300, f"hostile runs failed in the ledger\n{daemon.output()}")
    assert daemon.alive(), daemon.output()
    ledger = {r["run_dir"]: r for r in share.ledger()}
    results = []
    for hostile in HOSTILE:
        run_dir = str(hostile.run_dir)
        rec = ledger.get(run_dir)
        assert rec is not None, f"{hostile.label}: not in the ledger"
        if hostile.expected is None:
            results.append((hostile.label, rec["state"], "ingested, verified"))
            continue
        logged = [
            e
            for name in ("run.failed", "run.problem")
            for e in daemon.events(name)
            if e.get("run_dir") == run_dir
        ]
        assert logged, f"{hostile.label}: no run.failed/run.problem event for {run_dir}"
        text = " ".join(str(e.get("error") or e.get("reason")) for e in logged)
        assert hostile.expected.lower() in text.lower(), f"{hostile.label}: {text}"
        why = rec["last_error"] or ""
        assert hostile.expected.lower() in why.lower(), f"{hostile.label}: ledger says {rec}"
        assert "\n" not in why, f"{hostile.label}: the reason is not one line: {why!r}"
        results.append((hostile.label, rec["state"], why.splitlines()[0][:160]))
    gone = ledger[str(vanishing)]
    assert gone["state"] == "failed"
    assert gone["last_error"], gone
    results.append(("run folder deleted mid-ingest", "failed", gone["last_error"][:160]))
    escaped = f"/{share.sandbox.zone}/home/{share.sandbox.user}/escaped"
    assert not share.session.collections.exists(escaped), "a run id climbed out"

    assert daemon.stop(signal.SIGTERM) == 0, daemon.output()
    counts = audit(share, ingested)
    record("bad_input", cases=[list(r) for r in results], **counts)


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_five_gib_sparse_file_is_ingested_and_verified(share: Share) -> None:
    """A run holding a 5 GiB sparse file is streamed, checksummed and verified like any other."""
    share.configure(["miseq"], max_attempts=2)
    root = share.roots / "miseq"
    run = miseq_run(root, 1, files=4, size=100, complete=False)
    with (run / "big.bin").open("wb") as out:
        out.truncate(SPARSE_BYTES)
    (run / "RTAComplete.txt").write_text("RTA 1.18.54\n")
    daemon = share.start()
    share.wait_complete([("miseq", run)], timeout=1100)
    assert daemon.stop() == 0, daemon.output()
    try:
        counts = audit(share, [("miseq", run)])
        peak = max((e.get("bytes") or 0) for e in daemon.events("ingest.complete"))
        assert peak >= SPARSE_BYTES
    finally:  # the vault's copy is not sparse: do not leave 5 GiB in pytest's kept tmp dirs
        for stored in (share.sandbox.root / "vault").rglob("*"):
            if stored.is_file() and stored.stat().st_size >= SPARSE_BYTES:
                stored.unlink()
    record("sparse_5gib", bytes=peak, **counts)


def test_hostile_tree_never_raises_untyped(tmp_path: Path) -> None:
    """Listing any hostile tree gives per-file errors, never an exception (the walk is total)."""
    from rodrunner.irods.walk import walk_tree

    errors = 0
    for n, hostile in enumerate(HOSTILE):
        run = _make(tmp_path, n, hostile)
        try:
            listing = walk_tree(run)
        except RodrunnerError:
            continue
        errors += len(listing.errors)
    assert errors >= 6  # FIFO, dangling, loop, outside, newline, non-UTF-8

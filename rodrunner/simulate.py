"""A sequencer simulator: writes a realistic run folder over time, for tests, demos, benchmarks.

The metadata files are real ones (bundled under ``rodrunner/data/fixtures/<type>/``, one
public run per profile, provenance in each ``fixture.json``), with the run id, flowcell and
instrument rewritten so the folder name and RunInfo agree. Then come per-lane/per-cycle data
files, InterOp/ and Thumbnail_Images/ (Illumina) or the platform's equivalents, and the
completion indicator last, as the instrument writes it (NovaSeq-style instruments write
``RTAComplete.txt`` before ``CopyComplete.txt``). Content is seeded: the same arguments give
the same bytes.
"""

from __future__ import annotations

import fnmatch
import json
import os
import random
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from rodrunner.errors import ConfigError
from rodrunner.profiles import get_profile

log = structlog.get_logger()

FIXTURES = Path(__file__).parent / "data" / "fixtures"

# Instruments whose RTA writes cbcl files (RTA3) rather than per-tile bcl.gz.
_CBCL = frozenset({"novaseq", "novaseqx", "nextseq2000", "iseq", "miseqi100", "nextseq"})
_LANES = {"novaseq": 2, "novaseqx": 8, "hiseq": 8, "nextseq": 4, "nextseq2000": 1}
# InterOp files with a valid header (format version, record size) and no records yet: the
# parsers see an InterOp/ folder they can open, holding nothing to summarise.
_INTEROP = {"TileMetricsOut.bin": bytes([2, 10]), "ExtractionMetricsOut.bin": bytes([2, 38])}


@dataclass(frozen=True, slots=True)
class _Write:
    relpath: str
    content: bytes | Callable[[], bytes]
    by_rename: bool = False


def _fixture(sequencer_type: str) -> tuple[Path, dict[str, Any]]:
    base = FIXTURES / sequencer_type
    meta = json.loads((base / "fixture.json").read_text(encoding="utf-8"))
    return base / "files", meta


def _rewrite_map(meta: dict[str, Any], run_id: str, illumina: bool) -> dict[bytes, bytes]:
    """Byte replacements that turn the fixture's identifiers into ``run_id``'s."""
    old = str(meta["run_id"])
    swaps = {old.encode(): run_id.encode()}
    if illumina and meta.get("flowcell") and meta.get("instrument"):
        old_parts, new_parts = old.split("_", 3), run_id.split("_", 3)
        if len(new_parts) == 4 and len(old_parts) == 4:
            old_fc_token, new_fc_token = old_parts[3], new_parts[3]
            side = old_fc_token != meta["flowcell"]  # the A/B letter is not in <Flowcell>
            new_fc = new_fc_token[1:] if side and len(new_fc_token) > 1 else new_fc_token
            swaps[str(meta["flowcell"]).encode()] = new_fc.encode()
            swaps[str(meta["instrument"]).encode()] = new_parts[1].encode()
            swaps[f"<Date>{old_parts[0]}</Date>".encode()] = f"<Date>{new_parts[0]}</Date>".encode()
            if old_parts[2].isdigit() and new_parts[2].isdigit():
                old_no, new_no = int(old_parts[2]), int(new_parts[2])
                swaps[f'Number="{old_no}"'.encode()] = f'Number="{new_no}"'.encode()
                swaps[f"<RunNumber>{old_no}</RunNumber>".encode()] = (
                    f"<RunNumber>{new_no}</RunNumber>".encode()
                )
    return swaps


def _apply(data: bytes, swaps: dict[bytes, bytes]) -> bytes:
    for old, new in swaps.items():
        if old and old != new:
            data = data.replace(old, new)
    return data


def _payload(seed: str, size: int) -> Callable[[], bytes]:
    def make() -> bytes:
        return random.Random(seed).randbytes(size)  # noqa: S311 - test data, not secrets

    return make


def _metadata_writes(
    files_dir: Path, swaps: dict[bytes, bytes], prefix: str = ""
) -> tuple[list[_Write], list[_Write]]:
    """Fixture files as writes: (metadata first, those that are indicators last)."""
    early: list[_Write] = []
    late: list[_Write] = []
    for path in sorted(p for p in files_dir.rglob("*") if p.is_file()):
        rel = prefix + path.relative_to(files_dir).as_posix()
        write = _Write(rel, _apply(path.read_bytes(), swaps))
        (late if path.name.startswith("final_summary_") else early).append(write)
    return early, late


def _illumina_data(t: str, files: int, size: int, seed: str) -> Iterator[_Write]:
    lanes = _LANES.get(t, 1)
    cycles = max(1, -(-files // lanes))
    n = 0
    for cycle in range(1, cycles + 1):
        for lane in range(1, lanes + 1):
            if n >= files:
                return
            base = f"Data/Intensities/BaseCalls/L{lane:03d}/C{cycle}.1"
            name = f"L{lane:03d}_1.cbcl" if t in _CBCL else f"s_{lane}_1101.bcl.gz"
            yield _Write(f"{base}/{name}", _payload(f"{seed}:{base}/{name}", size))
            n += 1
        if cycle == 1 or cycle == cycles:
            thumb = f"Thumbnail_Images/L001/C{cycle}.1/s_1_1101_green.jpg"
            yield _Write(thumb, _payload(f"{seed}:{thumb}", min(size, 2048)))


def _pacbio_data(movie: str, cell: str, files: int, size: int, seed: str) -> Iterator[_Write]:
    for i in range(files):
        rel = f"{cell}/hifi_reads/{movie}.hifi_reads.bc{2001 + i}.bam"
        yield _Write(rel, _payload(f"{seed}:{rel}", size))
    stats = f"{cell}/statistics/{movie}.summary.json"
    yield _Write(stats, b'{"simulated": true}\n')


def _nanopore_data(run_id: str, files: int, size: int, seed: str) -> Iterator[_Write]:
    tag = "_".join(run_id.split("_")[-2:])
    for i in range(files):
        kind = ("pod5", "pod5") if i % 2 == 0 else ("fastq_pass", "fastq.gz")
        rel = f"{kind[0]}/{tag}_{i}.{kind[1]}"
        yield _Write(rel, _payload(f"{seed}:{rel}", size))
    yield _Write(f"sequencing_summary_{tag}.txt", _payload(f"{seed}:summary", min(size, 4096)))


def _aviti_data(files: int, size: int, seed: str) -> Iterator[_Write]:
    for i in range(files):
        lane, cycle = 1 + i % 2, 1 + i // 2
        rel = f"BaseCalls/L{lane}/C{cycle}.1/L{lane}R{cycle:02d}.zip"
        yield _Write(rel, _payload(f"{seed}:{rel}", size))
    yield _Write("AvitiRunStats.json", b'{"simulated": true}\n')


def plan_run(
    sequencer_type: str,
    run_id: str | None = None,
    *,
    files: int = 20,
    size: int = 1024,
    source: str | os.PathLike[str] | None = None,
    indicator_by_rename: bool = False,
    seed: int = 0,
) -> tuple[str, list[_Write]]:
    """The run id and the ordered writes of a simulated run (no I/O beyond the fixture)."""
    profile = get_profile(sequencer_type)
    if files < 0 or size < 0:
        raise ConfigError(f"--files ({files}) and --size ({size}) must not be negative")
    if source is not None:
        files_dir = Path(source)
        if not files_dir.is_dir():
            raise ConfigError(f"--from '{files_dir}' is not a directory of run metadata files")
        meta: dict[str, Any] = {"run_id": files_dir.name}
    else:
        files_dir, meta = _fixture(profile.name)
    rid = run_id or str(meta.get("default_run_id") or meta["run_id"])
    if not rid or "/" in rid or rid in {".", ".."}:
        raise ConfigError(f"run id {rid!r} cannot be a folder name; pass --run-id NAME")
    illumina = profile.platform == "illumina"
    swaps = _rewrite_map(meta, rid, illumina)
    tag = f"{seed}:{rid}"
    writes: list[_Write] = []
    if profile.platform == "pacbio":
        cell = "1_A01"
        early, late = _metadata_writes(files_dir, swaps)
        movie = _movie_name(early) or f"m{rid[1:]}_s1"
        writes += early
        writes += _pacbio_data(movie, cell, files, size, tag)
        writes.append(_Write(f"{cell}/metadata/{movie}.transferdone", b"", indicator_by_rename))
        return rid, writes
    early, late = _metadata_writes(files_dir, swaps)
    writes += early
    if illumina:
        writes += _illumina_data(profile.name, files, size, tag)
        writes += [_Write(f"InterOp/{name}", header) for name, header in _INTEROP.items()]
        if profile.completion_indicator == "CopyComplete.txt":
            writes.append(_Write("RTAComplete.txt", b"RTA 3.4.4\n", indicator_by_rename))
        writes.append(_Write(profile.completion_indicator, _indicator_text(profile.name)))
    elif profile.platform == "nanopore":
        writes += _nanopore_data(rid, files, size, tag)
        writes += [_Write(w.relpath, w.content, indicator_by_rename) for w in late]
        return rid, writes
    else:  # element
        writes += _aviti_data(files, size, tag)
        body = json.dumps({"outcome": "OutcomeCompleted", "RunFolderName": rid}).encode()
        writes.append(_Write("RunUploaded.json", body))
    last = writes[-1]
    writes[-1] = _Write(last.relpath, last.content, indicator_by_rename)
    return rid, writes


def _indicator_text(sequencer_type: str) -> bytes:
    if sequencer_type in {"miseq", "miniseq", "nextseq", "hiseq"}:
        return b"11/14/2017,10:11:12.123,Illumina RTA 1.18.54\r\n"
    return b""


def _movie_name(writes: list[_Write]) -> str | None:
    for write in writes:
        name = write.relpath.rsplit("/", 1)[-1]
        if name.startswith("m") and ".metadata.xml" in name:
            return name.split(".", 1)[0]
    return None


def _free_run_id(
    root: Path, sequencer_type: str, source: str | os.PathLike[str] | None
) -> str | None:
    """The fixture's run id, or the next one not yet in ``root`` (a new run of the same kind).

    Illumina ids get the next run number (``200624_A00834_0184_BHMTFYDRXX``); others a
    numeric suffix. ``None`` when the fixture's own id is free.
    """
    if source is not None:
        return None
    profile = get_profile(sequencer_type)
    _, meta = _fixture(profile.name)
    default = str(meta.get("default_run_id") or meta["run_id"])
    if not (root / default).exists():
        return None
    parts = default.split("_", 3)
    illumina = profile.platform == "illumina" and len(parts) == 4 and parts[2].isdigit()
    for n in range(1, 10_000):
        if illumina:
            number = str(int(parts[2]) + n).zfill(len(parts[2]))
            candidate = "_".join((parts[0], parts[1], number, parts[3]))
        else:
            candidate = f"{default}_{n + 1}"
        if not (root / candidate).exists():
            return candidate
    return None


def simulate_run(
    root: str | os.PathLike[str],
    sequencer_type: str,
    *,
    files: int = 20,
    size: int = 1024,
    duration: float = 0.0,
    source: str | os.PathLike[str] | None = None,
    indicator_by_rename: bool = False,
    run_id: str | None = None,
    complete: bool = True,
    seed: int = 0,
) -> Path:
    """Write a run folder of ``sequencer_type`` under ``root`` over ``duration`` seconds.

    Returns the run folder. ``complete=False`` stops before the completion indicator (a run
    still in progress). Raises :class:`ConfigError` for an unknown type or an existing folder.
    """
    if run_id is None:
        run_id = _free_run_id(Path(root), sequencer_type, source)
    rid, writes = plan_run(
        sequencer_type,
        run_id,
        files=files,
        size=size,
        source=source,
        indicator_by_rename=indicator_by_rename,
        seed=seed,
    )
    run_dir = Path(root).absolute() / rid
    if run_dir.exists():
        raise ConfigError(
            f"run folder '{run_dir}' already exists; pass another --run-id or remove it",
            key="run_id",
        )
    profile = get_profile(sequencer_type)
    if not complete:
        writes = [w for w in writes if not _is_final(w.relpath, profile.completion_indicators)]
    run_dir.mkdir(parents=True)
    log.info("simulate.started", run_id=rid, run_dir=str(run_dir), files=len(writes))
    pause = duration / len(writes) if writes and duration > 0 else 0.0
    for write in writes:
        _write(run_dir, write)
        if pause:
            time.sleep(pause)
    log.info("simulate.finished", run_id=rid, run_dir=str(run_dir), complete=complete)
    return run_dir


def _is_final(relpath: str, indicators: tuple[str, ...]) -> bool:
    name = relpath.rsplit("/", 1)[-1]
    if name in {"RTAComplete.txt", "CopyComplete.txt", "RunUploaded.json"}:
        return True
    return any(fnmatch.fnmatchcase(name, p.rsplit("/", 1)[-1]) for p in indicators)


def _write(run_dir: Path, write: _Write) -> None:
    target = run_dir / write.relpath
    target.parent.mkdir(parents=True, exist_ok=True)
    data = write.content() if callable(write.content) else write.content
    if write.by_rename:
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    else:
        target.write_bytes(data)


def copy_fixture(sequencer_type: str, destination: str | os.PathLike[str]) -> Path:
    """Copy the bundled metadata files of ``sequencer_type`` to ``destination`` (for --from)."""
    files_dir, _ = _fixture(get_profile(sequencer_type).name)
    return Path(shutil.copytree(files_dir, destination))

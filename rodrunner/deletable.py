"""May a run folder leave the share? The safe-to-delete gate: named conditions, all pure.

``rodrunner deletable`` gathers the values (ledger, iRODS, a fresh listing of the folder) at
one moment and :func:`evaluate` judges them. The folder may go only if every condition holds:

==========================  =================================================================
condition                   holds when
==========================  =================================================================
``ledger_ingested``         the daemon's ledger has the folder as ``ingested``
``status_complete``         ``rodrunner::status=complete``, the stored manifest intact (its
                            SHA-256 is ``rodrunner::manifest_sha256``) and the catalog as the
                            manifest says (nothing missing or extra, no size or checksum
                            differing, no stale replica)
``folder_matches_manifest`` the folder's files are the manifest's, same sizes, none modified
                            after the ingest (nothing added, changed or grown since)
``min_replicas``            every file has ``retention.min_replicas`` good replicas whose
                            catalog size and SHA-256 equal the manifest's
``keep_days``               ``retention.keep_days`` have passed since ``rodrunner::ingested_at``
``verified_within``         a ``verify --deep`` passed within ``retention.verify_within`` days
                            (``rodrunner::verified_at``) and none failed since
                            (``rodrunner::verify_failed_at``)
``no_keep_file``            no ``.rodrunner-keep`` in the folder
==========================  =================================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from rodrunner.manifest import Manifest
from rodrunner.plan import KEEP_FILE
from rodrunner.verification import (
    LocalFile,
    StoredState,
    catalog_comparison,
    check_catalog,
    check_local,
    check_stored,
)

if TYPE_CHECKING:
    from rodrunner.irods.replicas import Replica

__all__ = ["CONDITIONS", "Condition", "GateInput", "evaluate", "good_replicas"]

CONDITIONS = (
    "ledger_ingested",
    "status_complete",
    "folder_matches_manifest",
    "min_replicas",
    "keep_days",
    "verified_within",
    "no_keep_file",
)


@dataclass(frozen=True)
class Condition:
    """One condition of the gate, whether it holds, and why (or why not)."""

    name: str
    ok: bool
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able data."""
        return asdict(self)


@dataclass(frozen=True)
class GateInput:
    """Everything the gate looks at, read at one moment."""

    now: datetime
    ledger_state: str | None  # None: the ledger does not know the folder
    ledger_problem: str | None  # the ledger could not be read
    stored: StoredState
    catalog: Mapping[str, Sequence[Replica]]
    local: Mapping[str, LocalFile] | None  # None: the folder could not be listed
    local_problem: str | None
    ingested_at: datetime | None
    verified_at: datetime | None
    keep_file: bool
    min_replicas: int
    keep_days: float
    verify_within: float  # days
    verify_failed_at: datetime | None = None  # the last failed deep verification


def good_replicas(manifest: Manifest, catalog: Mapping[str, Sequence[Replica]]) -> dict[str, int]:
    """Per manifest file, its replicas that are good with the manifest's size and checksum
    (SHA-256, or MD5 where the manifest has it: one that cannot be compared does not count)."""
    out: dict[str, int] = {}
    for entry in manifest.entries:
        out[entry.path] = sum(
            1
            for r in catalog.get(entry.path, ())
            if r.good and r.size == entry.size and catalog_comparison(entry, r.checksum).agrees
        )
    return out


def _age(now: datetime, then: datetime) -> str:
    days = (now - then) / timedelta(days=1)
    return f"{days:.1f} days"


def _ledger(inp: GateInput) -> Condition:
    name = "ledger_ingested"
    if inp.ledger_problem:
        return Condition(name, False, inp.ledger_problem)
    if inp.ledger_state is None:
        return Condition(name, False, "the daemon's ledger does not know this folder")
    if inp.ledger_state != "ingested":
        return Condition(name, False, f"the ledger says {inp.ledger_state}, not ingested")
    return Condition(name, True, "the ledger says ingested")


def _status(inp: GateInput) -> Condition:
    name = "status_complete"
    problems = check_stored(inp.stored)
    if problems:
        return Condition(name, False, "; ".join(p.message for p in problems))
    assert inp.stored.manifest is not None
    problems = check_catalog(inp.stored.manifest, inp.catalog)
    if problems:
        shown = "; ".join(f"{p.path}: {p.message}" for p in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        return Condition(
            name,
            False,
            f"the catalog differs from the manifest in {len(problems)} way(s): {shown}{more}",
        )
    return Condition(name, True, "rodrunner::status=complete, manifest and catalog agree")


def _folder(inp: GateInput) -> Condition:
    name = "folder_matches_manifest"
    manifest = inp.stored.manifest
    if manifest is None:
        return Condition(name, False, "no stored manifest to compare with")
    if inp.local is None:
        return Condition(name, False, inp.local_problem or "the run folder cannot be listed")
    problems = check_local(manifest, inp.local, changed_after=inp.ingested_at)
    if problems:
        shown = "; ".join(f"{p.path}: {p.message}" for p in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        return Condition(name, False, f"{len(problems)} difference(s): {shown}{more}")
    return Condition(name, True, f"{manifest.files} files as in the manifest")


def _replicas(inp: GateInput) -> Condition:
    name = "min_replicas"
    manifest = inp.stored.manifest
    if manifest is None:
        return Condition(name, False, "no stored manifest to count replicas of")
    counts = good_replicas(manifest, inp.catalog)
    short = sorted(p for p, n in counts.items() if n < inp.min_replicas)
    if short:
        shown = ", ".join(f"{p} ({counts[p]})" for p in short[:3])
        more = f" (and {len(short) - 3} more)" if len(short) > 3 else ""
        return Condition(
            name,
            False,
            f"{len(short)} file(s) with fewer than {inp.min_replicas} good replica(s): "
            f"{shown}{more}",
        )
    fewest = min(counts.values(), default=0)
    return Condition(name, True, f"every file has at least {fewest} good replica(s)")


def _keep_days(inp: GateInput) -> Condition:
    name = "keep_days"
    if inp.ingested_at is None:
        return Condition(name, False, "rodrunner::ingested_at is missing or unreadable")
    due = inp.ingested_at + timedelta(days=inp.keep_days)
    if inp.now < due:
        return Condition(
            name,
            False,
            f"ingested {_age(inp.now, inp.ingested_at)} ago; keep_days is {inp.keep_days:g}",
        )
    return Condition(name, True, f"ingested {_age(inp.now, inp.ingested_at)} ago")


def _verified(inp: GateInput) -> Condition:
    name = "verified_within"
    failed = inp.verify_failed_at
    if failed is not None and (inp.verified_at is None or failed >= inp.verified_at):
        return Condition(
            name,
            False,
            f"the deep verification {_age(inp.now, failed)} ago found problems; repair them and "
            "run `rodrunner verify RUN --deep` again",
        )
    if inp.verified_at is None:
        return Condition(name, False, "never deep-verified; run `rodrunner verify RUN --deep`")
    if inp.now - inp.verified_at > timedelta(days=inp.verify_within):
        return Condition(
            name,
            False,
            f"last deep verification {_age(inp.now, inp.verified_at)} ago; verify_within is "
            f"{inp.verify_within:g} days; run `rodrunner verify RUN --deep`",
        )
    return Condition(name, True, f"deep-verified {_age(inp.now, inp.verified_at)} ago")


def _keep_file(inp: GateInput) -> Condition:
    if inp.keep_file:
        return Condition("no_keep_file", False, f"{KEEP_FILE} is in the folder")
    return Condition("no_keep_file", True, f"no {KEEP_FILE}")


def evaluate(inp: GateInput) -> list[Condition]:
    """Every condition of the gate, in :data:`CONDITIONS` order."""
    return [
        _ledger(inp),
        _status(inp),
        _folder(inp),
        _replicas(inp),
        _keep_days(inp),
        _verified(inp),
        _keep_file(inp),
    ]

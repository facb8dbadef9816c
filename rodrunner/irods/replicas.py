"""Replicas and server-side checksum verification, over a python-irodsclient session.

What a real iRODS 5.0 answers (recorded against 5.0.2) and what this module makes of it:

- ``DATA_OBJ_CHKSUM`` with ``verifyChksum`` (and ``ChksumAll``: every good replica) makes the
  server read each replica's bytes from its storage. All well: 0 and nothing. Otherwise
  ``CHECK_VERIFICATION_RESULTS`` (-407000) with a JSON list of ``{error_code, message,
  severity}`` (one per finding: a changed content is -314000, a changed size -401000 and
  then -512000, a skipped stale replica an ``info``), and for a content change an error block
  naming the computed and the catalog checksum.
- python-irodsclient 3.3.0's ``chksum()`` raises ``AttributeError: 'NoneType' object has no
  attribute 'fill'`` on every such reply unless the caller passes an ``r_error`` stack: this
  module is the one place that calls it for verification, and always passes one.
- A plain checksum call returns the stored value without reading anything, and
  ``forceChksum`` silently stores whatever the storage holds now: neither is a verification,
  and only :func:`stored_checksum` (asked to) sends ``forceChksum``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from irods import keywords as kw
from irods.column import Like
from irods.manager.data_object_manager import Server_Checksum_Warning
from irods.models import Collection, DataObject
from irods.session import iRODSSession

from rodrunner.errors import IRODSError, PermanentIRODSError
from rodrunner.irods import _wire
from rodrunner.irods.errors import translate_errors
from rodrunner.irods.genquery_literal import subtree_condition

__all__ = [
    "REPLICA_STATES",
    "ChecksumFinding",
    "Replica",
    "ReplicaVerification",
    "parse_findings",
    "query_replicas",
    "stored_checksum",
    "verify_each",
    "verify_replicas",
]

REPLICA_STATES = {
    "0": "stale",
    "1": "good",
    "2": "intermediate",
    "3": "read-locked",
    "4": "write-locked",
}
USER_CHKSUM_MISMATCH = -314000
SYS_NO_GOOD_REPLICA = -166000
_REPLICA_IN_MESSAGE = re.compile(r"replica \[(\d+)\]")


@dataclass(frozen=True)
class Replica:
    """One replica as the catalog lists it; ``checksum`` is the stored string as is."""

    number: int
    resource: str
    status: str  # good, stale, intermediate, ...
    size: int
    checksum: str

    @property
    def good(self) -> bool:
        """Whether the catalog calls this replica good."""
        return self.status == "good"


@dataclass(frozen=True)
class ChecksumFinding:
    """One result of a server-side verification."""

    code: int
    severity: str  # error, warning or info
    message: str
    replica: int | None  # the replica it is about, when the message names one


@dataclass(frozen=True)
class ReplicaVerification:
    """What the server found when it re-read every good replica of one data object."""

    path: str
    findings: tuple[ChecksumFinding, ...] = ()
    details: tuple[str, ...] = ()  # the error block's lines (computed != catalog value)

    @property
    def ok(self) -> bool:
        """Whether the server found nothing to report."""
        return not self.findings


def parse_findings(results: Iterable[Any]) -> tuple[ChecksumFinding, ...]:
    """The server's JSON verification results as findings (malformed entries kept as text)."""
    out: list[ChecksumFinding] = []
    for item in results:
        if not isinstance(item, dict):
            out.append(ChecksumFinding(0, "error", str(item), None))
            continue
        message = str(item.get("message", ""))
        found = _REPLICA_IN_MESSAGE.search(message)
        try:
            code = int(item.get("error_code", 0))
        except (TypeError, ValueError):
            code = 0
        out.append(
            ChecksumFinding(
                code=code,
                severity=str(item.get("severity", "error")),
                message=message,
                replica=int(found.group(1)) if found else None,
            )
        )
    return tuple(out)


def stored_checksum(session: iRODSSession, path: str, *, recompute: bool) -> str:
    """The checksum the catalog holds for ``path`` as iRODS writes it (computed if missing).

    ``recompute`` (``forceChksum``) makes the server re-read the bytes and store what it finds:
    not a verification (see :func:`verify_replicas`).
    """
    options = {kw.FORCE_CHKSUM_KW: ""} if recompute else {}
    with translate_errors(path):
        return str(session.data_objects.chksum(path, **options))


def verify_replicas(session: iRODSSession, path: str) -> ReplicaVerification:
    """Ask the server to recompute every good replica's checksum of ``path`` and compare.

    Never stores anything. An object without a good replica is one finding; other refusals
    raise the translated :class:`~rodrunner.errors.IRODSError`.
    """
    errors = _wire.error_stack()
    options = {kw.VERIFY_CHKSUM_KW: "", kw.CHKSUM_ALL_KW: ""}
    try:
        with translate_errors(path):
            try:
                session.data_objects.chksum(path, r_error=errors, **options)
            except Server_Checksum_Warning as exc:  # the -407000 reply, parsed by the client
                details = tuple(
                    e.message
                    for e in errors
                    if e.status_ == USER_CHKSUM_MISMATCH and "!=" in e.message
                )
                response = exc.response if isinstance(exc.response, list) else [exc.response]
                return ReplicaVerification(path, parse_findings(response), details)
    except IRODSError as exc:
        if exc.name != "SYS_NO_GOOD_REPLICA":
            raise
        finding = ChecksumFinding(SYS_NO_GOOD_REPLICA, "error", "no good replica", None)
        return ReplicaVerification(path, (finding,))
    return ReplicaVerification(path)


def verify_each(
    verify: Callable[[str], ReplicaVerification],
    paths: Sequence[str],
    workers: int,
    progress: Callable[[str], None] | None,
) -> dict[str, ReplicaVerification]:
    """``verify(path)`` for every path on ``workers`` threads, ``progress(path)`` after each.

    A PermanentIRODSError (no permission, gone meanwhile) is a finding of its own; anything
    else ends the call.
    """
    out: dict[str, ReplicaVerification] = {}

    def one(path: str) -> ReplicaVerification:
        try:
            return verify(path)
        except PermanentIRODSError as exc:
            return ReplicaVerification(path, (ChecksumFinding(0, "error", str(exc), None),))

    with ThreadPoolExecutor(workers, thread_name_prefix="irods-verify") as pool:
        for path, result in zip(paths, pool.map(one, paths), strict=True):
            out[path] = result
            if progress is not None:
                progress(path)
    return out


def query_replicas(session: iRODSSession, collection: str) -> dict[str, list[Replica]]:
    """Every replica of every data object at or below ``collection``, by relative path.

    ``collection`` must be clean (see ``check_irods_path``); one GenQuery, paged. The replica
    number is selected, so replicas that agree on everything else still come back one by one.
    A path that no GenQuery literal can hold is refused (QueryValueError) before any query.
    """
    subtree_condition(collection)
    columns = (
        Collection.name,
        DataObject.name,
        DataObject.replica_number,
        DataObject.replica_status,
        DataObject.resource_name,
        DataObject.size,
        DataObject.checksum,
    )
    query = session.query(*columns).filter(Collection.name == collection)
    subtree = session.query(*columns).filter(Like(Collection.name, f"{collection}/%"))
    out: dict[str, list[Replica]] = {}
    with translate_errors(collection):
        for q in (query, subtree):
            for row in q.get_results():
                coll = row[Collection.name]
                if coll != collection and not coll.startswith(collection + "/"):
                    continue  # LIKE's '_' matched another character
                rel_dir = coll[len(collection) + 1 :]
                name = row[DataObject.name]
                rel = f"{rel_dir}/{name}" if rel_dir else name
                status = str(row[DataObject.replica_status])
                out.setdefault(rel, []).append(
                    Replica(
                        number=int(row[DataObject.replica_number]),
                        resource=str(row[DataObject.resource_name]),
                        status=REPLICA_STATES.get(status, status),
                        size=int(row[DataObject.size] or 0),
                        checksum=str(row[DataObject.checksum] or ""),
                    )
                )
    for replicas in out.values():
        replicas.sort(key=lambda r: r.number)
    return out

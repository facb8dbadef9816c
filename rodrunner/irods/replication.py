"""Replica awareness for ingest: where puts go, and waiting for the zone to replicate.

:func:`target_resource` is the resource every put names (``destRescName``): ``irods.resource``,
else the iCommands environment's ``irods_default_resource``, else none (the server decides).
:func:`wait_for_replicas` holds an ingest until every object has ``irods.min_replicas`` good
replicas whose size and catalog checksum agree with the manifest entry, in the zone's scheme
(:func:`rodrunner.manifest.compare_checksum`: SHA-256, or MD5 in an MD5 zone; a replica with no
checksum yet counts by its size):
zones that replicate to a second tier do it with a server-side policy, so rodrunner only
watches, polling the catalog (one query per poll) until ``irods.replica_wait`` seconds have
passed, then fails naming the objects, their counts and the fix.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import structlog

from rodrunner.config import IRODSConfig
from rodrunner.errors import ReplicaShortfallError
from rodrunner.manifest import ManifestEntry, compare_checksum
from rodrunner.verification import md5_hex, sha256_hex

if TYPE_CHECKING:
    from rodrunner.irods.client import iRODSClient
    from rodrunner.irods.replicas import Replica

__all__ = ["good_copies", "shortfall", "target_resource", "wait_for_replicas"]

log = structlog.get_logger()

FIRST_POLL = 0.5
MAX_POLL = 15.0
SHOWN = 5


def target_resource(config: IRODSConfig) -> str | None:
    """``irods.resource``, else the env file's ``irods_default_resource``, else None."""
    if config.resource:
        return config.resource
    if config.sandbox is None and config.env_file is not None:
        try:
            env = json.loads(config.env_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # the session set-up reports a bad env file
            return None
        value = env.get("irods_default_resource") if isinstance(env, dict) else None
        return str(value) if value else None
    return None


def good_copies(replicas: Sequence[Replica], entry: ManifestEntry) -> int:
    """Replicas that are good, of the entry's size, and whose catalog checksum (if they have
    one) does not differ from the entry's digest in its scheme (SHA-256 or MD5)."""
    count = 0
    for replica in replicas:
        if not replica.good or replica.size != entry.size:
            continue
        checksum = replica.checksum
        if checksum:
            found = compare_checksum(entry, sha256=sha256_hex(checksum), md5=md5_hex(checksum))
            if found.differs:
                continue
        count += 1
    return count


def shortfall(
    catalog: Mapping[str, Sequence[Replica]],
    expected: Mapping[str, ManifestEntry],
    min_replicas: int,
) -> dict[str, int]:
    """Objects (relative path → good copies) with fewer than ``min_replicas`` good copies."""
    short = {}
    for rel, entry in sorted(expected.items()):
        count = good_copies(catalog.get(rel, ()), entry)
        if count < min_replicas:
            short[rel] = count
    return short


def wait_for_replicas(
    client: iRODSClient,
    collection: str,
    expected: Mapping[str, ManifestEntry],
    *,
    min_replicas: int,
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Return once every ``expected`` object (relative path → its manifest entry) has
    ``min_replicas`` good copies; :class:`ReplicaShortfallError` after ``timeout`` seconds."""
    if min_replicas <= 1 or not expected:
        return  # the upload's own verification proved the one replica it wrote
    deadline = clock() + timeout
    pause = FIRST_POLL
    announced = False
    while True:
        short = shortfall(client.list_replicas(collection), expected, min_replicas)
        if not short:
            log.info("ingest.replicas_ok", collection=collection, min_replicas=min_replicas)
            return
        left = deadline - clock()
        if left <= 0:
            break
        if not announced:
            log.info(
                "ingest.waiting_for_replicas",
                collection=collection,
                min_replicas=min_replicas,
                short=len(short),
                timeout=timeout,
            )
            announced = True
        sleep(min(pause, left))
        pause = min(pause * 2, MAX_POLL)
    shown = "; ".join(
        f"{collection}/{rel} has {count}" for rel, count in list(short.items())[:SHOWN]
    )
    more = f" (and {len(short) - SHOWN} more)" if len(short) > SHOWN else ""
    raise ReplicaShortfallError(
        f"{len(short)} object(s) have fewer than irods.min_replicas={min_replicas} good "
        f"replicas after waiting irods.replica_wait={timeout:g} s: {shown}{more}; the zone's "
        "replication policy has not copied them: check it (or replicate them, e.g. with "
        "irepl), or lower irods.min_replicas, or raise irods.replica_wait, then ingest again"
    )

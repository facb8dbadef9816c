"""Open data objects in the sandbox: the descriptors of a connection and the replicas being
written, shared by the connections that write them.

A write open registers an :class:`OpenReplica` under a replica token on the server
(``ctx.server.open_replicas``); further opens with that token (python-irodsclient's parallel
threads, on other connections) write the same file. The replica is intermediate
(``data_is_dirty=2``, size 0) in the catalog until the descriptor that created it closes:
then size and status (and the checksum when asked) are final (:func:`close_descriptor`). A
connection that goes away with a write open leaves its replica stale, as iRODS does
(:func:`abandon_descriptors`, called by the server). The APIs that open, read and write are in
``dataobjects.py``; the single-buffer put (``put.py``) uses the same replica bookkeeping.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from rodrunner.sandbox.catalog import GOOD, STALE, now_ts
from rodrunner.sandbox.dispatch import Context
from rodrunner.sandbox.protocol import SandboxError, codes
from rodrunner.sandbox.vault import Vault, format_checksum, scheme_of

CHECKSUM_KWS = ("regChksum", "verifyChksum", "chksum")


@dataclass
class OpenReplica:
    """A replica open for writing, shared by the descriptors that carry its token."""

    token: str
    data_id: int
    path: str
    hasher: Any | None = None  # running hash of the bytes [0, hashed), in order from offset 0
    hashed: int = 0  # writes past it are hashed from the file at close; writes before it void it
    writers: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    vault: Vault | None = None  # its resource's vault (None: the server's, demoResc)


@dataclass
class Descriptor:
    """One open data object of one connection (an L1 descriptor)."""

    fd: int
    os_fd: int
    data_id: int
    path: str
    write: bool
    options: dict[str, str]
    open_flags: int
    replica: OpenReplica | None = None
    primary: bool = False
    pos: int = 0


def add_descriptor(ctx: Context, desc: Descriptor) -> int:
    """Give ``desc`` the lowest free descriptor number of the connection; that number."""
    fd = 3
    while fd in ctx.descriptors:
        fd += 1
    desc.fd = fd
    ctx.descriptors[fd] = desc
    return fd


def get_descriptor(ctx: Context, fd: int) -> Descriptor:
    """The open descriptor ``fd`` of the connection (SYS_FILE_DESC_OUT_OF_RANGE if none)."""
    desc = ctx.descriptors.get(fd)
    if desc is None:
        raise SandboxError(codes.SYS_FILE_DESC_OUT_OF_RANGE, f"no open data object {fd}")
    assert isinstance(desc, Descriptor)
    return desc


def register(ctx: Context, replica: OpenReplica) -> None:
    """Make ``replica`` reachable by its token from every connection of the server."""
    with ctx.server.replicas_lock:
        ctx.server.open_replicas[replica.token] = replica


def unregister(ctx: Context, replica: OpenReplica) -> None:
    """Forget ``replica``: it is final (or stale) now."""
    with ctx.server.replicas_lock:
        ctx.server.open_replicas.pop(replica.token, None)


def being_written(ctx: Context, data_id: int) -> bool:
    """Whether some connection has data object ``data_id`` open for writing."""
    with ctx.server.replicas_lock:
        return any(r.data_id == data_id for r in ctx.server.open_replicas.values())


def _finalize(ctx: Context, desc: Descriptor, options: dict[str, str]) -> None:
    """Make the replica good: size, status and (if asked) the checksum."""
    replica = desc.replica
    assert replica is not None
    vault = replica.vault or ctx.vault
    try:
        size = vault.size(desc.data_id)
        checksum = ""
        if any(k in options for k in CHECKSUM_KWS):
            given = options.get("chksum", "")
            scheme = scheme_of(given, ctx.vault.hash_scheme)
            with replica.lock:
                hasher, hashed = replica.hasher, replica.hashed
            if hasher is not None and hashed <= size:
                # a parallel put's later ranges arrived before the prefix: read only those
                vault.hash_tail(desc.data_id, hasher, hashed)
                checksum = format_checksum(hasher, scheme)
            else:
                checksum = vault.checksum(desc.data_id, scheme)
            if given and given != checksum:
                set_status(ctx, desc.data_id, STALE, size, checksum)
                raise SandboxError(
                    codes.USER_CHKSUM_MISMATCH,
                    f"checksum of {desc.path} is {checksum}, the client said {given}",
                )
        set_status(ctx, desc.data_id, GOOD, size, checksum)
    finally:
        unregister(ctx, replica)


def set_status(ctx: Context, data_id: int, status: int, size: int, checksum: str) -> None:
    """Replica 0 was written: its new state; every other replica is now stale (as in iRODS)."""
    with ctx.catalog.tx() as db:
        db.execute(
            "UPDATE data SET data_is_dirty = ?, data_size = ?, data_checksum = ?, modify_ts = ?"
            " WHERE data_id = ? AND data_repl_num = 0",
            (status, size, checksum, now_ts(), data_id),
        )
        db.execute(
            "UPDATE data SET data_is_dirty = ? WHERE data_id = ? AND data_repl_num <> 0",
            (STALE, data_id),
        )


def close_descriptor(ctx: Context, fd: int, options: dict[str, str], *, finalize: bool) -> None:
    """Close ``fd``; the descriptor that created a replica finalises it when ``finalize``."""
    desc = get_descriptor(ctx, fd)
    del ctx.descriptors[fd]
    os.close(desc.os_fd)
    if not desc.write or desc.replica is None:
        return
    with desc.replica.lock:
        desc.replica.writers -= 1
    if desc.primary and finalize:
        _finalize(ctx, desc, {**desc.options, **options})


def abandon_descriptors(ctx: Context) -> None:
    """Close what a vanished connection left open; its unfinished replicas become stale."""
    for fd in list(ctx.descriptors):
        desc = ctx.descriptors.pop(fd)
        with contextlib.suppress(OSError):
            os.close(desc.os_fd)
        if desc.write and desc.replica is not None:
            with desc.replica.lock:
                desc.replica.writers -= 1
            if desc.primary:
                vault = desc.replica.vault or ctx.vault
                set_status(ctx, desc.data_id, STALE, vault.size(desc.data_id), "")
                unregister(ctx, desc.replica)

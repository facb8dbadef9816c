"""``DATA_OBJ_CHKSUM_AN`` 629 in the sandbox: the five reply shapes of iRODS 5.0's
``rsDataObjChksum``.

A plain call returns the stored checksum without reading the file (computing and storing it
only when there is none); ``forceChksum`` stores whatever the file holds now; with
``ChksumAll`` every good replica, and replicas that disagree give 0, no checksum and an
RError_PI warning (-314000); ``verifyChksum`` re-reads every good replica (or the one named by
``replNum``/``rescName``) and answers 0 and nothing when all is well, else
``CHECK_VERIFICATION_RESULTS`` (-407000) with a JSON list of ``{error_code, message,
severity}`` and, for a content change only, an RError_PI per replica naming the computed
and the catalog checksum. A file shorter than the catalog says cannot be checksummed
(-512000: the server reads exactly the catalog's size, :func:`replicas.replica_checksum`).
"""

from __future__ import annotations

import json
from typing import Any

from rodrunner.sandbox.catalog import GOOD, STALE, now_ts
from rodrunner.sandbox.colls import logical_path
from rodrunner.sandbox.dispatch import Context, Reply, Request, api
from rodrunner.sandbox.protocol import SandboxError, codes, pack, rerror
from rodrunner.sandbox.replicas import (
    SYS_NO_GOOD_REPLICA,
    Replica,
    replica_checksum,
    replicas_of,
)
from rodrunner.sandbox.resources import vault_of
from rodrunner.sandbox.vault import scheme_of

SYS_REPLICA_DOES_NOT_EXIST = -164000
USER_FILE_SIZE_MISMATCH = -401000
USER_INCOMPATIBLE_PARAMS = -402000
UNIX_FILE_STAT_ERR = -516000
CAT_NO_CHECKSUM_FOR_REPLICA = -862000


def _size_on_disk(ctx: Context, replica: Replica) -> int:
    return vault_of(ctx, replica.resource).path_for(replica.data_id).stat().st_size


def _store_checksum(ctx: Context, replica: Replica, checksum: str) -> None:
    with ctx.catalog.tx() as db:
        db.execute(
            "UPDATE data SET data_checksum = ?, modify_ts = ?"
            " WHERE data_id = ? AND data_repl_num = ?",
            (checksum, now_ts(), replica.data_id, replica.number),
        )


def _str_reply(text: str, *, int_info: int = 0, error: bytes = b"") -> Reply:
    return Reply(int_info=int_info, msg=pack("STR_PI", [("myStr", text)]), error=error)


def _pick(replicas: list[Replica], options: dict[str, str]) -> tuple[Replica, bool]:
    """The replica a single-replica call works on, and whether the client named it."""
    if "replNum" in options:
        number = options["replNum"]
        found = [r for r in replicas if str(r.number) == number]
    elif "rescName" in options:
        found = [r for r in replicas if r.resource == options["rescName"]]
    else:
        good = [r for r in replicas if r.status == GOOD]
        return (good or replicas)[0], False
    if not found:
        raise SandboxError(SYS_REPLICA_DOES_NOT_EXIST, "no such replica")
    return found[0], True


def _check_accessible(replica: Replica) -> None:
    if replica.status not in (GOOD, STALE):
        raise SandboxError(codes.SYS_REPLICA_INACCESSIBLE, f"replica {replica.number} is in use")


class _Results:
    """The verification results iRODS sends back as JSON, and the RError messages beside them."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.errors: list[tuple[int, str]] = []

    def add(self, severity: str, code: int, message: str) -> None:
        self.items.append({"error_code": code, "message": message, "severity": severity})

    def check_size(self, ctx: Context, replica: Replica) -> None:
        try:
            size = _size_on_disk(ctx, replica)
        except OSError as exc:
            code = UNIX_FILE_STAT_ERR - (exc.errno or 0)
            self.add("error", code, f"ERROR: Could not verify size for replica [{replica.number}].")
            return
        if size != replica.size:
            self.add(
                "error",
                USER_FILE_SIZE_MISMATCH,
                "ERROR: Physical size does not match size in catalog for replica "
                f"[{replica.number}].",
            )

    def check_checksum(self, ctx: Context, path: str, replica: Replica) -> None:
        try:
            computed = replica_checksum(
                ctx, replica, scheme_of(replica.checksum, ctx.vault.hash_scheme)
            )
        except SandboxError as exc:
            self.add(
                "error",
                exc.code,
                f"ERROR: Could not verify checksum for replica [{replica.number}].",
            )
            return
        if computed != replica.checksum:
            self.errors.append(
                (
                    codes.USER_CHKSUM_MISMATCH,
                    f"verifyDataObjChksum: computed checksum [{computed}] != catalog value "
                    f"[{replica.checksum}] for [{path}] hierarchy [{replica.hierarchy}] "
                    f"replica number [{replica.number}]",
                )
            )
            self.add(
                "error",
                codes.USER_CHKSUM_MISMATCH,
                "ERROR: Computed checksum does not match what is in the catalog for replica "
                f"[{replica.number}].",
            )

    def reply(self) -> Reply:
        if not self.items:
            return Reply(error=rerror(self.errors) if self.errors else b"")
        text = json.dumps(self.items, sort_keys=True, separators=(",", ":"))
        error = rerror(self.errors) if self.errors else b""
        return _str_reply(text, int_info=codes.CHECK_VERIFICATION_RESULTS, error=error)


def _targeted(options: dict[str, str]) -> bool:
    if "replNum" in options and "rescName" in options:
        raise SandboxError(USER_INCOMPATIBLE_PARAMS, "give replNum or rescName, not both")
    targeted = "replNum" in options or "rescName" in options
    if targeted and "ChksumAll" in options:
        raise SandboxError(USER_INCOMPATIBLE_PARAMS, "ChksumAll names no single replica")
    return targeted


def _verify(ctx: Context, path: str, replicas: list[Replica], options: dict[str, str]) -> Reply:
    if "forceChksum" in options:
        raise SandboxError(USER_INCOMPATIBLE_PARAMS, "verifyChksum and forceChksum together")
    results = _Results()
    if _targeted(options):
        replica, _ = _pick(replicas, options)
        _check_accessible(replica)
        results.check_size(ctx, replica)
        if not replica.checksum:
            results.add(
                "warning",
                CAT_NO_CHECKSUM_FOR_REPLICA,
                f"WARNING: No checksum available for replica [{replica.number}].",
            )
            return results.reply()
        results.check_checksum(ctx, path, replica)
        return results.reply()
    good = [r for r in replicas if r.status == GOOD]
    if not good:
        raise SandboxError(SYS_NO_GOOD_REPLICA, f"{path} has no good replica")
    if len(replicas) > len(good):
        results.add("info", 0, f"INFO: Number of replicas skipped: {len(replicas) - len(good)}")
    for replica in good:
        results.check_size(ctx, replica)
    unsummed = [r for r in good if not r.checksum]
    for replica in unsummed:
        results.add(
            "warning",
            CAT_NO_CHECKSUM_FOR_REPLICA,
            f"WARNING: No checksum available for replica [{replica.number}].",
        )
    if unsummed:
        return results.reply()
    for replica in good:
        results.check_checksum(ctx, path, replica)
    if len({r.checksum for r in good}) > 1:
        results.add(
            "warning",
            codes.USER_CHKSUM_MISMATCH,
            "WARNING: Data object has replicas with different checksums.",
        )
    return results.reply()


def _lookup_or_update(ctx: Context, replicas: list[Replica], options: dict[str, str]) -> Reply:
    force = "forceChksum" in options
    if "ChksumAll" not in options or _targeted(options):
        replica, _ = _pick(replicas, options)
        _check_accessible(replica)
        if not force and replica.checksum:
            return _str_reply(replica.checksum)
        checksum = replica_checksum(ctx, replica)
        _store_checksum(ctx, replica, checksum)
        return _str_reply(checksum)
    good = [r for r in replicas if r.status == GOOD]
    if not good:
        raise SandboxError(SYS_NO_GOOD_REPLICA, "no good replica")
    sums: list[str] = []
    for replica in good:
        if force or not replica.checksum:
            try:
                checksum = replica_checksum(ctx, replica)
            except SandboxError as exc:
                text = f"Could not compute/update checksum for replica [{replica.number}]."
                raise SandboxError(exc.code, text) from None
            _store_checksum(ctx, replica, checksum)
            sums.append(checksum)
        else:
            sums.append(replica.checksum)
    if len(set(sums)) > 1:
        warning = "WARNING: Data object has replicas with different checksums."
        return Reply(error=rerror([(codes.USER_CHKSUM_MISMATCH, warning)]))
    return _str_reply(sums[-1])


@api(629)
def data_obj_chksum(ctx: Context, req: Request) -> Reply:
    """DATA_OBJ_CHKSUM_AN: report, compute (``forceChksum``) or verify replica checksums."""
    node = req.node
    path = logical_path(ctx, node.str("objPath"))
    options = node.kvp()
    replicas = replicas_of(ctx, path)
    if "verifyChksum" in options:
        return _verify(ctx, path, replicas, options)
    return _lookup_or_update(ctx, replicas, options)

"""Resources in the sandbox: where a replica's bytes live, and making a resource.

Each resource has its own vault: ``demoResc`` is the server's, every other one a ``Vault`` at
its ``resc_def_path`` (:func:`vault_of`, kept per server). A new object goes to
``destRescName``, else ``demoResc`` (:func:`target_resource`); a resource nobody made is
SYS_RESC_DOES_NOT_EXIST, as in iRODS.

``GENERAL_ADMIN_AN`` 701 ``add resource NAME unixfilesystem HOST:PATH`` (``iadmin mkresc``,
through ``admin.py``): a resource whose vault is PATH. Like iRODS it answers 0 with an
RError_PI warning (status 0) when HOST is ``localhost``.
"""

from __future__ import annotations

import weakref
from pathlib import Path

from rodrunner.sandbox.catalog import RESOURCE
from rodrunner.sandbox.dispatch import Context, Reply, ServerState
from rodrunner.sandbox.protocol import SandboxError, codes, rerror
from rodrunner.sandbox.vault import Vault

SYS_RESC_DOES_NOT_EXIST = -78000
CAT_INVALID_RESOURCE_TYPE = -810000
CAT_INVALID_RESOURCE_VAULT_PATH = -813000

_vaults: weakref.WeakKeyDictionary[ServerState, dict[str, Vault]] = weakref.WeakKeyDictionary()


def vault_of(ctx: Context, resource: str) -> Vault:
    """The vault of ``resource`` (the server's own for ``demoResc``)."""
    if resource == RESOURCE:
        return ctx.vault
    known = _vaults.setdefault(ctx.server, {})
    vault = known.get(resource)
    if vault is None:
        rows = ctx.catalog.query(
            "SELECT resc_def_path FROM resources WHERE resc_name = ?", (resource,)
        )
        if not rows or not rows[0]["resc_def_path"]:
            raise SandboxError(SYS_RESC_DOES_NOT_EXIST, f"no resource {resource!r} with a vault")
        vault = Vault(Path(rows[0]["resc_def_path"]), hash_scheme=ctx.vault.hash_scheme)
        known[resource] = vault
    return vault


def resource_exists(ctx: Context, name: str) -> bool:
    """Whether the catalog knows a resource ``name``."""
    return bool(ctx.catalog.query("SELECT 1 FROM resources WHERE resc_name = ?", (name,)))


def target_resource(ctx: Context, options: dict[str, str]) -> str:
    """Where a new object goes: ``destRescName``, else ``demoResc``; an unknown one is
    SYS_RESC_DOES_NOT_EXIST, as in iRODS."""
    name = options.get("destRescName") or RESOURCE
    if not resource_exists(ctx, name):
        raise SandboxError(SYS_RESC_DOES_NOT_EXIST, f"no resource {name!r}")
    return name


def add_resource(ctx: Context, args: list[str]) -> Reply:
    """``add resource NAME TYPE HOST:PATH``: a unixfilesystem resource with its own vault."""
    name, kind, location = args[2], args[3], args[4]
    if not name:
        raise SandboxError(codes.SYS_INVALID_INPUT_PARAM, "a resource needs a name")
    if kind != "unixfilesystem":
        raise SandboxError(
            CAT_INVALID_RESOURCE_TYPE,
            f"the sandbox only makes unixfilesystem resources, not {kind!r}",
        )
    host, _, vault = location.partition(":")
    if not vault.startswith("/"):
        raise SandboxError(
            CAT_INVALID_RESOURCE_VAULT_PATH, f"resource vault path {vault!r} is not absolute"
        )
    if resource_exists(ctx, name):
        raise SandboxError(codes.CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME, f"resource {name!r} exists")
    ctx.catalog.add_resource(name, vault, net=host or "localhost")
    if host == "localhost":
        warning = (
            "Warning, resource host address 'localhost' will not work properly as it maps to "
            "the local host from each client."
        )
        return Reply(error=rerror([(0, warning)]))
    return Reply()

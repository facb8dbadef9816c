"""What an API handler sees: the request, the reply, the connection and the handler registry.

The handler modules (``admin``, ``auth``, ``checksums``, ``colls``, ``dataobjects``,
``genquery``, ``hints``, ``metadata``, ``namespace``, ``put``, ``replicas``) and their helpers
(``descriptors``, ``resources``) import these and never :mod:`rodrunner.sandbox.server`, which
runs the sockets and calls the registered handlers; an import-linter contract keeps it so.

Adding an API handler (the package ``__init__`` imports each handler module once)::

    from rodrunner.sandbox.dispatch import Context, Reply, Request, api
    from rodrunner.sandbox.protocol import SandboxError, codes, pack

    @api(702)                                   # the API number (irods.api_number)
    def gen_query(ctx: Context, req: Request) -> Reply:
        inp = req.node                          # parsed msg (protocol.Node); req.raw = bytes
        rows = ctx.catalog.query("SELECT ...")  # catalog.Catalog (thread-safe; tx() for writes)
        if not rows:
            raise SandboxError(codes.CAT_NO_ROWS_FOUND, msg=pack("GenQueryOut_PI", {...}))
        return Reply(msg=pack("GenQueryOut_PI", {...}))   # intInfo defaults to 0

- ``Request``: ``api``, ``raw`` (msg bytes), ``node`` (parsed lazily), ``bs`` (memoryview of
  the byte stream, valid only during the call), ``json`` (for BinBytesBuf_PI bodies).
- ``Reply``: ``int_info`` (status or count), ``msg`` (packed XML), ``bs``, ``error`` (RError_PI).
- ``SandboxError(code, message, msg=b"")`` becomes an error reply; ``message`` goes into an
  RError_PI so the client's exception names it.
- ``Context`` (one per connection): ``server`` (the :class:`ServerState` a handler may use),
  ``catalog``, ``vault``, ``user``, ``zone``, ``is_admin``, ``client_signature`` (the key for
  obfuscated admin passwords), ``descriptors`` (open data objects) and ``state`` (a free dict,
  e.g. GenQuery statements). A handler that raises ``Disconnect`` ends the connection without
  a reply (an agent crash).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rodrunner.sandbox.catalog import Catalog
from rodrunner.sandbox.faults import Faults
from rodrunner.sandbox.limits import Limits
from rodrunner.sandbox.protocol import Node, SandboxError, codes, parse, read_json

if TYPE_CHECKING:
    from rodrunner.sandbox.vault import Vault


@dataclass
class Request:
    """One API request as received."""

    api: int
    raw: bytes
    bs: memoryview | None = None
    _node: Node | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def node(self) -> Node:
        """The parsed msg part (SandboxError SYS_API_INPUT_ERR if there is none).

        Cached by hand, not with functools.cached_property: on Python 3.11 that holds one lock
        for every Request of the process, and a garbage-collected client object that closes a
        data object from inside one connection thread then deadlocks against another.
        """
        if self._node is None:
            if not self.raw:
                raise SandboxError(codes.SYS_API_INPUT_ERR, f"API {self.api} needs a message body")
            self._node = parse(self.raw)
        return self._node

    @property
    def json(self) -> Any:
        """The JSON document of a BinBytesBuf_PI body."""
        return read_json(self.node)


@dataclass
class Reply:
    """One API reply."""

    int_info: int = 0
    msg: bytes = b""
    bs: bytes | memoryview = b""
    error: bytes = b""


Handler = Callable[["Context", Request], Reply]
HANDLERS: dict[int, Handler] = {}


def api(number: int) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of API ``number``."""

    def register(func: Handler) -> Handler:
        HANDLERS[number] = func
        return func

    return register


@dataclass
class Settings:
    """What one sandbox server serves."""

    root: Path
    zone: str = "tempZone"
    user: str = "rods"
    password: str = "rods"  # noqa: S105  (the documented sandbox default)
    hash: str = "sha256"
    resources: tuple[str, ...] = ()  # resources besides demoResc, each with its own vault
    tls_cert: Path | None = None
    tls_key: Path | None = None
    limits: Limits = field(default_factory=Limits)


class ServerState(Protocol):
    """What a handler may reach of the server that runs it (``ctx.server``)."""

    settings: Settings
    catalog: Catalog
    vault: Vault
    faults: Faults
    open_replicas: dict[str, Any]
    replicas_lock: threading.Lock


@dataclass
class Context:
    """The state of one client connection."""

    server: ServerState
    sock: socket.socket
    peer: str
    user: str = ""
    zone: str = ""
    proxy_user: str = ""
    authenticated: bool = False
    challenge: bytes = b""
    client_signature: str = ""
    descriptors: dict[int, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    buffer: bytearray = field(default_factory=bytearray)
    reader: Any = None  # BufferedSocket over sock, once the startup is done

    @property
    def catalog(self) -> Catalog:
        """The server's catalog."""
        return self.server.catalog

    @property
    def vault(self) -> Vault:
        """The server's vault."""
        return self.server.vault

    @property
    def is_admin(self) -> bool:
        """Whether the authenticated user is a rodsadmin."""
        row = self.catalog.user(self.user, self.zone)
        return row is not None and row["user_type_name"] == "rodsadmin"


class Disconnect(Exception):
    """End this connection (client said goodbye, a fault, or the server stops)."""

"""``iRODSClient``: rodrunner's only door to iRODS (wraps python-irodsclient).

Sessions come from ``IRODSConfig``: host/port/zone/user/password; or an iCommands
``irods_environment.json`` (TLS and every other ``irods_*`` setting honoured; the password from
``irods.password``, else the ``.irodsA`` named by the environment, by
``$IRODS_AUTHENTICATION_FILE``, next to the environment file, or in ``~/.irods``); or
``irods.sandbox``, a directory where an in-process iRODS sandbox is started for the client's
lifetime. Every GenQuery keeps one connection for all its pages (a statement belongs to the
server agent that opened it). Every call runs inside
:func:`rodrunner.irods.errors.translate_errors`; per-file operations are retried on transient
errors with :mod:`rodrunner.irods.retry`.

Upload fast path (see DESIGN.md "Where ingest time goes"): one listing of the existing
collections and one of the existing data objects (a GenQuery each, paged), each missing
collection created once, then every file written on a bounded pool of connections with a raw
open / write / close (checksum registered at close, no per-file lookups), SHA-256 computed
while the file is read, and one final listing that compares every server checksum with the
local SHA-256.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import io
import os
import posixpath
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, Self

import structlog
from irods import exception as irods_exc
from irods import keywords as kw
from irods.api_number import api_number
from irods.column import Criterion
from irods.data_object import iRODSDataObjectFileRaw
from irods.message import (
    CollectionRequest,
    FileOpenRequest,
    GenQueryResponse,
    OpenedDataObjRequest,
    StringStringMap,
    empty_gen_query_out,
    iRODSMessage,
)
from irods.meta import AVUOperation, iRODSMeta
from irods.models import Collection, CollectionMeta, DataObject, DataObjectMeta, User
from irods.password_obfuscation import decode as decode_irodsA
from irods.query import Query
from irods.results import ResultSet
from irods.session import iRODSSession

from rodrunner.config import IRODSConfig
from rodrunner.errors import (
    AuthenticationError,
    ChecksumMismatchError,
    ConfigError,
    IRODSError,
    NameClashError,
    PathError,
    PermanentIRODSError,
    RodrunnerError,
    RunFolderError,
)
from rodrunner.irods.avu_input import metadata_avus
from rodrunner.irods.errors import translate_errors
from rodrunner.irods.genquery_literal import literal, subtree_condition
from rodrunner.irods.replicas import (
    ChecksumFinding,
    Replica,
    ReplicaVerification,
    query_replicas,
    verify_replicas,
)
from rodrunner.irods.replication import target_resource
from rodrunner.irods.retry import call_with_retries
from rodrunner.irods.walk import LocalFile, walk_tree
from rodrunner.models import RunMetadata

__all__ = [
    "AVU",
    "LocalDigest",
    "RemoteObject",
    "UploadReport",
    "check_irods_path",
    "digest_bytes",
    "iRODSClient",
]

log = structlog.get_logger()

CHUNK = 4 * 1024 * 1024
SINGLE_PUT_MAX = CHUNK  # files up to this size go in one DATA_OBJ_PUT round trip
SMALL_SEND = 256 * 1024  # requests up to this size are sent with one sendall (one copy)
O_WRONLY, O_CREAT, O_TRUNC, O_RDONLY = 1, 64, 512, 0
PUT_OPR = 1
GOOD_REPLICA = "1"
ALREADY_EXISTS = "CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME"
GEN_QUERY_AN = api_number["GEN_QUERY_AN"]

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class AVU:
    """One iRODS attribute-value-units triple (units ``""`` when there are none)."""

    attr: str
    value: str
    units: str = ""

    @classmethod
    def of(cls, avu: AVU | tuple[str, ...]) -> AVU:
        """An AVU from an AVU or an ``(attr, value[, units])`` tuple."""
        if isinstance(avu, AVU):
            return avu
        if len(avu) not in (2, 3):
            raise ValueError(f"an AVU is (attribute, value[, units]), got {avu!r}")
        return cls(str(avu[0]), str(avu[1]), str(avu[2]) if len(avu) == 3 and avu[2] else "")


@dataclass(frozen=True)
class RemoteObject:
    """A data object as the catalog lists it: size and SHA-256 hex (None when not recorded).

    ``good`` is False when no replica is good (all stale, or still being written): then the
    catalog's size and checksum need not describe the stored bytes, and the object counts as
    not there.
    """

    size: int
    checksum: str | None
    good: bool = True
    md5: str | None = None  # MD5 hex, when the catalog holds an MD5 (an MD5 zone)

    @property
    def has_checksum(self) -> bool:
        """Whether the catalog holds a SHA-256 or MD5 checksum (agreed by the good replicas)."""
        return self.checksum is not None or self.md5 is not None


@dataclass
class UploadReport:
    """What :meth:`iRODSClient.upload_directory` did.

    ``files``/``bytes`` count every file of the tree now verified in iRODS (sent or already
    there); ``skipped``/``skipped_bytes`` those that were already there and not sent;
    ``uploaded`` the relative paths sent; ``checksums`` the SHA-256 hex of every file now in
    iRODS (``md5s`` their MD5 hex as well where the zone stores MD5); ``errors`` one
    ``(relative_path, message)`` per file that is not.
    """

    files: int = 0
    bytes: int = 0
    skipped: int = 0
    skipped_bytes: int = 0
    seconds: float = 0.0
    errors: list[tuple[str, str]] = field(default_factory=list)
    checksums: dict[str, str] = field(default_factory=dict)
    uploaded: list[str] = field(default_factory=list)
    md5s: dict[str, str] = field(default_factory=dict)  # MD5 hex too, in an MD5 zone

    @property
    def ok(self) -> bool:
        """True when every file of the tree is in iRODS with a verified checksum."""
        return not self.errors

    @property
    def bytes_sent(self) -> int:
        """Bytes actually transferred."""
        return self.bytes - self.skipped_bytes


HashScheme = Literal["sha256", "md5"]
SUPPORTED_SERVERS = ((4, 3), (5, 0))  # iRODS 4.3.x and 5.0.x (README "iRODS servers")


@dataclass(frozen=True)
class LocalDigest:
    """A local file's SHA-256 hex, and its MD5 hex where the zone stores MD5 (same read)."""

    sha256: str
    md5: str | None = None

    def matches(self, obj: RemoteObject) -> bool | None:
        """Whether the catalog's checksum equals this file's; None when the catalog holds
        no checksum in a scheme computed here."""
        if obj.checksum is not None:
            return obj.checksum == self.sha256
        if obj.md5 is not None and self.md5 is not None:
            return obj.md5 == self.md5
        return None

    def describe(self) -> str:
        """``SHA-256 <hex>`` (and ``MD5 <hex>``) for messages."""
        return f"SHA-256 {self.sha256}" + (f", MD5 {self.md5}" if self.md5 else "")


class _Digests:
    """SHA-256 always, MD5 as well for an MD5 zone, fed from one read of the data."""

    def __init__(self, md5: bool) -> None:
        self._sha256 = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False) if md5 else None

    def update(self, data: Any) -> None:
        self._sha256.update(data)
        if self._md5 is not None:
            self._md5.update(data)

    def result(self) -> LocalDigest:
        return LocalDigest(
            self._sha256.hexdigest(), self._md5.hexdigest() if self._md5 is not None else None
        )


def digest_bytes(data: bytes | memoryview, *, md5: bool = False) -> LocalDigest:
    """The :class:`LocalDigest` of ``data``."""
    digests = _Digests(md5)
    digests.update(data)
    return digests.result()


def scheme_of_checksum(value: str | None) -> HashScheme | None:
    """``sha256`` for ``sha2:<base64>``, ``md5`` for 32 hex digits, else None."""
    if sha256_hex_from_irods(value) is not None:
        return "sha256"
    if md5_hex_from_irods(value) is not None:
        return "md5"
    return None


def remote_checksum(value: str | None, size: int = -1) -> RemoteObject:
    """A checksum string as iRODS returns it, as a :class:`RemoteObject` to compare with."""
    return RemoteObject(
        size=size, checksum=sha256_hex_from_irods(value), md5=md5_hex_from_irods(value)
    )


class _LocalFileError(RodrunnerError):
    """A local file could not be read (internal: becomes a per-file error)."""


def sha256_hex_from_irods(checksum: str | None) -> str | None:
    """``sha2:<base64>`` as lowercase hex; None for empty or other hash schemes."""
    if not checksum or not checksum.startswith("sha2:"):
        return None
    try:
        return base64.b64decode(checksum[5:], validate=True).hex()
    except (binascii.Error, ValueError):
        return None


def md5_hex_from_irods(checksum: str | None) -> str | None:
    """A bare 32-digit MD5 hex (how iRODS stores MD5, optionally ``md5:``-prefixed); else None."""
    if not checksum:
        return None
    value = checksum[4:] if checksum.startswith("md5:") else checksum
    if len(value) == 32 and all(c in "0123456789abcdef" for c in value.lower()):
        return value.lower()
    return None


def check_irods_path(path: str) -> str:
    """``path`` without a trailing ``/``; PathError unless absolute with no empty/./.. part."""
    clean = path.rstrip("/")
    if not path.startswith("/") or any(part in (".", "..", "") for part in clean.split("/")[1:]):
        raise PathError(
            f"iRODS path {path!r} must be absolute, without '.', '..' or '//', "
            "e.g. /tempZone/home/rods/sequencer/novaseq/<run_id>"
        )
    if not clean:
        raise PathError(f"iRODS path {path!r} is the root; give a collection below a zone")
    return clean


def _child(parent: str, relative: str) -> str:
    if relative.startswith("/") or ".." in relative.split("/"):
        raise PathError(f"relative path {relative!r} would climb out of {parent!r}")
    return f"{parent}/{relative}"


class _SubtreeCriterion(Criterion):  # type: ignore[misc]
    """``COLL_NAME = 'p' || like 'p/%'``: a collection and everything below, in one condition."""

    def __init__(self, path: str) -> None:
        super().__init__("=", Collection.name, path)

    @property
    def irods_value(self) -> str:
        return subtree_condition(self.value)


def _equals(column: Any, value: str, what: str) -> Any:
    """``column == value`` once ``value`` is known to reach the server as exactly one literal
    (QueryValueError otherwise): every condition built from outside input goes through here."""
    literal(value, what=what)
    return column == value


def _in_subtree(name: str, path: str) -> bool:
    return name == path or name.startswith(path + "/")


def _query_page(conn: Any, query: Query) -> ResultSet:
    """One GEN_QUERY round trip of ``query`` on ``conn`` (no rows: an empty result set)."""
    message = iRODSMessage("RODS_API_REQ", msg=query._message(), int_info=GEN_QUERY_AN)
    conn.send(message)
    try:
        return ResultSet(conn.recv().get_main_message(GenQueryResponse))
    except irods_exc.CAT_NO_ROWS_FOUND:
        return ResultSet(empty_gen_query_out(list(query.columns.keys())))


def _close_statement(conn: Any, query: Query, continue_index: int) -> None:
    """Close statement ``continue_index`` on the connection that holds it (maxRows 0)."""
    if continue_index > 0 and getattr(conn, "socket", None) is not None:
        with contextlib.suppress(irods_exc.iRODSException):  # a dead line took it along
            _query_page(conn, query.continue_index(continue_index).limit(0))


class _OneConnectionQuery(Query):  # type: ignore[misc]
    """A GenQuery whose pages, and the close of a statement it abandons, all go over one
    connection held for the whole query.

    A statement (``continueInx``) belongs to the server agent of the connection that opened
    it: python-irodsclient's own ``get_batches``/``all`` take a connection from the pool for
    each page, and a session whose pool grew (threads sharing it) sends a continuation to an
    agent that does not hold it; a real server's agent dies there (iRODS 4.3.5 and 5.0.2,
    segmentation fault in the catalog plugin) and a close sent there leaves the statement open.
    """

    def _clone(self) -> _OneConnectionQuery:
        new_q = super()._clone()
        new_q.__class__ = _OneConnectionQuery
        return new_q  # type: ignore[no-any-return]

    def get_batches(self) -> Iterator[ResultSet]:
        with self.sess.pool.get_connection() as conn:
            result = _query_page(conn, self)
            try:
                yield result
                while result.continue_index > 0:
                    result = _query_page(conn, self.continue_index(result.continue_index))
                    yield result
            except GeneratorExit:
                _close_statement(conn, self, result.continue_index)
                raise

    def all(self) -> ResultSet:
        with self.sess.pool.get_connection() as conn:
            result = _query_page(conn, self)
            _close_statement(conn, self, result.continue_index)
            return result

    def one(self) -> Any:
        results = self.all()
        if not len(results):
            raise irods_exc.NoResultFound()
        if len(results) > 1:
            raise irods_exc.MultipleResultsFound()
        return results[0]

    def first(self) -> Any:
        results = self.limit(1).all()
        return results[0] if len(results) else None


class _Session(iRODSSession):  # type: ignore[misc]
    """A python-irodsclient session whose queries stay on one connection, and whose pool
    closes the socket of a connection it destroys.

    Queries: see :class:`_OneConnectionQuery`. Sockets: python-irodsclient destroys a
    connection after a network error but leaves its socket open until the garbage collector
    finds it (and then fails to say goodbye on it); here the socket is closed as soon as the
    connection is destroyed.
    """

    def query(self, *args: Any, **kwargs: Any) -> _OneConnectionQuery:
        return _OneConnectionQuery(self, *args, **kwargs)

    def configure(self, **kwargs: Any) -> Any:
        account = super().configure(**kwargs)
        pool = self.pool
        release = pool.release_connection

        def release_connection(conn: Any, destroy: bool = False) -> None:
            release(conn, destroy)
            if destroy:
                _close_socket(conn)

        pool.release_connection = release_connection
        return account


class iRODSClient:
    """A connection to one iRODS zone; a context manager. Thread-safe for concurrent calls."""

    def __init__(self, config: IRODSConfig) -> None:
        self._config = config
        self._stack = ExitStack()
        self._lock = threading.Lock()
        self._idle: queue.LifoQueue[iRODSSession] = queue.LifoQueue()
        self._all_sessions: list[iRODSSession] = []
        self._closed = False
        self._resource = target_resource(config)  # where puts go (destRescName)
        self._probe_lock = threading.Lock()
        self._hash_scheme: HashScheme | None = None
        self._server_version: tuple[int, ...] | None = None
        try:
            self._session_kwargs = self._make_session_kwargs(config)
            self._session = self._new_session()
        except BaseException:
            self._stack.close()
            raise

    # ----------------------------------------------------------------- sessions

    def _make_session_kwargs(self, config: IRODSConfig) -> dict[str, Any]:
        timeout = {"connection_timeout": config.connection_timeout}
        if config.sandbox is not None:
            from rodrunner.sandbox import shared_sandbox  # only when asked for

            info = self._stack.enter_context(
                shared_sandbox(
                    config.sandbox,
                    zone=config.zone,
                    user=config.user,
                    password=(config.password.get_secret_value() if config.password else "rods"),
                    hash=config.sandbox_hash_scheme,
                )
            )
            self._sandbox = info
            return {
                "host": info.host,
                "port": info.port,
                "zone": info.zone,
                "user": info.user,
                "password": info.password.get_secret_value(),
                **timeout,
            }
        if config.env_file is not None:
            return self._env_kwargs(config.env_file, config) | timeout
        if config.password is None:
            raise ConfigError(
                "irods.password is not set; set it (or RODRUNNER_IRODS__PASSWORD), or point "
                "irods.env_file at an irods_environment.json with an .irodsA from iinit",
                key="irods.password",
            )
        return {
            "host": config.host,
            "port": config.port,
            "zone": config.zone,
            "user": config.user,
            "password": config.password.get_secret_value(),
            **timeout,
        }

    @staticmethod
    def _env_kwargs(env_file: Path, config: IRODSConfig) -> dict[str, Any]:
        import json

        try:
            env = json.loads(env_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                f"irods.env_file '{env_file}' does not exist; run iinit or fix the path",
                key="irods.env_file",
            ) from None
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"irods.env_file '{env_file}' is not a readable JSON file ({exc}); fix it",
                key="irods.env_file",
            ) from None
        if not isinstance(env, dict):
            raise ConfigError(
                f"irods.env_file '{env_file}' must hold a JSON object", key="irods.env_file"
            )
        missing = [
            k
            for k in ("irods_host", "irods_port", "irods_user_name", "irods_zone_name")
            if k not in env
        ]
        if missing:
            raise ConfigError(
                f"irods.env_file '{env_file}' lacks {', '.join(missing)}; add them",
                key="irods.env_file",
            )
        if config.password is not None:
            password = config.password.get_secret_value()
        else:
            password = _read_irodsA(env_file, env)
        kwargs = {k: v for k, v in env.items() if k.startswith("irods_")}
        scheme = str(kwargs.get("irods_authentication_scheme", "native")).lower()
        if scheme != "native":
            # PRC's own env-file path handles PAM and the like (and its .irodsA conventions).
            return {"irods_env_file": str(env_file)}
        kwargs["password"] = password
        return kwargs

    def _new_session(self) -> iRODSSession:
        with translate_errors():
            session = _Session(**self._session_kwargs)
            if self._resource:
                session.default_resource = self._resource
        with self._lock:
            self._all_sessions.append(session)
        return session

    @contextmanager
    def _worker_session(self) -> Iterator[iRODSSession]:
        """A session (own connection) for one thread at a time, returned to the idle pool."""
        try:
            session = self._idle.get_nowait()
        except queue.Empty:
            session = self._new_session()
        try:
            yield session
        finally:
            self._idle.put(session)

    def close(self) -> None:
        """Close every connection and stop the embedded sandbox (if any). Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            sessions, self._all_sessions = self._all_sessions, []
        for session in sessions:
            session.do_configure = {}  # cleanup() must not build a fresh pool
            try:
                session.cleanup()
            except Exception as exc:  # closing is best effort
                log.debug("irods.close_failed", error=str(exc))
        self._stack.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- identity

    @property
    def zone(self) -> str:
        """The zone the client logs into."""
        return str(self._session.zone)

    @property
    def user(self) -> str:
        """The user the client logs in as."""
        return str(self._session.username)

    @property
    def whoami(self) -> str:
        """``user#zone``."""
        return f"{self.user}#{self.zone}"

    @property
    def home(self) -> str:
        """The user's home collection."""
        return f"/{self.zone}/home/{self.user}"

    @property
    def server_version(self) -> tuple[int, ...]:
        """The server's release, e.g. ``(5, 0, 2)``; logged once (``irods.server_version``),
        a warning when it is not a 4.3.x or 5.0.x release (the ones rodrunner is checked
        against)."""
        with self._probe_lock:
            if self._server_version is None:

                def ask() -> tuple[int, ...]:
                    with translate_errors():
                        return tuple(int(x) for x in self._session.server_version)

                version = call_with_retries(ask, operation="connect")
                self._server_version = version
                text = ".".join(map(str, version))
                if version[:2] in SUPPORTED_SERVERS:
                    log.info("irods.server_version", version=text)
                else:
                    log.warning(
                        "irods.server_version",
                        version=text,
                        problem="not an iRODS version rodrunner was checked against "
                        "(4.3.x, 5.0.x); watch the first ingests closely",
                    )
            return self._server_version

    @property
    def hash_scheme(self) -> HashScheme:
        """The zone's checksum scheme: ``irods.hash_scheme``, or (``auto``, asked once per
        client) the ``hash_scheme`` the server states in its client hints (its
        ``default_hash_scheme``), else what it stored for a 1-byte probe object put without
        a checksum.

        Raises ConfigError when it cannot be told (no usable hint, and the probe fails or
        the server stores neither SHA-256 nor MD5).
        """
        with self._probe_lock:
            if self._hash_scheme is None:
                configured = self._config.hash_scheme
                source = "irods.hash_scheme"
                scheme: HashScheme | None = None if configured == "auto" else configured
                if scheme is None:
                    scheme, source = self._hinted_hash_scheme(), "client_hints"
                if scheme is None:
                    scheme, source = self._probe_hash_scheme(), "probe"
                self._hash_scheme = scheme
                log.info("irods.hash_scheme", scheme=scheme, source=source)
            return self._hash_scheme

    def _hinted_hash_scheme(self) -> HashScheme | None:
        """``hash_scheme`` of CLIENT_HINTS (iRODS 4.3 and 5.0); None when not usable."""

        def ask() -> Any:
            with translate_errors():
                return self._session.client_hints

        try:
            hints = call_with_retries(ask, operation="client_hints")
        except IRODSError as exc:
            log.warning("irods.client_hints_failed", error=str(exc))
            return None
        except Exception as exc:  # a reply that is not the JSON object 4.3/5.0 send
            log.warning("irods.client_hints_failed", error=f"{type(exc).__name__}: {exc}")
            return None
        value = str(hints.get("hash_scheme", "")) if isinstance(hints, dict) else ""
        if value.lower() == "sha256":
            return "sha256"
        if value.lower() == "md5":
            return "md5"
        log.warning("irods.client_hints_failed", error=f"hash_scheme {value!r}")
        return None

    def _probe_hash_scheme(self) -> HashScheme:
        path = f"{self.home}/.rodrunner-hash-probe-{uuid.uuid4().hex[:12]}"
        fix = (
            "set irods.hash_scheme to the zone's default_hash_scheme (sha256 or md5; ask the "
            "iRODS administrator)"
        )
        try:
            with self._worker_session() as session:
                call_with_retries(
                    lambda: self._put_single(session, path, b"\n"),
                    operation="put",
                    path=path,
                    on_retry=session.cleanup,
                )
            value = self._checksum_value(path, recompute=False)
        except IRODSError as exc:
            raise ConfigError(
                f"cannot tell the zone's checksum scheme: the probe object '{path}' could not "
                f"be stored and checksummed ({exc}); {fix}",
                key="irods.hash_scheme",
            ) from None
        finally:
            with contextlib.suppress(Exception), translate_errors(path):
                self._session.data_objects.unlink(path, force=True)
        scheme = scheme_of_checksum(value)
        if scheme is None:
            raise ConfigError(
                f"cannot tell the zone's checksum scheme: iRODS stored {value!r} for a probe "
                f"object, neither SHA-256 ('sha2:...') nor MD5 (32 hex digits); {fix}",
                key="irods.hash_scheme",
            )
        return scheme

    def ping(self) -> float:
        """Log in and run a cheap query; the seconds it took. Raises IRODSError on failure.

        Also logs the server's version (see :attr:`server_version`).
        """
        start = time.perf_counter()
        with translate_errors():
            user = _equals(User.name, self.user, "iRODS user")
            self._session.query(User.name).filter(user).limit(1).all()
        seconds = time.perf_counter() - start
        self.server_version  # noqa: B018 - logs it once
        return seconds

    # --------------------------------------------------------------- collections

    def collection_exists(self, path: str) -> bool:
        """Whether ``path`` is a collection."""
        path = check_irods_path(path)

        def run() -> bool:
            with translate_errors(path):
                rows = (
                    self._session.query(Collection.id)
                    .filter(_equals(Collection.name, path, "iRODS path"))
                    .all()
                )
            return len(rows) > 0

        return call_with_retries(run, operation="stat", path=path)

    def ensure_collection(self, path: str) -> None:
        """Create ``path`` and its parents unless they exist."""
        path = check_irods_path(path)
        with self._worker_session() as session:
            self._create_collection(session, path)

    def move_collection(self, path: str, target: str) -> None:
        """Rename collection ``path`` (and everything below it) to ``target``, which must not
        exist; data and AVUs move with it."""
        path = check_irods_path(path)
        target = check_irods_path(target)
        with translate_errors(path):
            if self._session.collections.exists(target):
                raise NameClashError(f"cannot move {path} to {target}: {target} exists")
            self._session.collections.move(path, target)
        log.info("irods.collection_moved", path=path, target=target)

    def remove_collection(self, path: str) -> None:
        """Remove ``path`` and everything below it, bypassing the trash."""
        path = check_irods_path(path)
        with translate_errors(path):
            self._session.collections.remove(path, recurse=True, force=True)

    def _create_collection(self, session: iRODSSession, path: str) -> None:
        def attempt() -> None:
            message = iRODSMessage(
                "RODS_API_REQ",
                msg=CollectionRequest(
                    collName=path, KeyValPair_PI=StringStringMap({kw.RECURSIVE_OPR__KW: ""})
                ),
                int_info=api_number["COLL_CREATE_AN"],
            )
            try:
                with translate_errors(path), session.pool.get_connection() as conn:
                    conn.send(message)
                    conn.recv()
            except IRODSError as exc:
                if exc.name != ALREADY_EXISTS:
                    raise

        call_with_retries(attempt, operation="mkdir", path=path, on_retry=session.cleanup)

    def _existing_collections(self, path: str) -> set[str]:
        def run() -> set[str]:
            with translate_errors(path):
                query = self._session.query(Collection.name).filter(_SubtreeCriterion(path))
                return {
                    row[Collection.name]
                    for row in query.get_results()
                    if _in_subtree(row[Collection.name], path)
                }

        return call_with_retries(run, operation="list", path=path)

    # -------------------------------------------------------------- data objects

    def list_objects(self, collection: str) -> dict[str, RemoteObject]:
        """Every data object at or below ``collection`` by relative path (one GenQuery, paged).

        With several replicas, good ones win; their checksum is None unless they all agree.
        An object without a good replica is listed with ``good=False`` and checksum None.
        """
        collection = check_irods_path(collection)
        rows: dict[str, list[tuple[int, str, str]]] = {}

        def run() -> None:
            rows.clear()
            with translate_errors(collection):
                query = self._session.query(
                    Collection.name,
                    DataObject.name,
                    DataObject.size,
                    DataObject.checksum,
                    DataObject.replica_status,
                ).filter(_SubtreeCriterion(collection))
                for row in query.get_results():
                    coll = row[Collection.name]
                    if not _in_subtree(coll, collection):
                        continue
                    rel_dir = coll[len(collection) + 1 :]
                    name = row[DataObject.name]
                    rel = f"{rel_dir}/{name}" if rel_dir else name
                    rows.setdefault(rel, []).append(
                        (
                            int(row[DataObject.size] or 0),
                            row[DataObject.checksum] or "",
                            str(row[DataObject.replica_status]),
                        )
                    )

        call_with_retries(run, operation="list", path=collection)
        out: dict[str, RemoteObject] = {}
        for rel, replicas in rows.items():
            good = [r for r in replicas if r[2] == GOOD_REPLICA]
            if not good:
                out[rel] = RemoteObject(size=replicas[0][0], checksum=None, good=False)
                continue
            sizes = {r[0] for r in good}
            sums = {r[1] for r in good}
            agreed = sums.pop() if len(sums) == 1 else None
            out[rel] = RemoteObject(
                size=good[0][0] if len(sizes) == 1 else -1,
                checksum=sha256_hex_from_irods(agreed),
                md5=md5_hex_from_irods(agreed),
            )
        return out

    def checksum(self, path: str, *, recompute: bool = False) -> str:
        """The SHA-256 hex of data object ``path``, computed by the server if missing.

        ``recompute`` makes the server read the stored bytes again and *store* what it finds
        (``forceChksum``): that is not a verification; use :meth:`verify_replicas` for one.
        """
        path = check_irods_path(path)
        value = self._checksum_value(path, recompute=recompute)
        hexsum = sha256_hex_from_irods(value)
        if hexsum is None:
            raise PermanentIRODSError(
                f"iRODS returned checksum {value!r} for '{path}', not SHA-256 (an MD5 zone "
                "stores MD5: use checksum_of())",
                path=path,
                name="UNSUPPORTED_HASH_SCHEME",
            )
        return hexsum

    def checksum_of(self, path: str, *, recompute: bool = False) -> RemoteObject:
        """The server's checksum of ``path`` in whichever scheme it holds (SHA-256 or MD5;
        ``size`` -1); PermanentIRODSError for any other. ``recompute``: as :meth:`checksum`
        (the server uses the zone's default_hash_scheme)."""
        path = check_irods_path(path)
        value = self._checksum_value(path, recompute=recompute)
        if scheme_of_checksum(value) is None:
            raise PermanentIRODSError(
                f"iRODS returned checksum {value!r} for '{path}', neither SHA-256 nor MD5; "
                "rodrunner supports zones whose default_hash_scheme is SHA256 or MD5",
                path=path,
                name="UNSUPPORTED_HASH_SCHEME",
            )
        return remote_checksum(value)

    def _checksum_value(self, path: str, *, recompute: bool) -> str:
        options = {kw.FORCE_CHKSUM_KW: ""} if recompute else {}

        def attempt() -> str:
            with translate_errors(path):
                return str(self._session.data_objects.chksum(path, **options))

        return call_with_retries(attempt, operation="checksum", path=path)

    def list_replicas(self, collection: str) -> dict[str, list[Replica]]:
        """Every replica of every data object at or below ``collection``, by relative path."""
        collection = check_irods_path(collection)
        return call_with_retries(
            lambda: query_replicas(self._session, collection), operation="list", path=collection
        )

    def verify_replicas(self, path: str) -> ReplicaVerification:
        """Have the server re-read every good replica of ``path`` and compare it with the catalog.

        A real verification (``verifyChksum``): nothing is stored, unlike ``recompute``.
        """
        path = check_irods_path(path)
        with self._worker_session() as session:
            return call_with_retries(
                lambda: verify_replicas(session, path),
                operation="verify",
                path=path,
                on_retry=session.cleanup,
            )

    def verify_objects(
        self,
        paths: Sequence[str],
        *,
        threads: int | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> dict[str, ReplicaVerification]:
        """:meth:`verify_replicas` for every path, on ``threads`` connections of their own.

        An object the server refuses to verify (no permission, gone meanwhile) is a finding
        of its own; transient errors that outlast the retries end the call.
        """
        workers = max(1, threads or self._config.transfer_threads)
        out: dict[str, ReplicaVerification] = {}

        def one(path: str) -> ReplicaVerification:
            try:
                return self.verify_replicas(path)
            except PermanentIRODSError as exc:
                return ReplicaVerification(path, (ChecksumFinding(0, "error", str(exc), None),))

        with ThreadPoolExecutor(workers, thread_name_prefix="irods-verify") as pool:
            for path, result in zip(paths, pool.map(one, paths), strict=True):
                out[path] = result
                if progress is not None:
                    progress(path)
        return out

    def put_bytes(self, path: str, data: bytes) -> str:
        """Write ``data`` to data object ``path`` (replacing it); the verified SHA-256 hex."""
        path = check_irods_path(path)
        expected = digest_bytes(data, md5=self.hash_scheme == "md5")
        with self._worker_session() as session:

            def attempt() -> None:
                if len(data) <= SINGLE_PUT_MAX:
                    self._put_single(session, path, data)
                else:
                    self._write(session, path, len(data), _BytesSource(data))

            call_with_retries(attempt, operation="put", path=path, on_retry=session.cleanup)
        actual = self.checksum_of(path)
        if not expected.matches(actual):
            raise ChecksumMismatchError(
                f"iRODS stored '{path}' with checksum {actual.checksum or actual.md5}, expected "
                f"{expected.describe()}; write it again",
                path=path,
                name="USER_CHKSUM_MISMATCH",
            )
        return expected.sha256

    def read_bytes(self, path: str, max_bytes: int = 16 * 1024 * 1024) -> bytes:
        """The content of data object ``path``; PermanentIRODSError if it exceeds ``max_bytes``."""
        path = check_irods_path(path)
        with self._worker_session() as session:

            def attempt() -> bytes:
                return self._read(session, path, max_bytes)

            return call_with_retries(attempt, operation="get", path=path, on_retry=session.cleanup)

    def _open_raw(
        self, session: iRODSSession, path: str, flags: int, size: int, options: dict[str, str]
    ) -> iRODSDataObjectFileRaw:
        """DATA_OBJ_OPEN without PRC's redirect probe and buffered seek: one round trip."""
        conn = session.pool.get_connection()
        try:
            message = iRODSMessage(
                "RODS_API_REQ",
                msg=FileOpenRequest(
                    objPath=path,
                    createMode=0o644,
                    openFlags=flags,
                    offset=0,
                    dataSize=size,
                    numThreads=0,
                    oprType=PUT_OPR if flags & O_WRONLY else 0,
                    KeyValPair_PI=StringStringMap(options),
                ),
                int_info=api_number["DATA_OBJ_OPEN_AN"],
            )
            conn.send(message)
            desc = conn.recv().int_info
        except irods_exc.iRODSException:
            conn.release()  # the server answered: the connection is fine
            raise
        except BaseException:
            _discard_connection(conn)
            raise
        return iRODSDataObjectFileRaw(conn, desc, **options)

    def _put_single(self, session: iRODSSession, path: str, data: bytes) -> None:
        """Create or replace ``path`` with ``data`` in one round trip, checksum registered.

        ``DATA_OBJ_PUT`` with ``dataIncluded`` is the single-buffer put iCommands use for small
        files (the server opens, writes, checksums and closes in one API call).
        """
        options = {
            kw.DATA_INCLUDED_KW: "",
            kw.FORCE_FLAG_KW: "",
            kw.REG_CHKSUM_KW: "",
            kw.DATA_SIZE_KW: str(len(data)),
        }
        if self._resource:
            options[kw.DEST_RESC_NAME_KW] = self._resource
        body = FileOpenRequest(
            objPath=path,
            createMode=0o644,
            openFlags=O_WRONLY | O_CREAT | O_TRUNC,
            offset=0,
            dataSize=len(data),
            numThreads=0,
            oprType=PUT_OPR,
            KeyValPair_PI=StringStringMap(options),
        )
        with translate_errors(path), session.pool.get_connection() as conn:
            _send_with_bytes(conn, api_number["DATA_OBJ_PUT_AN"], body, data)
            conn.recv()

    def _write(
        self, session: iRODSSession, path: str, size: int, source: _Source, *, md5: bool = False
    ) -> LocalDigest:
        """Create or truncate ``path``, stream ``source`` into it; the local SHA-256 hex.

        Two reused buffers per thread: while one chunk is on the wire (and the server writes
        and hashes it), a helper thread reads and hashes the next one into the other buffer,
        so the client's SHA-256 (and MD5, ``md5``) overlaps the round trip instead of adding to
        it. No further copies. If the local file fails mid-way the partial object is removed.
        """
        options = {kw.REG_CHKSUM_KW: "", kw.DATA_SIZE_KW: str(size)}
        if self._resource:
            options[kw.DEST_RESC_NAME_KW] = self._resource
        digest = _Digests(md5)
        with translate_errors(path):
            raw = self._open_raw(session, path, O_WRONLY | O_CREAT | O_TRUNC, size, options)
        chunks = _Prefetcher(source, digest)
        try:
            while (chunk := chunks.next_chunk()) is not None:
                with translate_errors(path):
                    _write_chunk(raw.conn, raw.desc, chunk)
        except _LocalFileError:
            _close_raw(raw, path, quiet=True)
            with contextlib.suppress(Exception):
                session.data_objects.unlink(path, force=True)
            raise
        except BaseException:
            _close_raw(raw, path, quiet=True)
            raise
        finally:
            chunks.close()
        _close_raw(raw, path, quiet=False)
        return digest.result()

    def _read(self, session: iRODSSession, path: str, max_bytes: int) -> bytes:
        with translate_errors(path):
            raw = self._open_raw(session, path, O_RDONLY, -1, {})
        parts: list[bytes] = []
        total = 0
        try:
            while True:
                buf = bytearray(min(CHUNK, max_bytes + 1 - total) or 1)
                with translate_errors(path):
                    n = raw.readinto(buf)
                if not n:
                    break
                parts.append(bytes(buf[:n]))
                total += n
                if total > max_bytes:
                    raise PermanentIRODSError(
                        f"data object '{path}' is larger than {max_bytes} bytes; "
                        "raise max_bytes or read it another way",
                        path=path,
                        name="TOO_LARGE",
                    )
        except BaseException:
            _close_raw(raw, path, quiet=True)
            raise
        _close_raw(raw, path, quiet=False)
        return b"".join(parts)

    # ------------------------------------------------------------------ metadata

    def _is_collection(self, path: str) -> bool:
        return self.collection_exists(path)

    def get_metadata(self, path: str) -> list[AVU]:
        """Every AVU on collection or data object ``path`` (sorted)."""
        path = check_irods_path(path)
        is_collection = self._is_collection(path)

        def run() -> list[Any]:
            with translate_errors(path):
                return list(self._metadata_query(path, is_collection).get_results())

        rows = call_with_retries(run, operation="get_metadata", path=path)
        meta: Any = CollectionMeta if is_collection else DataObjectMeta
        return sorted(
            {AVU(r[meta.name], r[meta.value], r[meta.units] or "") for r in rows},
            key=lambda a: (a.attr, a.value, a.units),
        )

    def _metadata_query(self, path: str, is_collection: bool) -> Any:
        if is_collection:
            return self._session.query(
                CollectionMeta.name, CollectionMeta.value, CollectionMeta.units
            ).filter(_equals(Collection.name, path, "iRODS path"))
        return self._session.query(
            DataObjectMeta.name, DataObjectMeta.value, DataObjectMeta.units
        ).filter(
            _equals(Collection.name, posixpath.dirname(path), "iRODS path"),
            _equals(DataObject.name, posixpath.basename(path), "iRODS path"),
        )

    def set_metadata(
        self,
        path: str,
        avus: Iterable[AVU | tuple[str, ...]],
        *,
        replace_attributes: Iterable[str] | None = None,
    ) -> tuple[list[AVU], list[AVU]]:
        """Make ``avus`` present on ``path`` in one atomic operation; the (added, removed) AVUs.

        AVUs already there are left alone. Existing AVUs whose attribute is in
        ``replace_attributes`` but which are not in ``avus`` are removed in the same operation,
        so readers never see a half-replaced set.
        """
        path = check_irods_path(path)
        wanted = list(dict.fromkeys(AVU.of(a) for a in avus))
        current = set(self.get_metadata(path))
        replace = set(replace_attributes or ())
        removed = sorted(
            (a for a in current if a.attr in replace and a not in wanted),
            key=lambda a: (a.attr, a.value, a.units),
        )
        added = [a for a in wanted if a not in current]
        self._apply_atomic(path, [("remove", a) for a in removed] + [("add", a) for a in added])
        return added, removed

    def remove_metadata(self, path: str, avus: Iterable[AVU | tuple[str, ...]]) -> None:
        """Remove ``avus`` from ``path`` atomically (AVUs that are not there are ignored)."""
        path = check_irods_path(path)
        current = set(self.get_metadata(path))
        gone = [a for a in dict.fromkeys(AVU.of(x) for x in avus) if a in current]
        self._apply_atomic(path, [("remove", a) for a in gone])

    def _apply_atomic(self, path: str, ops: Sequence[tuple[str, AVU]]) -> None:
        if not ops:
            return
        model = Collection if self._is_collection(path) else DataObject
        operations = [
            AVUOperation(operation=op, avu=iRODSMeta(a.attr, a.value, a.units or None))
            for op, a in ops
        ]
        with translate_errors(path):
            self._session.metadata.apply_atomic_operations(model, path, *operations)
        log.debug("irods.metadata_applied", path=path, operations=len(operations))

    def search(
        self,
        attribute: str,
        value: str,
        *,
        kind: Literal["any", "collection", "data_object"] = "any",
        limit: int | None = None,
        offset: int = 0,
    ) -> list[str]:
        """iRODS paths (sorted) of collections and/or data objects with AVU attribute=value."""
        if kind not in ("any", "collection", "data_object"):
            raise ValueError(f"kind must be any, collection or data_object, not {kind!r}")
        found: set[str] = set()

        def run() -> None:
            found.clear()
            self._search_into(found, attribute, value, kind)

        call_with_retries(run, operation="search")
        paths = sorted(found)[offset:]
        return paths if limit is None else paths[:limit]

    def _search_into(self, found: set[str], attribute: str, value: str, kind: str) -> None:
        with translate_errors():
            if kind in ("any", "collection"):
                q = self._session.query(Collection.name).filter(
                    _equals(CollectionMeta.name, attribute, "AVU attribute"),
                    _equals(CollectionMeta.value, value, "AVU value"),
                )
                found.update(r[Collection.name] for r in q.get_results())
            if kind in ("any", "data_object"):
                q = self._session.query(Collection.name, DataObject.name).filter(
                    _equals(DataObjectMeta.name, attribute, "AVU attribute"),
                    _equals(DataObjectMeta.value, value, "AVU value"),
                )
                found.update(f"{r[Collection.name]}/{r[DataObject.name]}" for r in q.get_results())

    # -------------------------------------------------------------------- upload

    def upload_directory(
        self,
        local_dir: str | os.PathLike[str],
        irods_path: str,
        metadata: RunMetadata | Iterable[AVU | tuple[str, ...]] | None = None,
        *,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        threads: int | None = None,
        progress: Progress | None = None,
        force: bool = False,
    ) -> UploadReport:
        """Upload the tree ``local_dir`` into collection ``irods_path``; see the module docstring.

        Resumable: an object already there with the local size and SHA-256 is not sent again
        (the local file is still read to hash it); ``force`` additionally makes the server
        re-read every such object to recompute its checksum. A differing object is replaced
        (truncated and rewritten). Per-file problems (unreadable file, bad name, symlink out
        of the tree, permission, checksum mismatch) land in ``report.errors``; a wrong password
        or a server that stays unreachable after the retries raises. ``progress(rel, nbytes)``
        is called once per finished file (from worker threads, one call at a time); ``metadata``
        (a ``RunMetadata``: the run AVUs the ingest flow writes, with ``irods.avu_prefix``; or
        ``(attribute, value, units)`` triples; anything else is a TypeError before any
        transfer) is added atomically on the collection at the end.
        """
        start = time.perf_counter()
        collection = check_irods_path(irods_path)
        avus = None if metadata is None else metadata_avus(metadata, self._config.avu_prefix)
        try:
            listing = walk_tree(local_dir, include=include, exclude=exclude)
        except OSError as exc:
            raise RunFolderError(
                f"run folder '{os.fspath(local_dir)}' cannot be read: {exc}; check the path"
            ) from None
        report = UploadReport()
        report.errors.extend((e.relative, e.message) for e in listing.errors)
        bound = log.bind(collection=collection, local_dir=str(listing.root))
        bound.info("irods.upload_started", files=len(listing.files), bytes=listing.total_bytes)

        self.server_version  # noqa: B018 - logs it once
        md5 = self.hash_scheme == "md5"
        existing_colls = self._existing_collections(collection)
        remote = self.list_objects(collection) if collection in existing_colls else {}
        wanted = {collection} | {f"{collection}/{d}" for d in listing.directories}
        self._create_collections(sorted(wanted - existing_colls), threads)

        workers = max(1, threads or self._config.transfer_threads)
        progress_lock = threading.Lock()
        stop = threading.Event()
        results: dict[str, tuple[LocalDigest, bool]] = {}

        def task(local: LocalFile) -> None:
            if stop.is_set():
                return
            target = _child(collection, local.relative)
            try:
                with self._worker_session() as session:
                    sha, sent = self._upload_one(session, local, target, remote, force, md5)
            except (_LocalFileError, PermanentIRODSError) as exc:
                if isinstance(exc, AuthenticationError):
                    stop.set()
                    raise
                with progress_lock:
                    report.errors.append((local.relative, str(exc)))
                bound.warning("ingest.file_failed", file=local.relative, error=str(exc))
                return
            except BaseException:
                stop.set()
                raise
            with progress_lock:
                results[local.relative] = (sha, sent)
                if progress is not None:
                    progress(local.relative, local.size)
            if sent:
                bound.debug("ingest.file_uploaded", file=local.relative, bytes=local.size)

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="irods-put") as pool:
            futures: list[Future[None]] = [pool.submit(task, f) for f in listing.files]
            wait(futures, return_when=FIRST_EXCEPTION)
            for fut in futures:
                if fut.done() and fut.exception() is not None:
                    stop.set()
                    for other in futures:
                        other.cancel()
                    raise fut.exception()  # type: ignore[misc]

        self._verify(collection, listing.files, results, report)
        if avus is not None:
            self.set_metadata(collection, avus)
        report.seconds = time.perf_counter() - start
        bound.info(
            "irods.upload_finished",
            files=report.files,
            bytes=report.bytes,
            skipped=report.skipped,
            errors=len(report.errors),
            seconds=round(report.seconds, 3),
        )
        return report

    def _create_collections(self, missing: Sequence[str], threads: int | None) -> None:
        """Create each missing collection once, parents before children, levels in parallel."""
        if not missing:
            return
        by_depth: dict[int, list[str]] = {}
        for path in missing:
            by_depth.setdefault(path.count("/"), []).append(path)
        workers = max(1, threads or self._config.transfer_threads)

        def make(path: str) -> None:
            with self._worker_session() as session:
                self._create_collection(session, path)

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="irods-mkdir") as pool:
            for depth in sorted(by_depth):
                list(pool.map(make, by_depth[depth]))

    def _upload_one(
        self,
        session: iRODSSession,
        local: LocalFile,
        target: str,
        remote: dict[str, RemoteObject],
        force: bool,
        md5: bool,
    ) -> tuple[LocalDigest, bool]:
        """(local digests, whether it was sent) for one file.

        An object without a good replica (a write that never closed) is always sent again.
        """
        there = remote.get(local.relative)
        if there is not None and there.good and there.size == local.size:
            local_digest = _hash_file(local, md5=md5)
            same = None if force else local_digest.matches(there)
            if same is None:
                same = local_digest.matches(self.checksum_of(target, recompute=force))
            if same:
                return local_digest, False

        def attempt() -> LocalDigest:
            with _open_local(local) as fh:
                if local.size <= SINGLE_PUT_MAX:
                    data = _FileSource(fh, local).read(local.size + 1)
                    if len(data) <= SINGLE_PUT_MAX:  # else it grew past it: stream it
                        self._put_single(session, target, data)
                        return digest_bytes(data, md5=md5)
                    fh.seek(0)
                return self._write(session, target, local.size, _FileSource(fh, local), md5=md5)

        return call_with_retries(
            attempt, operation="put", path=target, on_retry=session.cleanup
        ), True

    def _verify(
        self,
        collection: str,
        files: Sequence[LocalFile],
        results: dict[str, tuple[LocalDigest, bool]],
        report: UploadReport,
    ) -> None:
        """Compare every server checksum with the local digest of its scheme (one listing)."""
        after = self.list_objects(collection) if results else {}
        for local in files:
            if local.relative not in results:
                continue
            digest, sent = results[local.relative]
            there = after.get(local.relative)
            target = _child(collection, local.relative)
            if there is not None and not there.good:
                report.errors.append(
                    (
                        local.relative,
                        f"iRODS holds '{target}' without a good replica (stale or still being "
                        "written by another client); make sure no other ingest of this run is "
                        "running and ingest again",
                    )
                )
                continue
            same = digest.matches(there) if there is not None else False
            server = there
            if there is not None and same is None:
                try:
                    server = self.checksum_of(target)
                except PermanentIRODSError as exc:
                    report.errors.append((local.relative, str(exc)))
                    continue
                same = digest.matches(server)
            if there is None or there.size != local.size or not same:
                held = (server.checksum or server.md5) if server is not None else None
                report.errors.append(
                    (
                        local.relative,
                        f"iRODS holds '{target}' with size "
                        f"{there.size if there else 'none'} and checksum {held}, the local "
                        f"file has {local.size} bytes and {digest.describe()}; it changed "
                        "while being read or the transfer was damaged: ingest again",
                    )
                )
                continue
            report.files += 1
            report.bytes += local.size
            report.checksums[local.relative] = digest.sha256
            if digest.md5 is not None:
                report.md5s[local.relative] = digest.md5
            if sent:
                report.uploaded.append(local.relative)
            else:
                report.skipped += 1
                report.skipped_bytes += local.size


class _Source:
    def readinto(self, buf: bytearray) -> int:
        raise NotImplementedError


class _BytesSource(_Source):
    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._pos = 0

    def readinto(self, buf: bytearray) -> int:
        chunk = self._data[self._pos : self._pos + len(buf)]
        buf[: len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)


class _FileSource(_Source):
    def __init__(self, fh: IO[bytes], local: LocalFile) -> None:
        self._fh = fh
        self._local = local

    def read(self, n: int) -> bytes:
        try:
            return self._fh.read(n)
        except OSError as exc:
            raise self._error(exc) from None

    def readinto(self, buf: bytearray) -> int:
        try:
            return int(self._fh.readinto(buf))  # type: ignore[attr-defined]
        except OSError as exc:
            raise self._error(exc) from None

    def _error(self, exc: OSError) -> _LocalFileError:
        return _LocalFileError(
            f"'{self._local.relative}' cannot be read: {exc.strerror}; check the file"
        )


_buffers = threading.local()


def _chunk_buffers() -> tuple[bytearray, bytearray]:
    """This thread's two transfer buffers (CHUNK bytes each, allocated once per thread)."""
    pair: tuple[bytearray, bytearray] | None = getattr(_buffers, "pair", None)
    if pair is None:
        pair = _buffers.pair = (bytearray(CHUNK), bytearray(CHUNK))
    return pair


def _chunk_buffer() -> bytearray:
    """This thread's (first) transfer buffer."""
    return _chunk_buffers()[0]


class _Prefetcher:
    """Chunks of ``source``, each read and hashed one step ahead in a helper thread.

    ``next_chunk()`` returns a view of the chunk read last (valid until the next call) and
    starts reading the following one into this thread's other buffer; the digest is updated
    in file order, one chunk at a time. hashlib and file reads release the GIL, so the helper
    hashes while the caller sends. ``close()`` waits for the helper (no buffer is in use
    after it); read errors (_LocalFileError) surface from ``next_chunk``.
    """

    def __init__(self, source: _Source, digest: Any) -> None:
        self._source = source
        self._digest = digest
        self._buffers = _chunk_buffers()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="irods-read")
        self._index = 0
        self._pending: Future[int] | None = self._pool.submit(self._fill, 0)

    def _fill(self, index: int) -> int:
        buf = self._buffers[index]
        n = self._source.readinto(buf)
        if n:
            self._digest.update(memoryview(buf)[:n])
        return n

    def next_chunk(self) -> memoryview | None:
        """The next chunk (hashed already), or None at the end of the source."""
        if self._pending is None:
            return None
        n = self._pending.result()
        if not n:
            self._pending = None
            return None
        ready = self._index
        self._index ^= 1
        self._pending = self._pool.submit(self._fill, self._index)
        return memoryview(self._buffers[ready])[:n]

    def close(self) -> None:
        """Wait for the helper thread to finish and stop it."""
        self._pending = None
        self._pool.shutdown(wait=True, cancel_futures=True)


def _send_with_bytes(conn: Any, api: int, body: Any, data: bytes | memoryview) -> None:
    """Send one API request whose byte stream is ``data``, without copying ``data``.

    (python-irodsclient's ``send`` concatenates header, message and bytes into a new buffer.)
    A failed send destroys the connection, as python-irodsclient does.
    """
    main = body.pack()
    if isinstance(main, str):
        main = main.encode("utf-8")
    head = iRODSMessage.pack_header("RODS_API_REQ", len(main), 0, len(data), api) + main
    try:
        if not getattr(conn, "_rodrunner_nodelay", False):  # the last segment must not wait
            conn.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn._rodrunner_nodelay = True
        if len(data) <= SMALL_SEND:  # one segment: no Nagle wait between header and bytes
            conn.socket.sendall(head + data)
        else:
            conn.socket.sendall(head)
            conn.socket.sendall(data)
    except (OSError, AttributeError) as exc:  # AttributeError: a socket already closed
        conn.release(True)
        raise irods_exc.NetworkException(f"Unable to send message: {exc}") from None


def _write_chunk(conn: Any, desc: int, data: memoryview) -> None:
    """DATA_OBJ_WRITE of ``data`` on descriptor ``desc``; raises if the server wrote less."""
    body = OpenedDataObjRequest(
        l1descInx=desc,
        len=len(data),
        whence=0,
        oprType=0,
        offset=0,
        bytesWritten=0,
        KeyValPair_PI=StringStringMap(),
    )
    _send_with_bytes(conn, api_number["DATA_OBJ_WRITE_AN"], body, data)
    written = conn.recv().int_info
    if written != len(data):
        raise irods_exc.SYS_COPY_LEN_ERR(f"the server wrote {written} of {len(data)} bytes")


@contextmanager
def _open_local(local: LocalFile) -> Iterator[IO[bytes]]:
    try:
        fh = open(local.source, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise _LocalFileError(
            f"'{local.relative}' cannot be opened: {exc.strerror}; check its permissions"
        ) from None
    with fh:
        yield fh


def _hash_file(local: LocalFile, *, md5: bool = False) -> LocalDigest:
    digest = _Digests(md5)
    with _open_local(local) as fh:
        source = _FileSource(fh, local)
        buf = _chunk_buffer()
        while n := source.readinto(buf):
            digest.update(memoryview(buf)[:n])
    return digest.result()


def _close_socket(conn: Any) -> None:
    """Close a dead connection's socket and mark it disconnected (no goodbye on a dead line)."""
    sock = getattr(conn, "socket", None)
    conn._disconnected = True
    conn.socket = None
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.close()


def _discard_connection(conn: Any) -> None:
    """Close a broken connection's socket and drop it from its pool."""
    _close_socket(conn)
    with contextlib.suppress(Exception):
        conn.release(True)


def _close_raw(raw: Any, path: str, *, quiet: bool) -> None:
    """Close an open data object; on failure discard its connection (and raise unless quiet)."""
    try:
        with translate_errors(path):
            raw.close()
    except IRODSError:
        _discard_connection(raw.conn)
        io.RawIOBase.close(raw)  # mark closed so the finaliser does not try again
        if not quiet:
            raise


def _read_irodsA(env_file: Path, env: dict[str, Any]) -> str:
    """The password from the .irodsA that goes with ``env_file`` (see the module docstring)."""
    candidates = []
    if env.get("irods_authentication_file"):
        candidates.append(Path(str(env["irods_authentication_file"])).expanduser())
    if os.environ.get("IRODS_AUTHENTICATION_FILE"):
        candidates.append(Path(os.environ["IRODS_AUTHENTICATION_FILE"]))
    candidates += [env_file.parent / ".irodsA", Path("~/.irods/.irodsA").expanduser()]
    for candidate in candidates:
        try:
            text = candidate.read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise ConfigError(
                f"iRODS password file '{candidate}' cannot be read: {exc.strerror}",
                key="irods.env_file",
            ) from None
        try:
            return str(decode_irodsA(text.rstrip("\n")))
        except Exception:
            raise AuthenticationError(
                f"iRODS password file '{candidate}' cannot be decoded; run iinit again",
                name="AUTH_FILE_NOT_ENCRYPTED",
            ) from None
    raise AuthenticationError(
        f"no .irodsA password file for '{env_file}' (looked in "
        f"{', '.join(str(c) for c in candidates)}); run iinit or set irods.password",
        name="AUTH_FILE_DOES_NOT_EXIST",
    )

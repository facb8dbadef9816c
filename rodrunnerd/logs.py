"""Logging for the ``rodrunnerd`` entry point: the one place that configures it.

:func:`configure_logging` routes structlog and the standard library (Prefect, watchdog,
uvicorn ...) through one chain to one of three outputs:

- ``journald``: native journal entries (SYSLOG_IDENTIFIER=rodrunnerd, PRIORITY from the level,
  every field upper-cased: RUN_ID, RUN_DIR, SEQUENCER_TYPE, FLOW_RUN_ID, EVENT ...; a traceback
  is part of the one entry's MESSAGE);
- ``json``: one JSON object per line on stderr;
- ``console``: structlog's console renderer, for people at a terminal.

``auto`` picks journald when stderr is the journal stream systemd gave us (``$JOURNAL_STREAM``
names stderr's device and inode), the console on a TTY, JSON lines otherwise.

The journal is reached with its native protocol (systemd.io/JOURNAL_NATIVE_PROTOCOL), written
here in a few lines instead of depending on a binding: ``systemd-python`` has no wheels and
needs libsystemd's headers and a compiler, and ``cysystemd``'s wheels are glibc-specific
builds of a C extension; the protocol is a stable, documented datagram format, and this way
the socket is a parameter the tests can point anywhere. Entries too big for one datagram go
through a sealed memfd, as libsystemd does. When the journal cannot be reached, entries go
to stderr as plain lines: a log line is never dropped silently.

Secrets never reach any output: :func:`redact_secrets` masks :class:`pydantic.SecretStr`
values, values under secret-sounding keys, and passwords inside URLs.
"""

from __future__ import annotations

import array
import errno
import fcntl
import json
import logging
import os
import re
import socket
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import IO, Any, Literal

import structlog
from pydantic import SecretBytes, SecretStr
from structlog.typing import EventDict, Processor, WrappedLogger

__all__ = [
    "JOURNAL_SOCKET",
    "MASK",
    "JournaldHandler",
    "JournaldSender",
    "configure_logging",
    "journald_fields",
    "redact_secrets",
    "resolve_format",
]

Format = Literal["auto", "json", "console", "journald"]

JOURNAL_SOCKET = "/run/systemd/journal/socket"
IDENTIFIER = "rodrunnerd"
MASK = "**********"

_SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)?$|secret|token|api[_-]?key|authori[sz]ation|credential|cookie|"
    r"private[_-]?key|^urls?$",
    re.IGNORECASE,
)
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@/\s]+(?=@)", re.IGNORECASE)

_PRIORITY = {
    "critical": 2,
    "exception": 3,
    "error": 3,
    "warning": 4,
    "warn": 4,
    "notice": 5,
    "info": 6,
    "debug": 7,
}
_DROPPED = frozenset({"timestamp", "_record", "_from_structlog", "level", "log_level"})
_FIELD_CHARS = re.compile(r"[^A-Z0-9_]")


# --- redaction --------------------------------------------------------------------------------


def _redact(key: str | None, value: Any) -> Any:
    if isinstance(value, SecretStr | SecretBytes):
        return MASK
    if key is not None and _SECRET_KEY.search(key) and value not in (None, "", [], {}):
        return MASK
    if isinstance(value, str):
        return _URL_PASSWORD.sub(rf"\g<head>{MASK}", value)
    if isinstance(value, Mapping):
        return {k: _redact(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact(None, v) for v in value)
    return value


def redact_secrets(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask secrets in every field (see the module docstring)."""
    for key in list(event_dict):
        if key in ("_record", "exc_info"):
            continue
        event_dict[key] = _redact(key, event_dict[key])
    return event_dict


# --- journald ---------------------------------------------------------------------------------


def _field_name(key: str) -> str | None:
    """A journal field name from an event key: upper case, [A-Z0-9_], no leading _ or digit."""
    name = _FIELD_CHARS.sub("_", key.upper()).lstrip("_")[:64]
    if not name:
        return None
    if name[0].isdigit():
        name = ("F_" + name)[:64]
    return name


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def journald_fields(
    event_dict: Mapping[str, Any], identifier: str = IDENTIFIER
) -> list[tuple[str, str]]:
    """The journal fields of one event: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, EVENT, then
    every other key upper-cased. The traceback (``exception``) ends MESSAGE."""
    ed = dict(event_dict)
    event = _text(ed.pop("event", ""))
    level = str(ed.get("log_level") or ed.get("level") or "info").lower()
    exception = ed.pop("exception", None)
    context = " ".join(
        f"{k}={_text(v)}" for k, v in ed.items() if k not in _DROPPED and k != "logger"
    )
    message = f"{event} {context}".rstrip() if context else event
    if exception:
        message = f"{message}\n{_text(exception).rstrip()}"
    fields = [
        ("MESSAGE", message),
        ("PRIORITY", str(_PRIORITY.get(level, 6))),
        ("SYSLOG_IDENTIFIER", identifier),
        ("EVENT", event),
    ]
    taken = {name for name, _ in fields}
    for key, value in ed.items():
        if key in _DROPPED or value is None:
            continue
        name = _field_name(str(key))
        if name is None or name in taken:
            continue
        taken.add(name)
        fields.append((name, _text(value)))
    return fields


def _serialize(fields: Sequence[tuple[str, str]]) -> bytes:
    """The native protocol: ``KEY=value\\n``, or ``KEY\\n<le64 size><value>\\n`` with newlines."""
    out = bytearray()
    for name, value in fields:
        data = value.encode("utf-8", "replace")
        key = name.encode("ascii")
        if b"\n" in data:
            out += key + b"\n" + len(data).to_bytes(8, "little") + data + b"\n"
        else:
            out += key + b"=" + data + b"\n"
    return bytes(out)


class JournaldSender:
    """Sends entries to the journal's native socket."""

    def __init__(self, socket_path: str = JOURNAL_SOCKET) -> None:
        self.socket_path = socket_path
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None

    def send(self, fields: Sequence[tuple[str, str]]) -> None:
        """Send one entry; raises OSError when the journal cannot be reached."""
        payload = _serialize(fields)
        with self._lock:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            try:
                self._sock.sendto(payload, self.socket_path)
            except OSError as exc:
                if exc.errno not in (errno.EMSGSIZE, errno.ENOBUFS):
                    raise
                self._send_memfd(self._sock, payload)

    def _send_memfd(self, sock: socket.socket, payload: bytes) -> None:
        """Big entries: the payload in a sealed memfd, its descriptor passed over the socket."""
        fd = os.memfd_create("rodrunnerd-journal", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
            seals = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SEAL
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
            rights = array.array("i", [fd])
            sock.sendmsg([], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, rights)], 0, self.socket_path)
        finally:
            os.close(fd)

    def close(self) -> None:
        """Close the socket."""
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None


def _redact_exception(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Mask URL passwords in a rendered traceback too."""
    if isinstance(event_dict.get("exception"), str):
        event_dict["exception"] = _redact(None, event_dict["exception"])
    return event_dict


def _fields_as_json(_: WrappedLogger, __: str, event_dict: EventDict) -> str:
    """Final processor of the journald formatter (it must return a string)."""
    return json.dumps(journald_fields(event_dict))


class JournaldHandler(logging.Handler):
    """A logging handler writing native journal entries (stderr when the journal is gone)."""

    def __init__(self, sender: JournaldSender, *, fallback: IO[str] | None = None) -> None:
        super().__init__()
        self.sender = sender
        self.fallback = fallback

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields = [(str(k), str(v)) for k, v in json.loads(self.format(record))]
            try:
                self.sender.send(fields)
            except OSError:
                stream = self.fallback or sys.stderr
                stream.write(fields[0][1] + "\n")
                stream.flush()
        except Exception:  # the logging module's contract: never raise from emit
            self.handleError(record)

    def close(self) -> None:
        self.sender.close()
        super().close()


# --- configuration ----------------------------------------------------------------------------


def _stderr_is_journal(environ: Mapping[str, str], stream: IO[str]) -> bool:
    """Whether ``$JOURNAL_STREAM`` (``device:inode``) is ``stream``'s file (systemd.exec(5))."""
    value = environ.get("JOURNAL_STREAM", "")
    device, sep, inode = value.partition(":")
    if not sep or not device.isdigit() or not inode.isdigit():
        return False
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (int(device), int(inode))


def resolve_format(
    fmt: Format, *, environ: Mapping[str, str] | None = None, stream: IO[str] | None = None
) -> Literal["json", "console", "journald"]:
    """The concrete format ``auto`` stands for here (other values are returned as given)."""
    if fmt != "auto":
        return fmt
    env = os.environ if environ is None else environ
    out = sys.stderr if stream is None else stream
    if _stderr_is_journal(env, out):
        return "journald"
    try:
        if out.isatty():
            return "console"
    except (ValueError, AttributeError):
        pass
    return "json"


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
        structlog.processors.StackInfoRenderer(),
    ]


#: libraries whose INFO lines are noise in the daemon's log (shown again at DEBUG)
QUIET_LOGGERS = ("httpx", "httpcore", "prefect.task_runs", "prefect.events", "uvicorn.access")


def configure_logging(
    fmt: Format = "auto",
    level: str = "INFO",
    *,
    stream: IO[str] | None = None,
    environ: Mapping[str, str] | None = None,
    journal_socket: str = JOURNAL_SOCKET,
) -> str:
    """Configure structlog and the standard library once; returns the format chosen.

    Called by the ``rodrunnerd`` entry point only. Calling it again replaces the handler.
    """
    out = sys.stderr if stream is None else stream
    chosen = resolve_format(fmt, environ=environ, stream=out)
    shared = _shared_processors()
    handler: logging.Handler
    if chosen == "journald":
        handler = JournaldHandler(JournaldSender(journal_socket), fallback=out)
        final: list[Processor] = [
            structlog.processors.format_exc_info,
            _redact_exception,
            _fields_as_json,
        ]
    else:
        handler = logging.StreamHandler(out)
        if chosen == "console":
            final = [structlog.dev.ConsoleRenderer(colors=_isatty(out))]
        else:
            final = [
                structlog.processors.format_exc_info,
                _redact_exception,
                structlog.processors.JSONRenderer(default=str),
            ]
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_rodrunnerd", False):
            root.removeHandler(old)
            old.close()
    setattr(handler, "_rodrunnerd", True)  # noqa: B010 (marks our handler for a reconfigure)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Third-party chatter an operator does not act on: every HTTP request Prefect's client
    # makes, and a line per finished Prefect task (the flow-level lines stay).
    quiet = logging.NOTSET if level.upper() == "DEBUG" else logging.WARNING
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(quiet)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        context_class=dict,
        cache_logger_on_first_use=False,
    )
    logging.captureWarnings(True)
    return chosen


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (ValueError, AttributeError):
        return False

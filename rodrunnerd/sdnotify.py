"""sd_notify: tell the service manager READY, STATUS, WATCHDOG and STOPPING.

The protocol (sd_notify(3)): one datagram of ``KEY=value`` lines to the AF_UNIX socket named by
``$NOTIFY_SOCKET``; a name starting with ``@`` is in the abstract namespace. Without
``$NOTIFY_SOCKET`` (not under systemd, or ``Type=simple``) every call is a no-op. A failing
send is logged once and never stops the daemon: the service manager notices on its own.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Mapping

import structlog

log = structlog.get_logger()

__all__ = ["Notifier"]


class Notifier:
    """Sends notifications to one socket (or nowhere)."""

    def __init__(self, address: str | None, *, watchdog_usec: int | None = None) -> None:
        self.address = address or None
        self.watchdog_usec = watchdog_usec
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._warned = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        """A notifier for ``$NOTIFY_SOCKET`` (and ``$WATCHDOG_USEC`` when meant for us)."""
        env = os.environ if environ is None else environ
        usec: int | None = None
        raw = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        if raw.isdigit() and int(raw) > 0 and (not pid or pid == str(os.getpid())):
            usec = int(raw)
        return cls(env.get("NOTIFY_SOCKET"), watchdog_usec=usec)

    @property
    def enabled(self) -> bool:
        """Whether there is a service manager to tell."""
        return self.address is not None

    @property
    def watchdog_interval(self) -> float | None:
        """Seconds between ``WATCHDOG=1`` pings (half the manager's timeout), or ``None``."""
        if self.watchdog_usec is None:
            return None
        return self.watchdog_usec / 2_000_000

    def _target(self) -> str:
        assert self.address is not None
        if self.address.startswith("@"):
            return "\0" + self.address[1:]
        return self.address

    def notify(self, **fields: str | int) -> bool:
        """Send ``KEY=value`` lines (keys upper-cased); ``True`` when it was delivered."""
        if self.address is None:
            return False
        lines = []
        for key, value in fields.items():
            text = str(value).replace("\n", " ")
            lines.append(f"{key.upper()}={text}")
        payload = "\n".join(lines).encode("utf-8", "replace")
        with self._lock:
            try:
                if self._sock is None:
                    self._sock = socket.socket(
                        socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
                    )
                self._sock.sendto(payload, self._target())
            except OSError as exc:
                if not self._warned:
                    log.warning("sdnotify.failed", notify_socket=self.address, error=str(exc))
                    self._warned = True
                return False
        return True

    def ready(self, status: str | None = None) -> bool:
        """``READY=1`` (with a status line): only once the daemon really is ready."""
        if status is None:
            return self.notify(ready=1)
        return self.notify(ready=1, status=status)

    def status(self, text: str) -> bool:
        """``STATUS=``: one line shown by ``systemctl status``."""
        return self.notify(status=text)

    def watchdog(self) -> bool:
        """``WATCHDOG=1``: send only while observers and scans are healthy."""
        return self.notify(watchdog=1)

    def reloading(self) -> bool:
        """``RELOADING=1`` at the start of a configuration reload (send ``ready`` after)."""
        return self.notify(reloading=1)

    def stopping(self, status: str | None = None) -> bool:
        """``STOPPING=1`` at the start of shutdown."""
        if status is None:
            return self.notify(stopping=1)
        return self.notify(stopping=1, status=status)

    def close(self) -> None:
        """Close the socket (further calls reopen it)."""
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None

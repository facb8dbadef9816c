"""Notifications through apprise, delivered to a real local SMTP server."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from rodrunner.config import AppConfig
from rodrunner.notify import format_message, notify_ingest, notify_results


@dataclass
class Inbox:
    port: int
    messages: list[email.message.EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(msg)  # type: ignore[arg-type]
        return "250 OK"

    def text(self, index: int = 0) -> str:
        msg = self.messages[index]
        part = msg.get_body(preferencelist=("plain",))
        assert part is not None
        return f"{msg['Subject']}\n{part.get_content()}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def smtp_server() -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1 collecting what it receives."""
    box = Inbox(port=_free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1 for one test."""
    with smtp_server() as box:
        yield box


def _config(port: int, **notifications: object) -> AppConfig:
    url = f"mailto://127.0.0.1:{port}?from=rodrunner@example.org&to=ops@example.org&mode=insecure"
    return AppConfig(
        irods={"password": "s3cret-pw"},  # type: ignore[arg-type]
        notifications={"urls": [url], **notifications},  # type: ignore[arg-type]
    )


FAILED = {
    "run_id": "200101_A00001_0001_AHXXXXXXX",
    "run_dir": "/seq/novaseq/200101_A00001_0001_AHXXXXXXX",
    "sequencer_type": "novaseq",
    "irods_path": "/tempZone/home/rods/sequencer/novaseq/200101_A00001_0001_AHXXXXXXX",
    "success": False,
    "status": "failed",
    "error": "checksum of Data/x.cbcl differs; password was s3cret-pw",
    "files": 10,
    "bytes": 2048,
    "seconds": 1.5,
}


def test_failure_mail_names_run_cause_and_path_not_secret(inbox: Inbox) -> None:
    """A failed ingest sends one mail naming run, cause and iRODS path, without the password."""
    assert notify_ingest(FAILED, _config(inbox.port))
    assert len(inbox.messages) == 1
    text = inbox.text()
    assert "200101_A00001_0001_AHXXXXXXX" in text
    assert "FAILED" in text
    assert "checksum of Data/x.cbcl differs" in text
    assert FAILED["irods_path"] in text
    assert "s3cret-pw" not in text


def test_success_is_quiet_unless_configured(inbox: Inbox) -> None:
    """A successful ingest is announced only with notifications.on_success."""
    ok = {**FAILED, "success": True, "status": "complete", "error": None}
    assert not notify_ingest(ok, _config(inbox.port))
    assert inbox.messages == []
    assert notify_ingest(ok, _config(inbox.port, on_success=True))
    assert "complete" in inbox.text()


def test_skipped_run_is_never_announced(inbox: Inbox) -> None:
    """A run skipped because iRODS already holds it sends nothing, even with on_success."""
    skipped = {**FAILED, "success": True, "status": "skipped", "error": None}
    assert not notify_ingest(skipped, _config(inbox.port, on_success=True))
    assert inbox.messages == []


def test_failure_quiet_when_switched_off(inbox: Inbox) -> None:
    """notifications.on_failure=false sends nothing for a failure."""
    assert not notify_ingest(FAILED, _config(inbox.port, on_failure=False))
    assert inbox.messages == []


def test_unreachable_server_does_not_raise() -> None:
    """A mail server that is down makes notify_ingest return False, not raise."""
    assert not notify_ingest(FAILED, _config(_free_port()))


def test_message_without_error_says_unknown() -> None:
    """A failure summary lacking an error still says what is known."""
    title, body = format_message({"run_dir": "/seq/x", "success": False})
    assert "/seq/x" in title
    assert "Cause: unknown" in body


def test_plain_text_mail_keeps_its_line_breaks(inbox: Inbox) -> None:
    """The mail's plain-text body has one line per fact, as formatted."""
    assert notify_ingest(FAILED, _config(inbox.port))
    part = inbox.messages[0].get_body(preferencelist=("plain",))
    assert part is not None
    lines = part.get_content().splitlines()
    assert lines[:2] == [f"Run: {FAILED['run_id']}", f"Run folder: {FAILED['run_dir']}"]
    assert "Cause: checksum of Data/x.cbcl differs; password was **********" in lines


def test_results_of_an_ingest_are_reported_in_one_mail(inbox: Inbox) -> None:
    """notify_results sends one mail: counts in the subject, each failed run with its cause."""
    ok = {**FAILED, "success": True, "status": "complete", "error": None, "run_id": "RUN_OK"}
    results = {"novaseq": [FAILED, ok], "miseq": [{**ok, "run_id": "RUN_OK2"}]}
    assert notify_results(results, _config(inbox.port, on_failure=False))
    assert len(inbox.messages) == 1
    assert inbox.messages[0]["Subject"] == "rodrunner ingest: 2 succeeded, 1 failed"
    part = inbox.messages[0].get_body(preferencelist=("plain",))
    assert part is not None
    assert part.get_content().splitlines() == [
        "Runs: 3",
        "Succeeded: 2",
        "Failed: 1",
        "",
        "Failed runs:",
        f"- {FAILED['run_id']}: checksum of Data/x.cbcl differs; password was **********",
    ]


def test_results_without_urls_send_nothing() -> None:
    """notify_results with no notifications.urls returns False and does not raise."""
    assert not notify_results([FAILED], AppConfig())

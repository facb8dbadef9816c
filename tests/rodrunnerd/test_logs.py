"""Logging configuration: JSON lines, console, redaction, and a real systemd-journald."""

from __future__ import annotations

import array
import io
import json
import logging
import os
import pty
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from pydantic import SecretStr

from rodrunnerd.logs import (
    JOURNAL_SOCKET,
    MASK,
    QUIET_LOGGERS,
    JournaldSender,
    configure_logging,
    journald_fields,
    redact_secrets,
    resolve_format,
)

JOURNALD = Path("/lib/systemd/systemd-journald")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Each test configures logging its own way; put the defaults back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    yield
    for name, old_level in quiet.items():
        logging.getLogger(name).setLevel(old_level)
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    logging.captureWarnings(False)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def _json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_lines_carry_event_and_context() -> None:
    """format json writes one JSON object per event with the event name and its fields."""
    out = io.StringIO()
    assert configure_logging("json", "INFO", stream=out) == "json"
    log = structlog.get_logger()
    structlog.contextvars.bind_contextvars(run_id="R1")
    log.info("run.detected", run_dir="/seq/R1", sequencer_type="miseq")
    log.debug("not.shown")
    logging.getLogger("prefect.test").warning("foreign %s", "line")
    lines = _json_lines(out)
    assert [line["event"] for line in lines] == ["run.detected", "foreign line"]
    first = lines[0]
    assert first["run_id"] == "R1"
    assert first["run_dir"] == "/seq/R1"
    assert first["sequencer_type"] == "miseq"
    assert first["level"] == "info"
    assert first["timestamp"].endswith("Z")
    assert lines[1]["level"] == "warning"


def test_third_party_chatter_is_quiet_unless_debugging() -> None:
    """httpx request lines and per-task Prefect lines are hidden at INFO, shown at DEBUG."""
    out = io.StringIO()
    configure_logging("json", "INFO", stream=out)
    logging.getLogger("httpx").info("HTTP Request: GET /api/health")
    logging.getLogger("prefect.task_runs").info("Finished in state Completed()")
    logging.getLogger("prefect.other").info("still shown")
    assert [line["event"] for line in _json_lines(out)] == ["still shown"]
    out = io.StringIO()
    configure_logging("json", "DEBUG", stream=out)
    logging.getLogger("httpx").info("HTTP Request: GET /api/health")
    assert [line["event"] for line in _json_lines(out)] == ["HTTP Request: GET /api/health"]


def test_traceback_is_one_json_line() -> None:
    """An exception logged in JSON mode stays one line with the traceback in a field."""
    out = io.StringIO()
    configure_logging("json", stream=out)
    try:
        raise ValueError("broken run folder")
    except ValueError:
        structlog.get_logger().exception("ingest.failed", run_id="R2")
    (line,) = _json_lines(out)
    assert line["event"] == "ingest.failed"
    assert "Traceback" in line["exception"]
    assert "ValueError: broken run folder" in line["exception"]


def test_secrets_are_redacted_in_output() -> None:
    """SecretStr values, secret-named keys and URL passwords never reach the output."""
    out = io.StringIO()
    configure_logging("json", stream=out)
    structlog.get_logger().info(
        "config.loaded",
        password=SecretStr("hunter2"),
        api_token="tok-123",
        irods={"password": "pw-456", "host": "irods.example"},
        urls=["mailtos://user:pw-789@example.org"],
        prefect_api="https://svc:pw-000@prefect.example/api",
        note=SecretStr("s3cr3t"),
    )
    text = out.getvalue()
    for secret in ("hunter2", "tok-123", "pw-456", "pw-789", "pw-000", "s3cr3t"):
        assert secret not in text
    (line,) = _json_lines(out)
    assert line["irods"]["host"] == "irods.example"
    assert line["irods"]["password"] == MASK
    assert line["prefect_api"] == f"https://svc:{MASK}@prefect.example/api"


def test_redact_processor_directly() -> None:
    """The redaction processor masks nested secrets and keeps ordinary values."""
    event = redact_secrets(
        None, "info", {"event": "x", "token": "abc", "nested": [{"secret": 1}], "n": 3}
    )
    assert event == {"event": "x", "token": MASK, "nested": [{"secret": MASK}], "n": 3}


def test_console_renderer_on_request() -> None:
    """format console writes human-readable lines containing the event and fields."""
    out = io.StringIO()
    assert configure_logging("console", stream=out) == "console"
    structlog.get_logger().info("run.submitted", run_id="R3")
    assert "run.submitted" in out.getvalue()
    assert "R3" in out.getvalue()
    assert not out.getvalue().lstrip().startswith("{")


def test_auto_picks_journald_console_or_json(tmp_path: Path) -> None:
    """auto: journald when JOURNAL_STREAM names stderr, console on a TTY, JSON otherwise."""
    with open(tmp_path / "stderr", "w") as stream:
        st = os.fstat(stream.fileno())
        matching = {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
        assert resolve_format("auto", environ=matching, stream=stream) == "journald"
        other = {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino + 1}"}
        assert resolve_format("auto", environ=other, stream=stream) == "json"
        assert resolve_format("auto", environ={}, stream=stream) == "json"
        assert resolve_format("console", environ=matching, stream=stream) == "console"
    leader, follower = pty.openpty()
    try:
        with open(follower, "w", closefd=False) as tty:
            assert resolve_format("auto", environ={}, stream=tty) == "console"
    finally:
        os.close(leader)
        os.close(follower)


def test_journald_fields_from_an_event() -> None:
    """Fields are upper-cased, PRIORITY follows the level, MESSAGE holds the traceback."""
    fields = dict(
        journald_fields(
            {
                "event": "ingest.failed",
                "level": "error",
                "run_id": "R4",
                "flow_run_id": "f-1",
                "timestamp": "t",
                "exception": "Traceback (most recent call last):\n  ...\nValueError: x",
                "2nd": 2,
            }
        )
    )
    assert fields["PRIORITY"] == "3"
    assert fields["SYSLOG_IDENTIFIER"] == "rodrunnerd"
    assert fields["EVENT"] == "ingest.failed"
    assert fields["RUN_ID"] == "R4"
    assert fields["FLOW_RUN_ID"] == "f-1"
    assert fields["F_2ND"] == "2"
    assert "TIMESTAMP" not in fields
    assert fields["MESSAGE"].startswith("ingest.failed run_id=R4")
    assert fields["MESSAGE"].endswith("ValueError: x")


def _parse_native(data: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    while data:
        line_end = data.index(b"\n")
        head = data[:line_end]
        if b"=" in head:
            key, _, value = head.partition(b"=")
            fields[key.decode()] = value.decode()
            data = data[line_end + 1 :]
        else:
            size = int.from_bytes(data[line_end + 1 : line_end + 9], "little")
            start = line_end + 9
            fields[head.decode()] = data[start : start + size].decode()
            data = data[start + size + 1 :]
    return fields


def test_native_protocol_datagram_and_memfd(tmp_path: Path) -> None:
    """Small entries are one datagram; an entry larger than a datagram arrives as a memfd."""
    path = str(tmp_path / "journal.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    server.settimeout(5)
    sender = JournaldSender(path)
    try:
        sender.send([("MESSAGE", "two\nlines"), ("RUN_ID", "R5")])
        assert _parse_native(server.recv(65536)) == {"MESSAGE": "two\nlines", "RUN_ID": "R5"}
        big = "x" * (4 << 20)
        sender.send([("MESSAGE", big)])
        _, ancdata, _, _ = server.recvmsg(16, socket.CMSG_SPACE(4))
        fds = array.array("i")
        fds.frombytes(ancdata[0][2][: fds.itemsize])
        with os.fdopen(fds[0], "rb") as memfd:
            memfd.seek(0)  # the sender's writes moved the shared offset; journald mmaps
            assert _parse_native(memfd.read()) == {"MESSAGE": big}
    finally:
        sender.close()
        server.close()


def test_unreachable_journal_falls_back_to_the_stream(tmp_path: Path) -> None:
    """Without a journal socket the entry's MESSAGE goes to the fallback stream."""
    out = io.StringIO()
    configure_logging("journald", stream=out, journal_socket=str(tmp_path / "none.sock"))
    structlog.get_logger().warning("observer.restarted", root="/seq/miseq")
    assert out.getvalue() == "observer.restarted root=/seq/miseq\n"


# --- a real systemd-journald ------------------------------------------------------------------


def _journal_answers() -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.sendto(b"MESSAGE=rodrunnerd test probe\nPRIORITY=7\n", JOURNAL_SOCKET)
    except OSError:
        return False
    finally:
        probe.close()
    return True


@pytest.fixture(scope="session")
def journald() -> Iterator[None]:
    """A running systemd-journald: the host's, or one started (and stopped) for the session."""
    if _journal_answers():
        yield
        return
    if not JOURNALD.exists() or shutil.which("journalctl") is None:
        pytest.skip(f"no journald to test against: {JOURNALD} or journalctl is missing")
    if os.geteuid() != 0:
        pytest.skip("starting systemd-journald needs root (it binds /run/systemd/journal)")
    Path("/run/systemd/journal").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SYSTEMD_LOG_TARGET": "console"}
    proc = subprocess.Popen(
        [str(JOURNALD)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 20
        while not _journal_answers():
            if proc.poll() is not None:
                stderr = proc.stderr.read().decode() if proc.stderr else ""
                pytest.skip(f"systemd-journald did not start: {stderr.strip()}")
            if time.monotonic() > deadline:
                pytest.skip("systemd-journald did not open its socket within 20 s")
            time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()


def _read_journal(*matches: str, want: int) -> list[dict[str, Any]]:
    """journalctl -o json for ``matches``, polled until ``want`` entries are there (20 s)."""
    deadline = time.monotonic() + 20
    while True:
        done = subprocess.run(
            ["journalctl", "--no-pager", "-o", "json", *matches],
            capture_output=True,
            text=True,
            check=False,
        )
        entries = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        if len(entries) >= want or time.monotonic() > deadline:
            return entries
        time.sleep(0.2)


@pytest.mark.usefixtures("journald")
def test_real_journald_fields_priority_and_one_entry_traceback() -> None:
    """Events reach a real journald with their fields, PRIORITY and the traceback in one entry."""
    out = io.StringIO()
    configure_logging("journald", "DEBUG", stream=out)
    run_id = f"run-{uuid.uuid4().hex}"
    log = structlog.get_logger()
    structlog.contextvars.bind_contextvars(
        run_id=run_id, run_dir=f"/seq/{run_id}", sequencer_type="novaseq"
    )
    log.info("run.detected")
    log.info("run.submitted", flow_run_id="flow-1", password=SecretStr("never-logged"))
    try:
        raise RuntimeError("iRODS refused the upload")
    except RuntimeError:
        log.exception("ingest.failed", flow_run_id="flow-1")
    entries = _read_journal("SYSLOG_IDENTIFIER=rodrunnerd", f"RUN_ID={run_id}", want=3)
    assert out.getvalue() == "", "nothing may fall back to stderr while journald runs"
    assert [e["EVENT"] for e in entries] == ["run.detected", "run.submitted", "ingest.failed"]
    detected, submitted, failed = entries
    assert detected["PRIORITY"] == "6"
    assert detected["RUN_DIR"] == f"/seq/{run_id}"
    assert detected["SEQUENCER_TYPE"] == "novaseq"
    assert submitted["FLOW_RUN_ID"] == "flow-1"
    assert "never-logged" not in json.dumps(submitted)
    assert failed["PRIORITY"] == "3"
    assert "Traceback (most recent call last)" in failed["MESSAGE"]
    assert failed["MESSAGE"].rstrip().endswith("RuntimeError: iRODS refused the upload")
    errors = _read_journal("-p", "err", "-t", "rodrunnerd", f"RUN_ID={run_id}", want=1)
    assert [e["EVENT"] for e in errors] == ["ingest.failed"]

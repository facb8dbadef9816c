"""Tell people about ingests and audits through apprise (mail, chat, ...).

A failed ingest is announced when ``notifications.on_failure`` is set (the default), a
successful one when ``notifications.on_success`` is set; a run skipped because iRODS already
holds it is not news and never announced. The message names the run, the
cause and the iRODS path; every configured secret is scrubbed from it before it leaves.
Sending never raises: a notification that cannot be delivered is logged as
``notify.failed`` and the ingest's outcome stands. :func:`notify_results` reports a whole
batch (what ``ingest_sequencer_runs`` returns) in one message, for a user's own flows. An audit
that finds runs not whole is announced under ``on_failure`` with every failing run and its
problems, a clean one under ``on_success``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import apprise
import structlog
from pydantic import SecretStr

from rodrunner.audit import AuditSummary
from rodrunner.config import AppConfig

log = structlog.get_logger()

REDACTED = "**********"
AUDIT_PROBLEMS_SHOWN = 10


def _secrets(config: AppConfig) -> list[str]:
    values: list[SecretStr | None] = [
        config.irods.password,
        config.api.token,
        *config.notifications.urls,
    ]
    return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced by ``**********`` (longest first)."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover - the loop always returns


def format_message(summary: Mapping[str, Any]) -> tuple[str, str]:
    """The (title, body) announcing an ingest summary (see ``ingest_run``'s return value)."""
    run = summary.get("run_id") or summary.get("run_dir") or "unknown run"
    status = summary.get("status") or ("complete" if summary.get("success") else "failed")
    irods_path = summary.get("irods_path") or "(not planned)"
    if summary.get("success"):
        title = f"rodrunner: run {run} {status}"
    else:
        title = f"rodrunner: ingest of run {run} FAILED"
    lines = [
        f"Run: {run}",
        f"Run folder: {summary.get('run_dir', '')}",
        f"Sequencer type: {summary.get('sequencer_type') or ''}",
        f"Status: {status}",
        f"iRODS path: {irods_path}",
        f"Files: {summary.get('files', 0)}  Bytes: {_human_bytes(int(summary.get('bytes') or 0))}",
    ]
    if summary.get("seconds") is not None:
        lines.append(f"Seconds: {float(summary['seconds']):.1f}")
    if summary.get("flow_run_id"):
        lines.append(f"Prefect flow run: {summary['flow_run_id']}")
    if not summary.get("success"):
        lines.append(f"Cause: {summary.get('error') or 'unknown'}")
    return title, "\n".join(lines)


def should_notify(config: AppConfig, success: bool, status: str | None = None) -> bool:
    """Whether an ingest with this outcome is announced (a skipped run never is)."""
    n = config.notifications
    if not n.urls or status == "skipped":
        return False
    return n.on_success if success else n.on_failure


def format_audit_message(summary: AuditSummary) -> tuple[str, str]:
    """The (title, body) announcing an audit: every failing run with its problems."""
    kind = "deep" if summary.deep else "catalog"
    if summary.ok:
        title = f"rodrunner: audit of {summary.checked} run(s) found nothing wrong"
    else:
        title = f"rodrunner: audit found {summary.failing} run(s) NOT WHOLE"
    lines = [
        f"Collections below: {summary.root}",
        f"Verification: {kind}",
        f"Runs checked: {summary.checked} of {summary.complete} complete",
        f"Runs failing: {summary.failing}  Problems: {summary.problems}",
    ]
    shown = 0
    for run in summary.runs:
        if run.ok:
            continue
        lines.append("")
        lines.append(f"{run.collection}:")
        for problem in run.problems[:AUDIT_PROBLEMS_SHOWN]:
            lines.append(f"  {problem}")
        if len(run.problems) > AUDIT_PROBLEMS_SHOWN:
            lines.append(f"  (and {len(run.problems) - AUDIT_PROBLEMS_SHOWN} more)")
        shown += 1
    if shown:
        lines.append("")
        lines.append("Check each with `rodrunner verify COLLECTION --deep`.")
    return title, "\n".join(lines)


def notify_audit(summary: AuditSummary, config: AppConfig) -> bool:
    """Announce an audit if configured (drift under ``on_failure``, a clean audit under
    ``on_success``); returns whether a message was delivered."""
    if not config.notifications.urls:
        return False
    if not (config.notifications.on_success if summary.ok else config.notifications.on_failure):
        return False
    title, body = format_audit_message(summary)
    return _send(config, title, body, success=summary.ok, audit=True)


def _send(config: AppConfig, title: str, body: str, *, success: bool, **context: Any) -> bool:
    """Deliver one scrubbed message to every configured URL; never raises."""
    secrets = _secrets(config)
    title, body = scrub(title, secrets), scrub(body, secrets)
    sender = apprise.Apprise()
    for index, url in enumerate(config.notifications.urls):
        if not sender.add(url.get_secret_value()):
            log.warning(
                "notify.bad_url",
                url_index=index,
                hint=f"check notifications.urls[{index}] against apprise's URL syntax",
            )
    if len(sender) == 0:
        return False
    try:
        delivered = bool(
            sender.notify(
                title=title,
                body=body,
                notify_type=apprise.NotifyType.SUCCESS if success else apprise.NotifyType.FAILURE,
                # Plain text as written: mail keeps its line breaks.
                body_format=apprise.NotifyFormat.TEXT,
            )
        )
    except Exception as exc:  # apprise plugins may raise anything; never fail the caller
        log.warning("notify.failed", error=type(exc).__name__, **context)
        return False
    if delivered:
        log.info("notify.sent", success=success, **context)
    else:
        log.warning("notify.failed", error="not delivered", **context)
    return delivered


def notify_ingest(summary: Mapping[str, Any], config: AppConfig) -> bool:
    """Announce an ingest summary if configured; returns whether a message was delivered."""
    success = bool(summary.get("success"))
    if not should_notify(config, success, summary.get("status")):
        return False
    title, body = format_message(summary)
    return _send(config, title, body, success=success, run_id=summary.get("run_id"))


Results = Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Mapping[str, Any]]]


def _entries(results: Results) -> list[Mapping[str, Any]]:
    if isinstance(results, Mapping):
        return [entry for entries in results.values() for entry in entries]
    return list(results)


def format_results(results: Results, what: str = "ingest") -> tuple[str, str]:
    """The (title, body) reporting a batch: counts, then one line per failed run and cause.

    ``results`` is what ``ingest_sequencer_runs`` (a list) or ``ingest_all_sequencer_runs``
    (a dict of lists) returns.
    """
    entries = _entries(results)
    failed = [e for e in entries if not e.get("success")]
    succeeded = len(entries) - len(failed)
    title = f"rodrunner {what}: {succeeded} succeeded, {len(failed)} failed"
    lines = [f"Runs: {len(entries)}", f"Succeeded: {succeeded}", f"Failed: {len(failed)}"]
    if failed:
        lines += ["", "Failed runs:"]
        lines += [
            f"- {e.get('run_id') or e.get('run_dir') or 'unknown run'}: "
            f"{e.get('error') or 'unknown error'}"
            for e in failed
        ]
    return title, "\n".join(lines)


def notify_results(results: Results, config: AppConfig, what: str = "ingest") -> bool:
    """Report a batch of ingest results to ``notifications.urls`` in one message.

    The explicit call of a user's flow: sent whenever URLs are configured, whatever
    ``on_success``/``on_failure`` say. Returns whether the message was delivered; never raises.
    """
    entries = _entries(results)
    title, body = format_results(entries, what)
    success = all(e.get("success") for e in entries)
    return _send(config, title, body, success=success, runs=len(entries))

"""Faults: iRODS outages, dropped transfers, SYS_* errors, a rotated password, Prefect down,
the daemon SIGKILLed again and again. Nothing lost, nothing wrong, nothing twice.

Every scenario runs the real daemon process (``python -m rodrunnerd``, embedded submission)
against the iRODS sandbox over TCP and a real ``prefect server`` (PREFECT_API_URL), and ends
with :func:`tests.reliability.harness.audit`: every run complete in iRODS exactly once
(``rodrunner::status=complete`` added once, seen from the server), its objects exactly the
run folder's files plus the manifest, every server checksum equal to the local SHA-256, and
the ledger (``rodrunnerd status --json``) holding each run once as ``ingested``.
"""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import pytest
from irods.exception import CAT_INVALID_AUTHENTICATION
from irods.meta import AVUOperation, iRODSMeta

from rodrunner.sandbox import SandboxInfo
from rodrunner.simulate import simulate_run
from tests.conftest import sandbox_session
from tests.reliability.harness import SCALE, Share, audit, wait_for
from tests.reliability.report import record

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

TYPES = ("miseq", "novaseq", "nextseq2000")


def unique_run(share: Share, stype: str, n: int, **options: object) -> Path:
    """A complete run of ``stype`` whose run id is made unique by ``n``."""
    run_ids = {
        "miseq": f"250301_M04034_{n:04d}_000000000-R{n:04d}",
        "novaseq": f"250301_A00834_{n:04d}_AHREL{n:04d}X",
        "nextseq2000": f"20250301_VH00123_{n:04d}_AAREL{n:04d}X",
    }
    root = share.roots / stype
    return simulate_run(root, stype, run_id=run_ids[stype], seed=n, **options)  # type: ignore[arg-type]


def make_runs(
    share: Share, count: int, *, files: int = 30, size: int = 4000, start: int = 0
) -> list[tuple[str, Path]]:
    """``count`` complete runs spread over the configured types."""
    runs = []
    for n in range(start, start + count):
        stype = TYPES[n % len(TYPES)]
        runs.append((stype, unique_run(share, stype, n, files=files, size=size)))
    return runs


def test_sandbox_audit_trail_records_status_adds(irods_sandbox: SandboxInfo) -> None:
    """The sandbox notes every applied AVU operation and every refused login (server side)."""
    session = sandbox_session(irods_sandbox)
    try:
        coll = f"/{irods_sandbox.zone}/home/{irods_sandbox.user}/audited"
        session.collections.create(coll)
        session.collections.get(coll).metadata.apply_atomic_operations(
            AVUOperation(operation="add", avu=iRODSMeta("rodrunner::status", "complete"))
        )
    finally:
        session.cleanup()
    bad = sandbox_session(irods_sandbox, password="wrong")
    try:
        with pytest.raises(CAT_INVALID_AUTHENTICATION):
            bad.collections.get(coll)
    finally:
        bad.cleanup()
    avus = irods_sandbox.faults.audit("avu")
    assert ("avu", coll, "add", "rodrunner::status", "complete") in avus
    assert irods_sandbox.faults.audit("auth_failed") == [("auth_failed", irods_sandbox.user)]


def test_irods_unreachable_during_ingest_of_five_runs(share: Share) -> None:
    """iRODS unreachable for an outage mid-ingest: every run is ingested once, verified."""
    share.configure(TYPES)
    daemon = share.start()
    runs = make_runs(share, 5, files=60)
    wait_for(lambda: daemon.saw('"irods.upload_started"'), 180, "an upload under way")
    faults = share.sandbox.faults
    faults.unreachable = True
    faults.restart()
    time.sleep(SCALE.outage_seconds)  # the outage itself, not an assertion on time
    faults.unreachable = False
    share.wait_complete(runs, timeout=600)
    assert daemon.stop() == 0, daemon.output()
    counts = audit(share, runs)
    failures = len(daemon.events("run.failed"))
    retries = len(daemon.events("irods.retry"))
    assert all(share.ingest_events("ingest.complete", r.name) == 1 for _, r in runs)
    record(
        "irods_unreachable",
        outage_seconds=SCALE.outage_seconds,
        **counts,
        flow_failures_retried=failures,
        irods_retries=retries,
    )


@pytest.mark.parametrize(
    ("fault", "knob"),
    [("drops", "drop_probability"), ("sys_errors", "sys_error_probability")],
)
def test_random_drops_and_sys_errors(share: Share, fault: str, knob: str) -> None:
    """Connections dropped at random byte offsets on 5 % of transfers, or SYS_RESC_IS_DOWN on
    5 % of calls: every run is still ingested once with every checksum verified."""
    faults = share.sandbox.faults
    faults.reseed(8)
    setattr(faults, knob, 0.05)
    share.configure(TYPES)
    daemon = share.start()
    runs = make_runs(share, 5, files=40, size=30_000)
    share.wait_complete(runs, timeout=600)
    faults.reset()
    assert daemon.stop() == 0, daemon.output()
    counts = audit(share, runs)
    injected = len(faults.audit("drop" if fault == "drops" else "sys_error"))
    assert injected > 0, "the fault never fired: the test proved nothing"
    record(
        fault,
        probability=0.05,
        injected=injected,
        irods_retries=len(daemon.events("irods.retry")),
        flow_failures_retried=len(daemon.events("run.failed")),
        **counts,
    )


def test_password_changed_mid_run(share: Share) -> None:
    """A password rotated mid-run: AuthenticationError, no retry storm, runs failed in the
    ledger with the reason; ingested after the configuration is fixed and `rodrunnerd retry`."""
    share.configure(TYPES, max_attempts=2, rescan_interval=3)
    daemon = share.start()
    first = unique_run(share, "novaseq", 1, files=300, size=2000)
    others = [unique_run(share, TYPES[i % 3], 10 + i, files=10, size=500) for i in range(4)]
    runs = [("novaseq", first), *((TYPES[i % 3], r) for i, r in enumerate(others))]
    wait_for(lambda: daemon.saw('"irods.upload_started"', first.name), 180, "first upload")
    new_password = "rotated-Secret-1"
    share.session.users.modify(share.sandbox.user, "password", new_password)
    share.sandbox.faults.restart()  # live connections log in again, as after a server restart
    share.session.cleanup()
    share.session = sandbox_session(share.sandbox, password=new_password)

    def left_failed() -> bool:
        states = {r["run_dir"]: r for r in share.ledger()}
        return all(
            share.complete(t, r.name)
            or (
                states.get(str(r), {}).get("state") == "failed"
                and states[str(r)]["attempts"] >= 2
                and states[str(r)]["next_attempt_at"] is None
            )
            for t, r in runs
        )

    wait_for(left_failed, 300, f"runs failed and left for the operator\n{daemon.output()}")
    failed = [(t, r) for t, r in runs if not share.complete(t, r.name)]
    assert failed, "the rotation came too late: every run was already complete"
    logins = len(share.sandbox.faults.audit("auth_failed"))
    time.sleep(8)  # several backoff periods: a storm would keep logging in
    assert len(share.sandbox.faults.audit("auth_failed")) == logins, "retry storm"
    ledger = {r["run_dir"]: r for r in share.ledger()}
    for _, run_dir in failed:
        error = ledger[str(run_dir)]["last_error"] or ""
        assert "refused the credentials" in error, error
        assert new_password not in error
        assert "\n" not in error, error
        assert len(error) < 400, error
    failures = [e for e in daemon.events("ingest.failed") if "credentials" in str(e.get("error"))]
    assert failures, daemon.output()
    assert daemon.alive()

    share.set_password_in_config(new_password)
    for _, run_dir in failed:
        answer = share.rodrunnerd("retry", str(run_dir))
        assert answer.returncode == 0, answer.stderr
    share.wait_complete(runs, timeout=600)
    assert daemon.stop() == 0, daemon.output()
    counts = audit(share, runs)
    record(
        "password_changed",
        runs_failed=len(failed),
        refused_logins=logins,
        attempts_per_run=2,
        **counts,
    )


def test_prefect_api_down_during_submissions(share: Share) -> None:
    """The Prefect API down while runs are submitted: they wait or fail and are retried with
    backoff; when it is back every run is ingested once."""
    share.configure(TYPES)
    daemon = share.start()
    share.prefect.stop()
    try:
        runs = make_runs(share, 5, files=10, size=1000)
        wait_for(
            lambda: daemon.count('"run.submitted"') >= 2, 120, f"submissions\n{daemon.output()}"
        )
        time.sleep(SCALE.prefect_down_seconds)  # the outage itself
    finally:
        share.prefect.start()
    share.wait_complete(runs, timeout=600)
    assert daemon.stop() == 0, daemon.output()
    counts = audit(share, runs)
    assert all(share.ingest_events("ingest.complete", r.name) == 1 for _, r in runs)
    record(
        "prefect_down",
        down_seconds=SCALE.prefect_down_seconds,
        failed_submissions_retried=len(daemon.events("run.failed")),
        **counts,
    )


PHASES = (
    ("detection", '"run.detected"'),
    ("submission", '"run.submitted"'),
    ("upload", '"irods.upload_started"'),
    ("tagging", '"ingest.verified"'),
)


def test_daemon_sigkilled_at_random_points(share: Share) -> None:
    """The daemon SIGKILLed at random points of detection, submission, upload and tagging and
    started again each time: every run ingested exactly once, verified, ledger consistent."""
    rng = random.Random(20)
    share.configure(TYPES, settle_seconds=0, max_attempts=10)
    runs: list[tuple[str, Path]] = []
    kills: list[str] = []
    for n in range(SCALE.kills):
        phase, needle = PHASES[n % len(PHASES)]
        life = share.start()
        stype = TYPES[n % len(TYPES)]
        runs.append(
            (stype, unique_run(share, stype, 100 + n, files=rng.randint(20, 120), size=3000))
        )
        try:
            wait_for(lambda life=life, needle=needle: life.saw(needle), 60, phase)  # type: ignore[misc]
            time.sleep(rng.uniform(0.0, 0.3))
            kills.append(phase)
        except AssertionError:
            kills.append(f"{phase} (not reached: killed later)")
        assert life.stop(signal.SIGKILL, timeout=30) == -signal.SIGKILL
    final = share.start()
    share.wait_complete(runs, timeout=900)
    assert final.stop() == 0, final.output()
    counts = audit(share, runs)
    for _, run_dir in runs:
        assert share.ingest_events("ingest.complete", run_dir.name) <= 1
    resumed = sum(len(life.events("run.resumed")) for life in share.lives)
    record("sigkill", kills=len(kills), points=", ".join(kills), resumed=resumed, **counts)

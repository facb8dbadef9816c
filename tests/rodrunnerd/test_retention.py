"""Retention in the daemon: real run folders ingested by the real flow (Prefect's harness), the
iRODS sandbox over TCP, the real ledger; folders moved or deleted only when the gate passes."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from rodrunner.config import AppConfig, get_config
from rodrunner.errors import ConfigError, LedgerError
from rodrunner.irods.client import iRODSClient
from rodrunner.ledger.states import RunState
from rodrunner.ledger.store import Ledger
from rodrunner.plan import INGESTED_AT_ATTR
from rodrunner.sandbox import SandboxInfo
from rodrunner.simulate import simulate_run
from rodrunner.stored_run import resolve, verify_run
from rodrunnerd import retention
from rodrunnerd.cli import main
from rodrunnerd.daemon import Daemon
from rodrunnerd.metrics import Metrics
from rodrunnerd.sdnotify import Notifier
from tests.conftest import sandbox_session
from tests.rodrunnerd.test_daemon import events, run_until

PAST = datetime.now(UTC) - timedelta(days=3)


def write_config(tmp: Path, sandbox: SandboxInfo, **retention_: Any) -> Path:
    """A configuration file with one miseq root, settle 0 and the given retention keys."""
    config = {
        "irods": {
            "host": sandbox.host,
            "port": sandbox.port,
            "zone": sandbox.zone,
            "user": sandbox.user,
            "password": sandbox.password.get_secret_value(),
        },
        "sequencer": {"base_dir": str(tmp / "share"), "types": {"miseq": {}}},
        "daemon": {"state_dir": str(tmp / "state"), "settle_seconds": 0},
        "retention": {"keep_days": 1, "verify_within": 1, "interval": 3600, **retention_},
    }
    (tmp / "share" / "miseq").mkdir(parents=True, exist_ok=True)
    path = tmp / "config.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


@pytest.fixture
def daemon_of() -> Iterator[Any]:
    """Start daemons for a test; every one is stopped at the end."""
    started: list[Daemon] = []

    def start(config: AppConfig) -> Daemon:
        daemon = Daemon(config, notifier=Notifier(None))
        daemon.start()
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        if daemon.ledger is not None and daemon.lock is not None:
            daemon.stop()


def age(config: AppConfig, run: Path) -> None:
    """Make ``run`` look ingested 3 days ago: its ``rodrunner::ingested_at`` and its files'
    modification times (older than that)."""
    older = (PAST - timedelta(hours=1)).timestamp()
    for path in [run, *run.rglob("*")]:
        os.utime(path, (older, older), follow_symlinks=False)
    stamp = PAST.isoformat(timespec="seconds").replace("+00:00", "Z")
    with iRODSClient(config.irods) as client:
        collection = resolve(str(run), config).collection
        client.set_metadata(
            collection, [(INGESTED_AT_ATTR, stamp, "")], replace_attributes=[INGESTED_AT_ATTR]
        )


def deep_verify(config: AppConfig, run: Path) -> None:
    """``rodrunner verify RUN --deep`` (the library call): records rodrunner::verified_at."""
    with iRODSClient(config.irods) as client:
        assert verify_run(client, resolve(str(run), config), deep=True).ok


def state(config: AppConfig, run: Path) -> tuple[RunState, str | None]:
    with Ledger.open(Path(config.daemon.state_dir)) as ledger:
        record = ledger.get(str(run))
    assert record is not None
    return record.state, record.last_error


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.usefixtures("prefect_harness")
def test_delete_releases_exactly_the_runs_that_pass_the_gate(
    tmp_path: Path, irods_sandbox: SandboxInfo, daemon_of: Any
) -> None:
    """With action delete: the aged, verified run goes; one that gained a file, one with
    .rodrunner-keep, one younger than keep_days and one whose collection lost an object stay.
    The released run, recreated, is not ingested again."""
    config = get_config(write_config(tmp_path, irods_sandbox, action="delete"))
    root = tmp_path / "share" / "miseq"
    names = ["passes", "gained", "kept", "young", "tampered"]
    runs = {
        n: simulate_run(root, "miseq", files=3, size=64, run_id=f"250101_M0_{i:04d}_{n}", seed=i)
        for i, n in enumerate(names)
    }
    daemon = daemon_of(config)
    for run in runs.values():
        run_until(daemon, run, RunState.INGESTED)
    for name, run in runs.items():
        if name != "young":
            age(config, run)
        deep_verify(config, run)
    (runs["gained"] / "late.txt").write_text("written after the ingest")
    (runs["kept"] / ".rodrunner-keep").write_text("")
    with sandbox_session(irods_sandbox) as session:
        collection = resolve(str(runs["tampered"]), config).collection
        objects = session.collections.get(collection).data_objects
        victim = next(o.path for o in objects if "manifest" not in o.name)
        session.data_objects.unlink(victim, force=True)

    metrics = daemon.ctx.metrics._impl  # collected, not served (daemon.metrics unset)
    assert isinstance(metrics, Metrics)
    with capture_logs() as logs:
        daemon.retention.now.set()
        daemon.step()
        assert daemon.retention.thread is not None
        daemon.retention.thread.join()
    assert not runs["passes"].exists()
    assert not os.path.lexists(retention.tombstone(str(runs["passes"])))
    for name in names[1:]:
        assert runs[name].is_dir(), name
        assert state(config, runs[name])[0] is RunState.INGESTED, name
    released, how = state(config, runs["passes"])
    assert released is RunState.RELEASED
    assert how is not None
    assert how.startswith("deleted: ")
    assert [e["run_dir"] for e in events(logs, "run.released")] == [str(runs["passes"])]
    assert [e["run_dir"] for e in events(logs, "run.deletable")] == [str(runs["passes"])]
    text = metrics.render().decode()
    assert 'rodrunner_runs_released_total{action="delete"} 1.0' in text
    assert "rodrunner_runs_deletable 1.0" in text

    # The same folder again, complete: the daemon never ingests it again.
    again = simulate_run(root, "miseq", files=3, size=64, run_id=runs["passes"].name, seed=9)
    assert again == runs["passes"]
    (again / ".rodrunner-ingest").write_text("")
    with capture_logs() as later:
        daemon.intake.full_scan()
        for _ in range(5):
            daemon.step()
    assert state(config, again)[0] is RunState.RELEASED
    assert events(later, "run.submitted") == []
    assert again.is_dir()


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.usefixtures("prefect_harness")
def test_dry_run_changes_nothing_and_move_puts_the_folder_into_move_to(
    tmp_path: Path,
    irods_sandbox: SandboxInfo,
    daemon_of: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """dry_run logs run.deletable and leaves folder and ledger alone; `rodrunnerd retention
    --dry-run` says what would go and why the rest stay; action move renames the folder into
    move_to and the ledger says released, moved to there."""
    attic = tmp_path / "attic"
    attic.mkdir()
    path = write_config(tmp_path, irods_sandbox, action="move", move_to=str(attic), dry_run=True)
    config = get_config(path)
    root = tmp_path / "share" / "miseq"
    run = simulate_run(root, "miseq", files=3, size=64, run_id="250101_M0_0100_move")
    young = simulate_run(root, "miseq", files=2, size=64, run_id="250101_M0_0101_young")
    daemon = daemon_of(config)
    run_until(daemon, run, RunState.INGESTED)
    run_until(daemon, young, RunState.INGESTED)
    age(config, run)
    deep_verify(config, run)
    names = sorted(p.name for p in run.iterdir())

    with capture_logs() as logs:
        daemon.retention.now.set()
        daemon.step()
        assert daemon.retention.thread is not None
        daemon.retention.thread.join()
    assert run.is_dir()
    assert list(attic.iterdir()) == []
    assert state(config, run)[0] is RunState.INGESTED
    assert [e["run_dir"] for e in events(logs, "run.deletable")] == [str(run)]
    assert all(e["dry_run"] for e in events(logs, "run.deletable"))
    assert events(logs, "run.released") == []

    capsys.readouterr()
    assert main(["retention", "--dry-run", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("retention.action: move (dry run); 1 of 2 ingested")
    assert f"would move to {attic / run.name}  {run}" in out
    assert f"stays      {young}: keep_days:" in out
    assert run.is_dir()

    daemon.config = config.model_copy(
        update={"retention": config.retention.model_copy(update={"dry_run": False})}
    )
    report = daemon.retention.run_pass()
    assert report is not None
    assert report.released == [str(run)]
    assert not run.exists()
    assert sorted(p.name for p in (attic / run.name).iterdir()) == names
    released, how = state(config, run)
    assert released is RunState.RELEASED
    assert how is not None
    assert how.startswith(f"moved to {attic / run.name}: ")
    assert young.is_dir()


def test_move_needs_move_to_outside_every_root(tmp_path: Path, irods_sandbox: SandboxInfo) -> None:
    """action move without move_to, or with move_to inside a sequencer root, is refused at
    load time with a message naming retention.move_to and the fix."""
    with pytest.raises(ConfigError, match=r"retention\.move_to is not set; set retention\.move_to"):
        get_config(write_config(tmp_path, irods_sandbox, action="move"))
    inside = str(tmp_path / "share" / "attic")
    with pytest.raises(ConfigError, match=r"retention\.move_to .* overlaps the sequencer root"):
        get_config(write_config(tmp_path, irods_sandbox, action="move", move_to=inside))
    config = get_config(
        write_config(tmp_path, irods_sandbox, action="move", move_to=str(tmp_path / "attic"))
    )
    assert config.retention.action == "move"


def test_recovery_finishes_or_rolls_back_an_interrupted_release(
    tmp_path: Path, irods_sandbox: SandboxInfo
) -> None:
    """A run left releasing: a leftover .rodrunner-releasing- folder is removed and the run is
    released; a folder still at its place rolls back to ingested; a symlink is never followed."""
    config = get_config(write_config(tmp_path, irods_sandbox, action="delete"))
    root = tmp_path / "share" / "miseq"
    outside = tmp_path / "outside"
    (outside / "precious").mkdir(parents=True)
    (outside / "precious" / "data").write_text("keep me")
    half = root / "half"
    still = root / "still"
    still.mkdir()
    grave = Path(retention.tombstone(str(half)))
    (grave / "sub").mkdir(parents=True)
    (grave / "sub" / "f").write_text("x")
    (grave / "link").symlink_to(outside / "precious")
    with Ledger.open(Path(config.daemon.state_dir)) as ledger:
        for run in (half, still):
            ledger.observe(str(run), run.name, "miseq")
            for to in (RunState.QUEUED, RunState.SUBMITTED, RunState.INGESTED):
                ledger.transition(str(run), to)
            ledger.transition(str(run), RunState.RELEASING, error="delete: all conditions")
        retention.recover(config, ledger)
        assert ledger.get(str(half)).state is RunState.RELEASED  # type: ignore[union-attr]
        assert ledger.get(str(still)).state is RunState.INGESTED  # type: ignore[union-attr]
    assert not grave.exists()
    assert still.is_dir()
    assert (outside / "precious" / "data").read_text() == "keep me"


def test_a_released_run_goes_back_to_queued_only_by_an_operator(tmp_path: Path) -> None:
    """released allows no transition of the daemon's (queued is refused), `retry` queues it."""
    with Ledger.open(tmp_path) as ledger:
        run = str(tmp_path / "RUN")
        ledger.observe(run, "RUN", "miseq")
        for to in (RunState.QUEUED, RunState.SUBMITTED, RunState.INGESTED, RunState.RELEASING):
            ledger.transition(run, to)
        ledger.transition(run, RunState.RELEASED, error="deleted: all conditions held")
        with pytest.raises(LedgerError, match="released"):
            ledger.transition(run, RunState.QUEUED)
        assert ledger.retry(run).state is RunState.QUEUED


def test_a_run_folder_that_is_a_symlink_is_never_released(
    tmp_path: Path, irods_sandbox: SandboxInfo
) -> None:
    """A symlink at the run folder's place (to a folder elsewhere) is refused before anything
    else: the target keeps its files, the link stays, the run stays ingested."""
    config = get_config(write_config(tmp_path, irods_sandbox, action="delete"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "data").write_text("keep me")
    link = tmp_path / "share" / "miseq" / "RUN"
    link.symlink_to(elsewhere)
    with Ledger.open(Path(config.daemon.state_dir)) as ledger:
        ledger.observe(str(link), "RUN", "miseq")
        for to in (RunState.QUEUED, RunState.SUBMITTED, RunState.INGESTED):
            record = ledger.transition(str(link), to)
        with capture_logs() as logs:
            assert not retention.release(config, ledger, record)
        assert ledger.get(str(link)).state is RunState.INGESTED  # type: ignore[union-attr]
    assert [e["reason"] for e in events(logs, "run.release_refused")] == [
        f"{link} is a symlink; retention never follows one"
    ]
    assert link.is_symlink()
    assert (elsewhere / "data").read_text() == "keep me"

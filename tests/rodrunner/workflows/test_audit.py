"""The "Audit Ingested Runs" flow against the sandbox over TCP, under Prefect's harness, with
runs stored by the "Ingest Run" flow and drift announced to a real SMTP server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
import structlog.testing
import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort
from prometheus_client.parser import text_string_to_metric_families

from rodrunner.config import get_config
from rodrunner.irods.client import iRODSClient
from rodrunner.plan import VERIFIED_AT_ATTR, VERIFY_FAILED_AT_ATTR
from rodrunner.sandbox import SandboxInfo, run_sandbox
from rodrunner.simulate import simulate_run
from rodrunner.workflows.audit import ARTIFACT_KEY, audit_ingested_runs, run_audit
from rodrunner.workflows.ingest import ingest_run
from tests.rodrunner.cli.test_verify import a_data_file, vault_file
from tests.rodrunner.test_notify import smtp_server
from tests.rodrunner.workflows.test_ingest import _stored_parameters

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxInfo]:
    """A sandbox whose password is no word of a path (mails scrub the password)."""
    with run_sandbox(tmp_path / "irods", password="audit-s3cret") as info:
        yield info


def write_config(path: Path, info: SandboxInfo, **sections: Any) -> Path:
    """A configuration file for the sandbox ``info`` (extra sections as given)."""
    data = {
        "irods": {
            "host": info.host,
            "port": info.port,
            "zone": info.zone,
            "user": info.user,
            "password": info.password.get_secret_value(),
            "transfer_threads": 2,
        },
        "sequencer": {"base_dir": str(path.parent / "seq")},
        **sections,
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def store(tmp_path: Path, config: Path) -> str:
    """A new NovaSeq run, ingested by the Ingest Run flow; its collection."""
    run_dir = simulate_run(tmp_path / "seq" / "novaseq", "novaseq", files=4, size=4096)
    summary = ingest_run(str(run_dir), config=str(config))
    assert summary["status"] == "complete", summary
    return str(summary["irods_path"])


def attrs(config: Path, collection: str) -> dict[str, str]:
    with iRODSClient(get_config(config).irods) as client:
        return {a.attr: a.value for a in client.get_metadata(collection)}


def audit(config: Path) -> tuple[str, dict[str, Any]]:
    """Run the audit flow; (final state name, the summary it returned or carried)."""
    state = audit_ingested_runs(str(config), return_state=True)
    data = state.result(raise_on_failure=False)  # type: ignore[union-attr]
    assert isinstance(data, dict), data
    return state.type.value, data  # type: ignore[union-attr]


def test_a_whole_run_passes_and_gets_verified_at(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """A whole stored run passes the (deep) audit, is stamped verified_at and listed as ok."""
    config = write_config(tmp_path / "config.yaml", sandbox)
    collection = store(tmp_path, config)
    assert VERIFIED_AT_ATTR not in attrs(config, collection)
    state, summary = audit(config)
    assert state == "COMPLETED"
    assert (summary["checked"], summary["failing"], summary["problems"]) == (1, 0, 0)
    assert summary["root"] == f"/{sandbox.zone}/home/{sandbox.user}/sequencer"
    [result] = summary["runs"]
    assert result["collection"] == collection
    assert result["ok"]
    assert attrs(config, collection)[VERIFIED_AT_ATTR] == result["verified_at"]
    assert collection in artifact_text(ARTIFACT_KEY)


def test_the_config_object_is_used_and_its_secrets_never_reach_prefect(
    tmp_path: Path, sandbox: SandboxInfo
) -> None:
    """The audit takes get_config()'s AppConfig like the other flows; Prefect stores it masked."""
    config = write_config(tmp_path / "config.yaml", sandbox)
    store(tmp_path, config)
    state = audit_ingested_runs(get_config(config), return_state=True)
    assert state.type.value == "COMPLETED"  # type: ignore[union-attr]
    stored = _stored_parameters("Audit Ingested Runs")
    assert stored
    text = json.dumps(stored)
    assert "**********" in text
    assert "audit-s3cret" not in text


def artifact_text(key: str) -> str:
    """The data of the latest artifact with ``key``, from the harness's API."""
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    assert found, f"no artifact {key}"
    return str(found[0].data)


def test_a_corrupted_vault_object_is_reported_mailed_and_not_verified(
    tmp_path: Path, sandbox: SandboxInfo
) -> None:
    """One byte flipped on storage: audit.mismatch, a mail naming run and file, a Failed flow
    run, verify_failed_at instead of verified_at, the figures in audit.metrics_file; the whole
    run beside it still passes."""
    metrics_file = tmp_path / "textfile" / "rodrunner_audit.prom"
    metrics_file.parent.mkdir()
    with smtp_server() as inbox:
        url = f"mailto://127.0.0.1:{inbox.port}?from=r@example.org&to=ops@example.org&mode=insecure"
        config = write_config(
            tmp_path / "config.yaml",
            sandbox,
            notifications={"urls": [url]},
            audit={"metrics_file": str(metrics_file)},
        )
        good = store(tmp_path, config)
        bad = store(tmp_path, config)
        assert inbox.messages == []  # successful ingests are quiet
        with iRODSClient(get_config(config).irods) as client:
            rel = a_data_file(client, bad)
        file = vault_file(sandbox, f"{bad}/{rel}")
        raw = bytearray(file.read_bytes())
        raw[0] ^= 0xFF
        file.write_bytes(bytes(raw))

        structlog.reset_defaults()
        with structlog.testing.capture_logs() as logs:
            state, summary = audit(config)
        assert state == "FAILED"
        assert (summary["checked"], summary["failing"]) == (2, 1)
        failing = [r for r in summary["runs"] if not r["ok"]]
        assert [r["collection"] for r in failing] == [bad]
        assert failing[0]["kinds"] == ["storage"]
        mismatches = [e for e in logs if e["event"] == "audit.mismatch"]
        assert [(e["collection"], e["kinds"]) for e in mismatches] == [(bad, ["storage"])]
        assert len(inbox.messages) == 1
        text = inbox.text()
    assert "NOT WHOLE" in text
    assert bad in text
    assert rel in text
    assert get_config(config).irods.password.get_secret_value() not in text  # type: ignore[union-attr]
    assert VERIFIED_AT_ATTR not in attrs(config, bad)
    assert VERIFY_FAILED_AT_ATTR in attrs(config, bad)
    assert VERIFIED_AT_ATTR in attrs(config, good)
    figures = {
        (s.name, tuple(s.labels.items())): s.value
        for family in text_string_to_metric_families(metrics_file.read_text(encoding="utf-8"))
        for s in family.samples
    }
    assert figures[("rodrunner_audit_runs_checked", ())] == 2
    assert figures[("rodrunner_audit_runs_failing", ())] == 1
    assert figures[("rodrunner_audit_problems", (("kind", "storage"),))] >= 1
    assert ("rodrunner_audit_last_run_timestamp_seconds", ()) in figures
    assert ("rodrunner_audit_last_success_timestamp_seconds", ()) not in figures


def test_only_runs_not_verified_for_max_age_are_due(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """A run verified within audit.max_age is left alone; past it, it is checked again; the
    limit bounds the runs per audit, the never-verified first."""
    config = write_config(tmp_path / "config.yaml", sandbox, audit={"max_age": 1, "limit": 1})
    first = store(tmp_path, config)
    cfg = get_config(config)
    with iRODSClient(cfg.irods) as client:
        now = datetime.now(UTC)
        assert [r.collection for r in run_audit(client, cfg, now=now).runs] == [first]
        second = store(tmp_path, config)
        assert [r.collection for r in run_audit(client, cfg, now=now).runs] == [second]
        assert run_audit(client, cfg, now=now).checked == 0
        later = run_audit(client, cfg, now=now + timedelta(days=2))
        assert later.checked == 1
        assert later.runs[0].ok


def test_a_catalog_only_audit_records_nothing_and_reports_an_extra_object(
    tmp_path: Path, sandbox: SandboxInfo
) -> None:
    """audit.deep false: an object the manifest does not list is reported (kind extra), and no
    verified_at or verify_failed_at is written (they mean the storage was re-read)."""
    config = write_config(tmp_path / "config.yaml", sandbox, audit={"deep": False})
    collection = store(tmp_path, config)
    cfg = get_config(config)
    with iRODSClient(cfg.irods) as client:
        clean = run_audit(client, cfg)
        client.put_bytes(f"{collection}/stray.txt", b"not in the manifest\n")
        drift = run_audit(client, cfg)
    assert (clean.checked, clean.failing) == (1, 0)
    assert clean.runs[0].verified_at is None
    assert (drift.failing, drift.runs[0].kinds) == (1, ("extra",))
    stored = attrs(config, collection)
    assert VERIFIED_AT_ATTR not in stored
    assert VERIFY_FAILED_AT_ATTR not in stored

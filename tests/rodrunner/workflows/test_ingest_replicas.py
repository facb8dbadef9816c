"""Replica awareness of the "Ingest Run" flow against a sandbox with two resources, over TCP
with the real python-irodsclient, under Prefect's harness: the target resource, and waiting
for irods.min_replicas good replicas."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from irods import exception as irods_exc

from rodrunner.config import get_config
from rodrunner.irods.client import iRODSClient
from rodrunner.plan import STATUS_ATTR
from rodrunner.run import IngestSummary
from rodrunner.sandbox import SandboxInfo, run_sandbox
from rodrunner.simulate import simulate_run
from rodrunner.verification import md5_hex, sha256_hex
from rodrunner.workflows.ingest import ingest_run
from tests.conftest import sandbox_session

pytestmark = pytest.mark.usefixtures("prefect_harness")

SECOND = "secondResc"


@pytest.fixture
def sandbox(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[SandboxInfo]:
    """A zone with a second resource; its hash scheme sha256 unless parametrized."""
    scheme = getattr(request, "param", "sha256")
    with run_sandbox(tmp_path / "irods", resources=[SECOND], hash=scheme) as info:
        yield info


def write_config(tmp_path: Path, info: SandboxInfo, **irods: Any) -> Path:
    data = {
        "irods": {
            "host": info.host,
            "port": info.port,
            "password": info.password.get_secret_value(),
            "transfer_threads": 2,
            **irods,
        },
        "sequencer": {"base_dir": str(tmp_path / "seq")},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def ingest(run_dir: Path, config: Path) -> dict[str, Any]:
    state = ingest_run(str(run_dir), config=str(config), return_state=True)
    return IngestSummary.from_state(state, str(run_dir)).as_result()  # type: ignore[arg-type]


def new_run(tmp_path: Path) -> Path:
    return simulate_run(tmp_path / "seq" / "novaseq", "novaseq", files=4, size=2048)


def test_ingest_to_the_second_resource_lands_there(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """irods.resource: every object's only replica is on that resource, small and large."""
    config = write_config(tmp_path, sandbox, resource=SECOND)
    run_dir = new_run(tmp_path)
    (run_dir / "big.bin").write_bytes(b"x" * (5 * 1024 * 1024))  # open/write/close, not one put
    summary = ingest(run_dir, config)
    assert summary["status"] == "complete", summary["error"]
    with iRODSClient(get_config(config).irods) as client:
        catalog = client.list_replicas(summary["irods_path"])
    assert "big.bin" in catalog
    assert {rel: [r.resource for r in reps] for rel, reps in catalog.items()} == {
        rel: [SECOND] for rel in catalog
    }


def test_resource_from_the_env_file(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """Without irods.resource, the iCommands environment's irods_default_resource is used."""
    env = tmp_path / "irods_environment.json"
    env.write_text(
        json.dumps(
            {
                "irods_host": sandbox.host,
                "irods_port": sandbox.port,
                "irods_user_name": sandbox.user,
                "irods_zone_name": sandbox.zone,
                "irods_default_resource": SECOND,
            }
        ),
        encoding="utf-8",
    )
    config = write_config(tmp_path, sandbox, env_file=str(env))
    summary = ingest(new_run(tmp_path), config)
    assert summary["status"] == "complete", summary["error"]
    with iRODSClient(get_config(config).irods) as client:
        resources = {
            r.resource
            for reps in client.list_replicas(summary["irods_path"]).values()
            for r in reps
        }
    assert resources == {SECOND}


def test_an_unknown_resource_fails_naming_it(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """A resource the zone does not have: the ingest fails with the server's error."""
    config = write_config(tmp_path, sandbox, resource="noSuchResc")
    summary = ingest(new_run(tmp_path), config)
    assert summary["status"] == "failed"
    assert "SYS_RESC_DOES_NOT_EXIST" in summary["error"]


def test_min_replicas_without_replication_fails_clearly(
    tmp_path: Path, sandbox: SandboxInfo
) -> None:
    """min_replicas 2 and nothing replicating: after replica_wait the ingest fails naming an
    object, its count and the fix, and the run is not marked complete."""
    config = write_config(tmp_path, sandbox, min_replicas=2, replica_wait=1)
    summary = ingest(new_run(tmp_path), config)
    assert summary["status"] == "failed"
    error = summary["error"]
    assert "irods.min_replicas=2" in error
    assert f"{summary['irods_path']}/" in error
    assert " has 1" in error
    assert "replication policy" in error
    assert "irods.replica_wait" in error
    with iRODSClient(get_config(config).irods) as client:
        status = {
            a.value for a in client.get_metadata(summary["irods_path"]) if a.attr == STATUS_ATTR
        }
    assert status == {"ingesting"}


def _replicate_until(
    stop: threading.Event, info: SandboxInfo, collection: str, config: Path
) -> None:
    """Stand-in for a zone's replication rule: copy every object to SECOND, again and again."""
    session = sandbox_session(info)
    client = iRODSClient(get_config(config).irods)
    try:
        while not stop.is_set():
            for rel, replicas in client.list_replicas(collection).items():
                if any(r.resource == SECOND and r.good for r in replicas):
                    continue
                # being written right now: the next pass copies it
                with contextlib.suppress(irods_exc.iRODSException):
                    session.data_objects.replicate(f"{collection}/{rel}", resource=SECOND)
            stop.wait(0.1)
    finally:
        client.close()
        session.cleanup()


@pytest.mark.parametrize("sandbox", ["sha256", "md5"], indirect=True)
def test_min_replicas_met_by_replication_meanwhile_completes(
    tmp_path: Path, sandbox: SandboxInfo, request: pytest.FixtureRequest
) -> None:
    """min_replicas 2 while something replicates: the ingest waits, then completes with every
    object on both resources; in an MD5 zone the replicas' MD5s are the manifest's."""
    config = write_config(tmp_path, sandbox, min_replicas=2, replica_wait=120)
    run_dir = new_run(tmp_path)
    collection = f"/{sandbox.zone}/home/{sandbox.user}/sequencer/novaseq/{run_dir.name}"
    stop = threading.Event()
    replicator = threading.Thread(target=_replicate_until, args=(stop, sandbox, collection, config))
    replicator.start()
    try:
        summary = ingest(run_dir, config)
    finally:
        stop.set()
        replicator.join()
    assert summary["status"] == "complete", summary["error"]
    with iRODSClient(get_config(config).irods) as client:
        catalog = client.list_replicas(collection)
    assert catalog
    for replicas in catalog.values():
        assert sorted(r.resource for r in replicas if r.good) == ["demoResc", SECOND]
        decode = md5_hex if request.node.callspec.params["sandbox"] == "md5" else sha256_hex
        assert all(decode(r.checksum) for r in replicas)

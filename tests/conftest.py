"""Shared fixtures: the iRODS sandbox (a real iRODS-protocol server over TCP) and a
python-irodsclient session connected to it."""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from hypothesis import settings
from irods.models import Collection, DataObject
from irods.session import iRODSSession

from rodrunner.config import IRODSConfig
from rodrunner.sandbox import SandboxInfo, run_sandbox
from tests.leaks import (  # noqa: F401 - a test that leaves a process running fails
    _no_process_left_by_the_session,
    _no_process_left_by_the_test,
    pytest_configure,
)

# Hypothesis: no per-example deadline (a busy 2-core CI machine makes timing flaky; the
# timeout plugin still bounds every test), no example database in a clean clone, and the
# failing example printed so that it can be replayed. HYPOTHESIS_PROFILE=thorough runs 10x
# the examples.
settings.register_profile("ci", deadline=None, max_examples=100, print_blob=True, database=None)
settings.register_profile("thorough", parent=settings.get_profile("ci"), max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _unconfigured_structlog() -> Iterator[None]:
    """Each test starts and ends with structlog unconfigured: the command lines configure it
    once per process and leave an existing configuration alone, so one test's configuration
    would otherwise decide where another test's log lines go (stdout, for one)."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


def sandbox_session(info: SandboxInfo, **options: object) -> iRODSSession:
    """A python-irodsclient session on ``info`` (the caller cleans it up); options override."""
    settings: dict[str, object] = {
        "host": info.host,
        "port": info.port,
        "user": info.user,
        "password": info.password.get_secret_value(),
        "zone": info.zone,
    }
    settings.update(options)
    return iRODSSession(**settings)


def sandbox_irods_config(info: SandboxInfo, **overrides: object) -> IRODSConfig:
    """rodrunner's iRODS settings for ``info`` (3 transfer threads, 30 s timeout); overrides win."""
    values: dict[str, object] = {
        "host": info.host,
        "port": info.port,
        "zone": info.zone,
        "user": info.user,
        "password": info.password,
        "transfer_threads": 3,
        "connection_timeout": 30,
    }
    values.update(overrides)
    return IRODSConfig.model_validate(values)


def vault_file(info: SandboxInfo, path: str, replica: int = 0) -> Path:
    """The storage file of one replica, as an administrator finds it (GenQuery on the path)."""
    session = sandbox_session(info)
    try:
        coll, name = path.rsplit("/", 1)
        rows = (
            session.query(DataObject.path)
            .filter(
                Collection.name == coll,
                DataObject.name == name,
                DataObject.replica_number == replica,
            )
            .all()
        )
        return Path(rows[0][DataObject.path])
    finally:
        session.cleanup()


@pytest.fixture
def irods_sandbox(tmp_path: Path) -> Iterator[SandboxInfo]:
    """A fresh sandbox for one test (its own catalog and vault under tmp_path)."""
    with run_sandbox(tmp_path / "irods-sandbox") as info:
        yield info


@pytest.fixture(scope="session")
def irods_sandbox_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxInfo]:
    """One sandbox shared by the whole test session (use unique collection names)."""
    with run_sandbox(tmp_path_factory.mktemp("irods-sandbox")) as info:
        yield info


@pytest.fixture
def irods_session(irods_sandbox: SandboxInfo) -> Iterator[iRODSSession]:
    """A python-irodsclient session connected to this test's sandbox as the admin user."""
    session = sandbox_session(irods_sandbox)
    try:
        yield session
    finally:
        session.cleanup()


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect server and database for the session (Prefect's own test harness)."""
    from prefect.settings import PREFECT_SERVER_ANALYTICS_ENABLED, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    # Telemetry heartbeats race the harness's SQLite database and log "database is locked".
    with (
        temporary_settings(updates={PREFECT_SERVER_ANALYTICS_ENABLED: False}),
        prefect_test_harness(server_startup_timeout=120),
    ):
        yield


def self_signed_certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate and key for ``localhost`` in ``tmp_path`` (TLS tests: sandbox, SMTP)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path

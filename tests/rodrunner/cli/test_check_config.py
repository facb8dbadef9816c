"""``rodrunner check-config``: the effective configuration, secrets masked, exit 2 on bad values."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from rodrunner.cli import main
from rodrunner.config import AppConfig, SequencerTypeConfig

REPO = Path(__file__).parents[3]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_prints_yaml_with_secrets_masked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The configuration is printed as YAML and the password never appears."""
    config = _write(tmp_path, "irods:\n  password: hunter2-secret\napi:\n  token: tok-secret\n")
    assert main(["check-config", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "hunter2-secret" not in out
    assert "tok-secret" not in out
    data = yaml.safe_load(out)
    assert data["irods"]["password"] == "**********"
    assert data["daemon"]["trigger_file"] == ".rodrunner-ingest"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("irods:\n  port: 99999\n", "irods.port"),
        ("daemon:\n  submit: sometimes\n", "daemon.submit"),
        ("sequencer:\n  types:\n    novaseqq: {}\n", "sequencer.types.novaseqq"),
        (
            "sequencer:\n  types:\n    miseq:\n      completion_indicator: ../x\n",
            "completion_indicator",
        ),
        ("irods:\n  hots: x\n", "irods.hots"),
        ("irods: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_value_exits_2_with_one_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, key: str
) -> None:
    """A wrong value gives a message naming the key, and exit code 2, never a traceback."""
    assert main(["check-config", "--config", str(_write(tmp_path, text))]) == 2
    err = capsys.readouterr().err
    assert key in err
    assert "Traceback" not in err


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A configuration file that does not exist is named, with exit code 2."""
    assert main(["check-config", "--config", str(tmp_path / "nope.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_example_configuration_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    """config.example.yaml passes check-config as it is."""
    example = REPO / "config.example.yaml"
    if not example.exists():
        pytest.fail("config.example.yaml is missing")
    assert main(["check-config", "--config", str(example)]) == 0
    data = yaml.safe_load(capsys.readouterr().out)
    assert set(data["sequencer"]["types"]) >= {
        "novaseq",
        "miseq",
        "nextseq2000",
        "pacbio",
        "nanopore",
    }


def test_example_configuration_names_every_key() -> None:
    """config.example.yaml sets every key of every section (and of each sequencer type)."""
    data = yaml.safe_load((REPO / "config.example.yaml").read_text(encoding="utf-8"))
    for section, field in AppConfig.model_fields.items():
        if field.exclude:
            continue
        model = field.annotation
        assert isinstance(model, type), section
        assert issubclass(model, BaseModel), section
        assert set(data[section]) == set(model.model_fields), section
    for name, entry in data["sequencer"]["types"].items():
        assert set(entry) == set(SequencerTypeConfig.model_fields), name


def test_connect_reports_prefect_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--connect says flow runs go to the local Prefect server when no PREFECT_API_URL is set."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    config = _write(tmp_path, "irods:\n  host: 127.0.0.1\n  port: 9\n  connection_timeout: 2\n")
    # A session-wide Prefect test harness started by an earlier test sets the URL in the
    # settings context, not in the environment: unset it there too.
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        code = main(["check-config", "--config", str(config), "--connect"])
    captured = capsys.readouterr()
    assert "prefect: ok: no PREFECT_API_URL: flow runs are recorded on the local" in captured.out
    assert "(started on first use)" in captured.out
    assert "irods: FAILED" in captured.err
    assert code == 1


def test_connect_logs_in_to_the_sandbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--connect logs in to the configured iRODS sandbox over TCP and runs a query."""
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    config = _write(tmp_path, f"irods:\n  sandbox: {tmp_path / 'irods'}\n")
    assert main(["check-config", "--config", str(config), "--connect"]) == 0
    assert "irods: ok: logged in to the sandbox" in capsys.readouterr().out


def test_connect_reports_version_and_md5_scheme(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--connect names the server's version and the zone's checksum scheme (probed: md5)."""
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    text = f"irods:\n  sandbox: {tmp_path / 'irods'}\n  sandbox_hash_scheme: md5\n"
    assert main(["check-config", "--config", str(_write(tmp_path, text)), "--connect"]) == 0
    assert "iRODS 5.0.2, checksum scheme md5" in capsys.readouterr().out


def test_connect_fails_clearly_when_the_scheme_cannot_be_told(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A zone whose checksum scheme cannot be told fails --connect with one line naming
    irods.hash_scheme, not a verification failure per file later."""
    from rodrunner.sandbox import run_sandbox

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with run_sandbox(tmp_path / "zone") as info:
        info.faults.fail_next(10215, -13000, count=10)  # no client hints
        info.faults.fail_next(606, -818000, count=10)  # and the probe put is refused
        text = (
            f"irods:\n  host: {info.host}\n  port: {info.port}\n  password: rods\n"
            "  connection_timeout: 5\n"
        )
        code = main(["check-config", "--config", str(_write(tmp_path, text)), "--connect"])
    assert code == 1
    err = capsys.readouterr().err
    assert "irods: FAILED" in err
    assert "cannot tell the zone's checksum scheme" in err
    assert "set irods.hash_scheme" in err


def test_warns_about_a_readable_file_holding_a_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """check-config on a world-readable file with a password: a warning on stderr, exit 0."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text("irods:\n  password: hunter2\n")
    cfg.chmod(0o644)
    assert main(["check-config", "--config", str(cfg)]) == 0
    err = capsys.readouterr().err
    assert err.startswith(f"warning: configuration file '{cfg}'")
    assert "chmod 600" in err

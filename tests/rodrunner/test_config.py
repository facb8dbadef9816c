"""Configuration loading."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rodrunner.config import get_config
from rodrunner.config.permissions import secret_file_warning
from rodrunner.errors import ConfigError


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """RODRUNNER_<SECTION>__<KEY> beats the YAML file."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text("irods:\n  port: 1248\n")
    monkeypatch.setenv("RODRUNNER_IRODS__PORT", "1250")
    assert get_config(cfg).irods.port == 1250


def test_bad_value_names_key_and_value(tmp_path: Path) -> None:
    """A wrong value gives a ConfigError naming the key and the value."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text("daemon:\n  max_attempts: -3\n")
    with pytest.raises(ConfigError) as info:
        get_config(cfg)
    assert "daemon.max_attempts" in str(info.value)
    assert "-3" in str(info.value)


def test_secret_is_masked(tmp_path: Path) -> None:
    """The password never appears in the masked configuration."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text("irods:\n  password: hunter2\n")
    config = get_config(cfg)
    assert config.irods.password is not None
    assert config.irods.password.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(config.masked())


def test_relative_paths_follow_the_file(tmp_path: Path) -> None:
    """Relative paths in the file are taken relative to the file's folder."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text("sequencer:\n  base_dir: roots\n")
    assert get_config(cfg).sequencer.base_dir == (tmp_path / "roots").resolve()


@pytest.mark.parametrize(
    ("variable", "value", "key"),
    [
        ("RODRUNNER_DAEMON__SETTLE_SECONDS", "soon", "daemon.settle_seconds"),
        ("RODRUNNER_IRODS__PORT", "99999", "irods.port"),
        ("rodrunner_api__port", "x", "api.port"),
    ],
)
def test_a_bad_environment_override_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, key: str
) -> None:
    """A wrong value from the environment names the variable, not the file it did not come from."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text("daemon:\n  settle_seconds: 5\n")
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as info:
        get_config(cfg)
    message = str(info.value)
    assert f"environment variable {variable.upper()}" in message
    assert key in message
    assert str(cfg) not in message


def test_a_bad_value_in_the_file_still_names_the_file(tmp_path: Path) -> None:
    """Without an override, a wrong value names the file."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text("daemon:\n  settle_seconds: soon\n")
    with pytest.raises(ConfigError, match=r"daemon\.settle_seconds' in '.*c\.yaml'"):
        get_config(cfg)


@pytest.mark.parametrize(
    "text",
    [
        "irods:\n  password: hunter2\n",
        "api:\n  token: long-random\n",
        "notifications:\n  urls: ['mailto://u:p@example.org']\n",
    ],
)
def test_a_readable_file_holding_a_secret_is_warned_about(tmp_path: Path, text: str) -> None:
    """A file with a password, token or notification URL readable by others: a warning naming
    the file, its mode and the fix; mode 600 (or 640 in the reader's own group): none."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    cfg.chmod(0o644)
    warning = secret_file_warning(cfg)
    assert warning is not None
    assert str(cfg) in warning
    assert "0644" in warning
    assert "chmod 600" in warning
    assert "hunter2" not in warning
    cfg.chmod(0o600)
    assert secret_file_warning(cfg) is None
    os.chown(cfg, -1, os.getegid())
    cfg.chmod(0o640)
    assert secret_file_warning(cfg) is None
    cfg.chmod(0o604)
    assert secret_file_warning(cfg) is not None


def test_a_readable_file_without_secrets_is_fine(tmp_path: Path) -> None:
    """World-readable is fine when the file holds no secret (secrets in the environment)."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text("irods:\n  password: null\napi:\n  token: ''\n")
    cfg.chmod(0o644)
    assert secret_file_warning(cfg) is None
    assert secret_file_warning(None) is None


def test_the_audit_metrics_file_must_end_in_prom(tmp_path: Path) -> None:
    """audit.metrics_file not ending in .prom (node_exporter ignores it) names key and fix."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text("audit:\n  metrics_file: audit.txt\n")
    with pytest.raises(ConfigError, match=r"audit\.metrics_file") as info:
        get_config(cfg)
    assert ".prom" in str(info.value)


def test_a_relative_audit_metrics_file_follows_the_config_file(tmp_path: Path) -> None:
    """audit.metrics_file is a path like the others: relative to the file's folder."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text("audit:\n  metrics_file: textfile/rodrunner_audit.prom\n")
    expected = (tmp_path / "textfile" / "rodrunner_audit.prom").resolve()
    assert get_config(cfg).audit.metrics_file == expected

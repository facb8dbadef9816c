"""Configuration loading."""

from __future__ import annotations

from pathlib import Path

import pytest

from rodrunner.config import get_config
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

"""A flow's ``config`` argument (ConfigArgument, load_config) and the package's public names."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

import rodrunner.config
from rodrunner.config import AppConfig, get_config
from rodrunner.config.loading import ConfigArgument, load_config


class _FlowParameters(BaseModel):
    config: ConfigArgument = None


def test_an_appconfig_is_used_as_it_is(tmp_path: Path) -> None:
    """An AppConfig given to a flow is the same object afterwards, not a re-read copy."""
    config = AppConfig()
    assert load_config(config) is config
    assert _FlowParameters(config=config).config is config


def test_a_path_is_read_where_the_flow_runs(tmp_path: Path) -> None:
    """A str or PathLike names the file to read; the flow's parameter keeps it as a str."""
    path = tmp_path / "c.yaml"
    path.write_text("irods:\n  port: 1299\n")
    assert load_config(path).irods.port == 1299
    assert load_config(str(path)).irods.port == 1299
    assert _FlowParameters(config=path).config == str(path)


def test_none_reads_the_search_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """None reads what get_config finds: here $RODRUNNER_CONFIG."""
    path = tmp_path / "c.yaml"
    path.write_text("irods:\n  zone: otherZone\n")
    monkeypatch.setenv("RODRUNNER_CONFIG", str(path))
    assert load_config(None).irods.zone == "otherZone"


def test_anything_else_is_refused_naming_what_is_accepted() -> None:
    """Another type is a TypeError naming the accepted types, also as a flow's parameter."""
    with pytest.raises(TypeError, match=r"an AppConfig .* a configuration file path .* not int"):
        load_config(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"pass get_config\(\)"):
        _FlowParameters(config=42)  # type: ignore[arg-type]


def test_the_flow_parameter_schema_is_a_path_or_null() -> None:
    """Prefect's parameter form sees a string or null, not the whole AppConfig schema."""
    schema = _FlowParameters.model_json_schema()["properties"]["config"]
    assert {option.get("type") for option in schema["anyOf"]} == {"string", "null"}


def test_the_documented_names_are_importable_from_rodrunner_config() -> None:
    """get_config, AppConfig and every section model stay where the guide says."""
    assert rodrunner.config.get_config is get_config
    sections = {type(getattr(AppConfig(), name)).__name__ for name in AppConfig.model_fields}
    sections.discard("NoneType")
    sections.discard("PosixPath")
    assert sections <= set(rodrunner.config.__all__)
    for name in rodrunner.config.__all__:
        assert getattr(rodrunner.config, name).__module__.startswith("rodrunner.config.")

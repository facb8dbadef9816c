"""Read from the source: raw protocol code and python-irodsclient internals stay in _wire."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path
from types import ModuleType

import pytest

import rodrunner
import rodrunnerd

WIRE = Path(rodrunner.__file__).parent / "irods" / "_wire.py"
RAW_MODULES = ("irods.message", "irods.api_number", "irods.data_object", "irods.connection")
SOURCES = sorted(
    path
    for package in (rodrunner, rodrunnerd)
    for path in Path(package.__file__).parent.rglob("*.py")
)
IRODS_PACKAGE = sorted((Path(rodrunner.__file__).parent / "irods").glob("*.py"))


def _imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _raw_imports(path: Path) -> list[str]:
    found = _imported(ast.parse(path.read_text(encoding="utf-8")))
    return sorted(n for n in found if n.startswith(RAW_MODULES))


def _private_touches(path: Path) -> list[str]:
    """``x._name`` where ``x`` is not ``self``/``cls``/``super()``/a module of ours."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
            continue
        if node.attr.startswith("__") and node.attr.endswith("__"):
            continue
        base = node.value
        if isinstance(base, ast.Name) and base.id in ("self", "cls"):
            continue
        if isinstance(base, ast.Call) and getattr(base.func, "id", None) == "super":
            continue
        out.append(f"{path.name}:{node.lineno} .{node.attr}")
    return out


@pytest.mark.parametrize("path", [p for p in SOURCES if p != WIRE], ids=lambda p: p.name)
def test_only_the_wire_module_builds_protocol_messages(path: Path) -> None:
    """No module but rodrunner.irods._wire imports python-irodsclient's message, API-number,
    raw data-object or connection modules."""
    assert _raw_imports(path) == []


def test_the_wire_module_is_where_the_messages_are_built() -> None:
    """_wire imports the message and API-number modules (the check above looks at real code)."""
    assert {"irods.message", "irods.api_number"} <= set(_raw_imports(WIRE))


@pytest.mark.parametrize("path", [p for p in IRODS_PACKAGE if p != WIRE], ids=lambda p: p.name)
def test_no_private_state_is_touched_outside_the_wire_module(path: Path) -> None:
    """Outside _wire, rodrunner.irods reads or sets no underscore attribute of another object
    (python-irodsclient's sessions, connections, pools, queries)."""
    assert _private_touches(path) == []


def test_the_private_state_check_sees_a_touch() -> None:
    """The check flags _wire's own touches of python-irodsclient internals."""
    assert any("._message" in touch for touch in _private_touches(WIRE))


def _foreign_private_overrides(module: ModuleType) -> list[str]:
    """Methods of the module's classes that override an underscore method of a foreign base."""
    out = []
    for cls in vars(module).values():
        if not inspect.isclass(cls) or cls.__module__ != module.__name__:
            continue
        for name, value in vars(cls).items():
            dunder = name.startswith("__") and name.endswith("__")
            if dunder or not name.startswith("_"):
                continue
            if not (inspect.isfunction(value) or isinstance(value, property)):
                continue
            out += [
                f"{cls.__name__}.{name} overrides {base.__module__}.{base.__name__}"
                for base in cls.__mro__[1:]
                if not base.__module__.startswith("rodrunner") and name in vars(base)
            ]
    return out


def _module(path: Path) -> ModuleType:
    return importlib.import_module(f"rodrunner.irods.{path.stem}")


@pytest.mark.parametrize(
    "path", [p for p in IRODS_PACKAGE if p.stem not in ("_wire", "__init__")], ids=lambda p: p.name
)
def test_no_private_method_of_python_irodsclient_is_overridden_outside_the_wire_module(
    path: Path,
) -> None:
    """Outside _wire, no class of rodrunner.irods overrides an underscore method of a
    python-irodsclient class."""
    assert _foreign_private_overrides(_module(path)) == []


def test_the_override_check_sees_the_one_connection_query() -> None:
    """The check flags _wire's one-connection query, which overrides Query._clone."""
    assert any("._clone" in o for o in _foreign_private_overrides(_module(WIRE)))

"""Tasks for people and CI alike: ``nox -s test`` is the README's test command.

Sessions run inside the project's uv environment (``uv sync --frozen``); nox only orders them.
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "none"
nox.options.sessions = ["test"]


def _sync(session: nox.Session) -> None:
    session.run("uv", "sync", "--frozen", "--all-extras", "--group", "dev", external=True)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff lint and format check, mypy strict, import contracts."""
    _sync(session)
    session.run("uv", "run", "--frozen", "ruff", "check", ".", external=True)
    session.run("uv", "run", "--frozen", "ruff", "format", "--check", ".", external=True)
    session.run("uv", "run", "--frozen", "mypy", external=True)
    session.run("uv", "run", "--frozen", "lint-imports", external=True)


@nox.session
def test(session: nox.Session) -> None:
    """Everything: lint, types, then the whole pytest suite (slow tests included)."""
    lint(session)
    session.run("uv", "run", "--frozen", "pytest", *session.posargs, external=True)


@nox.session
def quick(session: nox.Session) -> None:
    """The pytest suite without the slow tests, for the edit-test loop."""
    _sync(session)
    session.run(
        "uv", "run", "--frozen", "pytest", "-m", "not slow", *session.posargs, external=True
    )


@nox.session
def demo(session: nox.Session) -> None:
    """Run the daemon in the foreground on config.example.yaml (sandbox iRODS, demo roots)."""
    _sync(session)
    session.run(
        "uv",
        "run",
        "--frozen",
        "rodrunnerd",
        "--config",
        "config.example.yaml",
        *session.posargs,
        external=True,
        # Ctrl-C reaches the daemon too: wait for its own clean stop (running uploads get
        # daemon.shutdown_grace) instead of killing it after nox's default 0.3 s.
        interrupt_timeout=None,
    )

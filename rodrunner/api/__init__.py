"""The rodrunner REST API: ``create_app(config)``; served by ``rodrunner api``."""

from __future__ import annotations

from rodrunner.api.app import create_app

__all__ = ["create_app"]

"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

from fastapi import Request

from rodrunner.api.services import Services


def get_services(request: Request) -> Services:
    """The clients the lifespan opened."""
    services: Services = request.app.state.services
    return services

"""The FastAPI application: :func:`create_app` and the lifespan that opens and closes clients.

Errors the library raises on purpose become answers with one ``detail`` line naming the value
and the fix (:data:`STATUS_OF`); anything else is a 500 without a traceback (logged).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from rodrunner import __version__
from rodrunner.api import routes_health, routes_metadata, routes_runs, routes_workflows
from rodrunner.api.docs_page import render_docs
from rodrunner.api.guard import RequestGuard
from rodrunner.api.security import require_token
from rodrunner.api.services import Services
from rodrunner.config import AppConfig
from rodrunner.errors import (
    ConfigError,
    IRODSError,
    LedgerError,
    LedgerUnavailableError,
    NotInPrefectError,
    PathError,
    PermanentIRODSError,
    QueryValueError,
    RodrunnerError,
    RunConflictError,
    UnknownWorkflowError,
    WorkflowError,
)
from rodrunner.flowruns.prefect import prefect_problem

__all__ = ["STATUS_OF", "create_app"]

log = structlog.get_logger()

STATUS_OF: tuple[tuple[type[RodrunnerError], int], ...] = (
    (PathError, 400),
    (QueryValueError, 400),
    (UnknownWorkflowError, 404),
    (LedgerUnavailableError, 404),
    (RunConflictError, 409),
    (PermanentIRODSError, 502),
    (IRODSError, 503),
    (WorkflowError, 503),
    (LedgerError, 503),
    (ConfigError, 503),
)
"""The HTTP status of each error branch, most specific first; anything else: 500."""


def _status_of(exc: RodrunnerError) -> int:
    if isinstance(exc, NotInPrefectError) and exc.missing == "deployment":
        return 503  # nothing serves that workflow yet: `rodrunner serve` is the fix
    for kind, code in STATUS_OF:
        if isinstance(exc, kind):
            return code
    return 500


async def _rodrunner_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RodrunnerError)
    code = _status_of(exc)
    log.warning(
        "api.request_failed",
        method=request.method,
        path=request.url.path,
        status=code,
        error_type=type(exc).__name__,
        error=str(exc),
    )
    return JSONResponse({"detail": str(exc)}, status_code=code)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error(
        "api.internal_error",
        method=request.method,
        path=request.url.path,
        error_type=type(exc).__name__,
        error=str(exc),
    )
    return JSONResponse(
        {"detail": "internal error; the API's log has the details (event api.internal_error)"},
        status_code=500,
    )


def create_app(config: AppConfig) -> FastAPI:
    """The rodrunner REST API for ``config``; clients open on startup and close on shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await anyio.to_thread.run_sync(Services.open, config)
        # Reach Prefect once before worker threads race to start an ephemeral server.
        problem = await anyio.to_thread.run_sync(prefect_problem)
        if problem is not None:
            log.warning("api.prefect_unavailable", error=problem)
        app.state.services = services
        log.info("api.started", submit=config.daemon.submit, version=__version__)
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(services.close)
            log.info("api.stopped")

    app = FastAPI(
        title="rodrunner",
        version=__version__,
        description=(
            "Run rodrunner's ingest workflows, follow them, search iRODS metadata and see the "
            "daemon's runs. Every route but /health needs `Authorization: Bearer <api.token>`."
        ),
        lifespan=lifespan,
        docs_url=None,  # FastAPI's pages load scripts from a CDN; ours loads nothing
        redoc_url=None,
    )
    app.add_middleware(
        RequestGuard,
        token=config.api.token,
        max_body_bytes=config.api.max_body_bytes,
        public_paths=frozenset({"/health", "/openapi.json", "/docs"}),
    )

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs() -> str:
        return render_docs(app.openapi(), "/openapi.json")

    app.add_exception_handler(RodrunnerError, _rodrunner_error)
    app.add_exception_handler(Exception, _unexpected)
    app.include_router(routes_health.router)
    secured = [Depends(require_token)]
    for module in (routes_workflows, routes_metadata, routes_runs):
        app.include_router(module.router, dependencies=secured)
    return app

"""``GET /metadata/search``: collections and data objects by AVU, paginated."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from rodrunner.api.deps import get_services
from rodrunner.api.models import Problem, SearchHit, SearchKind, SearchPage
from rodrunner.api.services import Services
from rodrunner.errors import IRODSError

router = APIRouter(prefix="/metadata", tags=["metadata"])

# iRODS keeps AVU attributes and values up to 2700 bytes; control characters do not belong.
_TEXT = r"^[^\x00-\x1f\x7f]+$"


@router.get(
    "/search",
    response_model=SearchPage,
    responses={
        400: {"model": Problem, "description": "The key or value cannot be a query literal."},
        401: {"model": Problem, "description": "Missing or wrong bearer token."},
        502: {"model": Problem, "description": "iRODS refused the query."},
        503: {"model": Problem, "description": "iRODS cannot be reached."},
    },
    summary="Find collections and data objects by AVU",
)
def search(
    services: Annotated[Services, Depends(get_services)],
    key: Annotated[
        str,
        Query(min_length=1, max_length=2700, pattern=_TEXT, description="AVU attribute."),
    ],
    value: Annotated[
        str,
        Query(min_length=1, max_length=2700, pattern=_TEXT, description="AVU value (exact)."),
    ],
    kind: Annotated[SearchKind, Query(description="What to look for.")] = "any",
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size.")] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Hits to skip.")] = 0,
) -> SearchPage:
    """Paths carrying ``key=value``, collections first, each group sorted."""
    hits: list[SearchHit] = []
    try:
        client = services.irods()
        if kind in ("any", "collection"):
            hits += [
                SearchHit(path=p, kind="collection")
                for p in client.search(key, value, kind="collection")
            ]
        if kind in ("any", "data_object"):
            hits += [
                SearchHit(path=p, kind="data_object")
                for p in client.search(key, value, kind="data_object")
            ]
    except IRODSError as exc:
        services.drop_irods(exc)
        raise
    return SearchPage(
        key=key,
        value=value,
        kind=kind,
        total=len(hits),
        limit=limit,
        offset=offset,
        items=hits[offset : offset + limit],
    )

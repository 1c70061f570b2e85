"""The REST API, ``/api/v1``: what the CLI does, as JSON in the shapes ``--json`` prints.

Lists come in one shape, :class:`~mlradar.web.views.Page` (``items``, ``limit``, ``next``:
pass ``next`` back as ``cursor``); errors are RFC 9457 problem details.  Authenticate
with ``Authorization: Bearer <token>`` (settings page, or ``POST /api/v1/tokens``), or the
browser's session cookie plus the ``X-CSRF-Token`` header for unsafe methods.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field, create_model
from starlette.responses import Response

from mlradar._radar import Radar
from mlradar.types import (
    ApiToken,
    CatalogEntry,
    Item,
    LearningPath,
    LibraryEntry,
    NewApiToken,
    OpmlImport,
    PaperDetail,
    ProfileInit,
    SearchHit,
    Source,
    SourceUpdate,
    Stats,
    TagSummary,
    User,
)
from mlradar.web import views
from mlradar.web._json import JsonResponse
from mlradar.web.auth import api_radar, cached, csrf_guard, current_user, principal
from mlradar.web.problems import PROBLEM

PROBLEM_SCHEMA: dict[str, Any] = {
    "description": "An RFC 9457 problem",
    "content": {
        PROBLEM: {
            "schema": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                    "instance": {"type": "string"},
                },
            }
        }
    },
}
ERRORS: dict[int | str, dict[str, Any]] = {
    code: PROBLEM_SCHEMA for code in (400, 401, 403, 404, 409, 422, 429)
}

router = APIRouter(prefix="/api/v1", dependencies=[Depends(csrf_guard)], responses=ERRORS)

RadarDep = Annotated[Radar, Depends(api_radar)]
Limit = Annotated[int, Query(ge=1, le=views.MAX_LIMIT, description="Rows per page.")]
Cursor = Annotated[
    str | None, Query(max_length=100, description="The `next` of the previous page.")
]


def _page_model(item: Any, name: str) -> Any:
    return create_model(name, items=(list[item], ...), limit=(int, ...), next=(str | None, None))


class RecommendationOut(BaseModel):
    """:class:`mlradar.types.Recommendation` as JSON (a mirror: the record's field named
    ``date`` hides the type from pydantic's reading of its annotations)."""

    kind: Literal["paper", "item"]
    arxiv_id: str | None
    item_id: int | None
    title: str
    score: float
    reason: str
    url: str | None = None
    date: dt.date | None = None
    terms: list[str] = []
    similar_to: list[str] = []
    mentions: int = 0
    discussed_in: list[str] = []
    relevance: float | None = None
    by_authors: list[str] = []
    similarity: float | None = None
    term_weights: list[float] = []
    contributions: list[tuple[str, float]] = []


ItemsPage = _page_model(Item, "ItemsPage")
HitsPage = _page_model(SearchHit, "SearchHitsPage")
RecsPage = _page_model(RecommendationOut, "RecommendationsPage")
SourcesPage = _page_model(Source, "SourcesPage")
TagsPage = _page_model(TagSummary, "TagsPage")
LibraryPage = _page_model(LibraryEntry, "LibraryPage")
CatalogPage = _page_model(CatalogEntry, "CatalogPage")
TokensPage = _page_model(ApiToken, "TokensPage")
QueuePage = _page_model(views.QueueRow, "QueuePage")


def _json(value: Any, status: int = 200) -> Response:
    return JsonResponse(value, status_code=status)


def _list(rows: list[Any], limit: int, cursor: str | None) -> Response:
    return _json(views.paginate(rows, views.decode_cursor(cursor), limit))


class Me(BaseModel):
    user: User
    via: str


@router.get("/me", response_model=Me, summary="Who the request acts as")
def me(request: Request) -> Response:
    user = current_user(request)
    return _json({"user": user, "via": principal(request).via})


# -- reading --------------------------------------------------------------------------------


@router.get("/items", response_model=ItemsPage, summary="The newest items (`mlradar items`)")
def items(
    radar: RadarDep,
    limit: Limit = 20,
    cursor: Cursor = None,
    source: Annotated[str | None, Query(max_length=2000)] = None,
    since: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    offset = views.decode_cursor(cursor)
    found = radar.items(limit=offset + limit + 1, source=source, since=views.parse_since(since))
    return _json(views.paginate(found, offset, limit))


@router.get("/items/{item_id}", response_model=Item, summary="One item")
def item(radar: RadarDep, item_id: Annotated[int, PathParam(ge=1, le=2**62)]) -> Response:
    return _json(radar.item(item_id))


@router.get("/search", response_model=HitsPage, summary="Full-text search (`mlradar search`)")
def search(
    request: Request,
    radar: RadarDep,
    q: Annotated[str, Query(min_length=1, max_length=1000)],
    source: Annotated[list[str], Query(max_length=50)] = [],  # noqa: B006 - FastAPI's idiom
    since: Annotated[str | None, Query(max_length=40)] = None,
    exhaustive: bool = False,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Response:
    key = ("search", q, tuple(source), since, exhaustive, cursor, limit)
    view = cached(
        request,
        radar,
        key,
        lambda: views.search(
            radar, q, sources=source, since=since, exhaustive=exhaustive, limit=limit, cursor=cursor
        ),
    )
    return _json(view.page)


class QueueOut(BaseModel):
    tab: str
    page: QueuePage  # type: ignore[valid-type]
    message: str | None = None
    window: tuple[str, str] | None = None


@router.get("/queue/{tab}", response_model=QueueOut, summary="The queue: for you, new, discussed")
def queue(
    request: Request,
    radar: RadarDep,
    tab: Literal["foryou", "new", "discussed"],
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Response:
    key = ("queue", tab, cursor, limit)
    return _json(
        cached(request, radar, key, lambda: views.queue(radar, tab, limit=limit, cursor=cursor))
    )


@router.get("/recommend", response_model=RecsPage, summary="Recommendations (`mlradar recommend`)")
def recommend(
    radar: RadarDep,
    tag: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[str | None, Query(max_length=10, pattern=r"^\d{4}-\d{2}-\d{2}$")] = None,
    until: Annotated[str | None, Query(max_length=10, pattern=r"^\d{4}-\d{2}-\d{2}$")] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Response:
    from datetime import date

    offset = views.decode_cursor(cursor)
    try:
        first = date.fromisoformat(since) if since else None
        last = date.fromisoformat(until) if until else None
    except ValueError as exc:
        from mlradar.exceptions import InvalidInputError

        raise InvalidInputError(f"not a date: {exc}") from None
    if first is None and last is None:
        window = views.for_you_window(radar)
        if window is None:
            return _json(views.Page((), limit))
        first, last = window
    recs = radar.recommend(tag=tag, since=first, until=last, limit=min(offset + limit + 1, 1000))
    return _json(views.paginate(recs, offset, limit))


@router.get("/papers/{ref:path}", response_model=PaperDetail, summary="A paper (`mlradar paper`)")
def paper(radar: RadarDep, ref: Annotated[str, PathParam(max_length=500)]) -> Response:
    return _json(radar.paper(ref))


@router.get(
    "/related/{ref:path}", response_model=RecsPage, summary="Related papers (`mlradar related`)"
)
def related(
    radar: RadarDep, ref: Annotated[str, PathParam(max_length=500)], limit: Limit = 10
) -> Response:
    return _json(views.Page(tuple(radar.related(ref, limit=limit)), limit))


@router.get(
    "/bibtex",
    response_class=Response,
    responses={200: {"content": {"application/x-bibtex": {}}}},
    summary="BibTeX (`mlradar export bibtex`)",
)
def bibtex(
    radar: RadarDep,
    ids: Annotated[list[str], Query(max_length=500)] = [],  # noqa: B006
    tag: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    text = radar.export_bibtex(ids=ids, tag=tag)
    return Response(text, media_type="application/x-bibtex; charset=utf-8")


@router.get("/stats", response_model=Stats, summary="Counts (`mlradar stats`)")
def stats(radar: RadarDep) -> Response:
    return _json(radar.stats())


# -- the library ----------------------------------------------------------------------------


@router.get("/tags", response_model=TagsPage, summary="The user's tags (`mlradar tags`)")
def tags(radar: RadarDep, limit: Limit = 200, cursor: Cursor = None) -> Response:
    return _list(radar.tags(), limit, cursor)


@router.get("/library", response_model=LibraryPage, summary="The library (`mlradar tag list`)")
def library(
    radar: RadarDep,
    tag: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    return _list(radar.library(tag), limit, cursor)


class ActionIn(BaseModel):
    action: Literal["like", "dismiss", "clear", "read", "unread", "tag", "untag"]
    ids: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(
        min_length=1, max_length=500
    )
    tag: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class ActionOut(BaseModel):
    action: str
    ids: list[str]
    tag: str | None = None
    changed: int


@router.post(
    "/actions",
    response_model=ActionOut,
    summary="Like, dismiss, clear, read, unread, tag or untag papers and items",
)
def actions(radar: RadarDep, body: ActionIn) -> Response:
    return _json(views.act(radar, body.action, body.ids, body.tag))


# -- sources --------------------------------------------------------------------------------


@router.get("/sources", response_model=SourcesPage, summary="Sources (`mlradar sources list`)")
def sources(
    radar: RadarDep,
    tag: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = 200,
    cursor: Cursor = None,
) -> Response:
    return _list(radar.sources(tag=tag), limit, cursor)


class SourceIn(BaseModel):
    url: Annotated[str, Field(min_length=1, max_length=2000)]
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    tags: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default=[], max_length=50
    )
    discover: bool = True


@router.post(
    "/sources",
    response_model=Source,
    status_code=201,
    summary="Follow a source by URL or spec (`mlradar sources add`)",
)
def add_source(radar: RadarDep, body: SourceIn) -> Response:
    found = radar.add_source(body.url, name=body.name, tags=body.tags, discover=body.discover)
    return _json(found, 201)


@router.get(
    "/sources/opml",
    response_class=Response,
    responses={200: {"content": {"text/x-opml": {}}}},
    summary="OPML export (`mlradar sources export --opml`)",
)
def export_opml(
    radar: RadarDep, tag: Annotated[str | None, Query(max_length=200)] = None
) -> Response:
    return Response(
        radar.export_opml(tag=tag),
        media_type="text/x-opml; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="mlradar.opml"'},
    )


@router.post(
    "/sources/opml",
    response_model=OpmlImport,
    summary="OPML import (`mlradar sources import`): the file as the body",
    openapi_extra={"requestBody": {"content": {"text/x-opml": {"schema": {"type": "string"}}}}},
)
async def import_opml(request: Request, radar: RadarDep) -> Response:
    from starlette.concurrency import run_in_threadpool

    body = await _capped_body(request, 5 * 1024 * 1024)
    result = await run_in_threadpool(radar.import_opml, body)
    return _json(result)


async def _capped_body(request: Request, cap: int) -> bytes:
    from mlradar.web.problems import Problem

    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise Problem(413, "Too large", f"at most {cap // (1024 * 1024)} MiB")
        chunks.append(chunk)
    return b"".join(chunks)


@router.get("/sources/{ref:path}", response_model=Source, summary="One source")
def source(radar: RadarDep, ref: Annotated[str, PathParam(max_length=2000)]) -> Response:
    return _json(radar.source(_ref(ref)))


def _ref(ref: str) -> int | str:
    return int(ref) if ref.isdigit() and len(ref) < 18 else ref


@router.delete(
    "/sources/{ref:path}", response_model=Source, summary="Unfollow (`mlradar sources remove`)"
)
def remove_source(radar: RadarDep, ref: Annotated[str, PathParam(max_length=2000)]) -> Response:
    return _json(radar.remove_source(_ref(ref)))


class ProfileIn(BaseModel):
    profile: Literal["beginner", "researcher", "news"]


@router.post(
    "/profile",
    response_model=ProfileInit,
    summary="Follow a profile's sources from the catalog (`mlradar init --profile`)",
)
def init_profile(radar: RadarDep, body: ProfileIn) -> Response:
    return _json(radar.init_profile(body.profile))


class UpdateOut(BaseModel):
    new: int
    updated: int
    failed: int
    sources: list[SourceUpdate]


@router.post(
    "/update", response_model=UpdateOut, summary="Fetch the due sources (`mlradar update`)"
)
def update(radar: RadarDep, force: bool = False) -> Response:
    # Exclusive: an "update now" never runs beside the worker's (409 while it does).
    summary = radar.update(force=force, exclusive=True)
    return _json(
        {
            "new": summary.new,
            "updated": summary.updated,
            "failed": summary.failed,
            "sources": summary.sources,
        }
    )


# -- catalog and learning paths ------------------------------------------------------------------


@router.get("/catalog", response_model=CatalogPage, summary="The catalog (`mlradar catalog`)")
def catalog(
    radar: RadarDep,
    topic: Annotated[str | None, Query(max_length=200)] = None,
    level: Annotated[str | None, Query(max_length=40)] = None,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=40)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    rows = radar.catalog(topic=topic, level=level, kind=kind, status=status)
    return _list(rows, limit, cursor)


@router.get("/path", response_model=LearningPath, summary="The learning path (`mlradar path`)")
def path(
    radar: RadarDep,
    level: Annotated[str | None, Query(max_length=40)] = None,
    goal: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    return _json(radar.learning_path(level=level or None, goal=goal or None))


@router.post("/path/{slug}/done", response_model=CatalogEntry, summary="Mark a step done")
def done(radar: RadarDep, slug: Annotated[str, PathParam(max_length=300)]) -> Response:
    return _json(radar.mark_done(slug))


@router.delete("/path/{slug}/done", response_model=CatalogEntry, summary="Mark a step not done")
def undone(radar: RadarDep, slug: Annotated[str, PathParam(max_length=300)]) -> Response:
    return _json(radar.mark_done(slug, done=False))


# -- API tokens -------------------------------------------------------------------------------


@router.get("/tokens", response_model=TokensPage, summary="The user's API tokens")
def tokens(radar: RadarDep, limit: Limit = 200, cursor: Cursor = None) -> Response:
    return _list(radar.api_tokens(), limit, cursor)


class TokenIn(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]


@router.post(
    "/tokens",
    response_model=NewApiToken,
    status_code=201,
    summary="A new API token: the secret is in this response only",
)
def new_token(radar: RadarDep, body: Annotated[TokenIn, Body()]) -> Response:
    return _json(radar.create_api_token(body.name), 201)


@router.delete("/tokens/{token_id}", status_code=204, summary="Revoke an API token")
def revoke_token(radar: RadarDep, token_id: Annotated[int, PathParam(ge=1, le=2**62)]) -> Response:
    radar.revoke_api_token(token_id)
    return Response(status_code=204)

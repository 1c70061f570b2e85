"""Stories: ``/stories`` and ``/story/{id}`` as pages, ``/api/v1/stories`` as JSON.

Both are built by :mod:`.views_stories`; the API's story is the record ``mlradar story
--json`` prints, and its list the one pagination shape (``items``, ``limit``, ``next``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from starlette.responses import Response

from mlradar.exceptions import InvalidInputError, SourceNotFoundError
from mlradar.types import Story
from mlradar.web import views_stories
from mlradar.web.auth import cached, csrf_guard
from mlradar.web.render import render
from mlradar.web.routes_api import ERRORS, Cursor, Limit, RadarDep, _json, _page_model
from mlradar.web.routes_pages import PageRadar

api = APIRouter(prefix="/api/v1", dependencies=[Depends(csrf_guard)], responses=ERRORS)
pages = APIRouter(dependencies=[Depends(csrf_guard)], include_in_schema=False)

StoriesPage = _page_model(Story, "StoriesPage")
StoryId = Annotated[int, PathParam(ge=1, le=2**62)]
Since = Annotated[
    str | None,
    Query(max_length=40, description="Last seen since: YYYY-MM-DD, ISO datetime, 36h, 7d, 2w."),
]
SourceRef = Annotated[
    str | None, Query(max_length=2000, description="Mentioned by this source (id, URL or name).")
]


@api.get("/stories", response_model=StoriesPage, summary="Stories and mentions (`mlradar stories`)")
def list_stories(
    request: Request,
    radar: RadarDep,
    sort: Literal["new", "discussed"] = "new",
    since: Since = None,
    source: SourceRef = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Response:
    key = ("stories", sort, since, source, cursor, limit)
    view = cached(
        request,
        radar,
        key,
        lambda: views_stories.stories(
            radar, sort=sort, since=since, source=source, limit=limit, cursor=cursor
        ),
    )
    return _json(view.page)


@api.get("/stories/{story_id}", response_model=Story, summary="One story (`mlradar story`)")
def one_story(request: Request, radar: RadarDep, story_id: StoryId) -> Response:
    view = cached(request, radar, ("story", story_id), lambda: views_stories.story(radar, story_id))
    return _json(view.story)


@pages.get("/stories")
def stories_page(
    request: Request,
    radar: PageRadar,
    sort: Annotated[str, Query(max_length=20)] = "new",
    since: Annotated[str, Query(max_length=40)] = "",
    source: Annotated[str, Query(max_length=2000)] = "",
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    view = None
    error = None
    try:
        key = ("stories", sort, since, source, cursor, 20)
        view = cached(
            request,
            radar,
            key,
            lambda: views_stories.stories(
                radar, sort=sort, since=since, source=source, cursor=cursor
            ),
        )
    except (InvalidInputError, SourceNotFoundError) as exc:
        # A bad filter is shown beside the form (as search does), not as an error page.
        error = str(exc)
    context = {
        "view": view,
        "error": error,
        "sort": sort if sort in views_stories.SORTS else "new",
        "since": since,
        "source": source,
        "sorts": views_stories.SORTS,
        "all_sources": radar.sources(),
    }
    return render(request, "stories.html", context, status=400 if error else 200)


@pages.get("/story/{story_id}")
def story_page(request: Request, radar: PageRadar, story_id: StoryId) -> Response:
    view = cached(request, radar, ("story", story_id), lambda: views_stories.story(radar, story_id))
    return render(request, "story.html", {"view": view})

"""Atom feeds out over HTTP, and their private tokens.

A feed reader polls ``/feeds/{token}/{view}[/{arg}]``: the token in the URL is the only
credential a reader can carry.  An unknown or revoked token, a view the token does not
open, and another user's digest or source all answer the same 404: the URL says nothing
of whether a token exists.  A signed-in user (session or API token) reads the same feeds
at ``/api/v1/feeds/{view}[/{arg}]``.  A feed's ETag lets a polling reader get a 304.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Header, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field
from starlette.responses import RedirectResponse, Response

from mlradar._radar import Radar
from mlradar.exceptions import NotFoundError, RadarError
from mlradar.types import FeedToken, FeedViewKind
from mlradar.web import views_digests
from mlradar.web.auth import csrf_guard, page_radar
from mlradar.web.problems import Problem
from mlradar.web.routes_api import ERRORS, Cursor, Limit, RadarDep, _json, _list, _page_model
from mlradar.web.routes_pages import _settings_page

ATOM = "application/atom+xml"
ATOM_RESPONSE: dict[int | str, dict[str, object]] = {
    200: {"content": {ATOM: {"schema": {"type": "string"}}}, "description": "An Atom feed"},
    304: {"description": "Not modified (the If-None-Match ETag is current)"},
}

feeds = APIRouter(tags=["feeds"], responses=ERRORS)
api = APIRouter(
    prefix="/api/v1", dependencies=[Depends(csrf_guard)], responses=ERRORS, tags=["feeds"]
)
pages = APIRouter(dependencies=[Depends(csrf_guard)], include_in_schema=False)
PageRadar = Annotated[Radar, Depends(page_radar)]
Token = Annotated[str, PathParam(min_length=1, max_length=200)]
ViewName = Annotated[str, PathParam(max_length=20, description="new, for-you, discussed, ...")]
ViewArg = Annotated[
    str, PathParam(max_length=500, description="The tag, search words, source or digest id.")
]
IfNoneMatch = Annotated[str | None, Header(max_length=2000)]


def _atom(data: bytes, if_none_match: str | None) -> Response:
    tag = views_digests.etag(data)
    # Private: the URL carries a credential, and no shared cache may keep the feed.
    headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
    if views_digests.not_modified(if_none_match, tag):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=f"{ATOM}; charset=utf-8", headers=headers)


def _token_feed(
    request: Request, token: str, view: str, arg: str | None, inm: str | None
) -> Response:
    parsed = views_digests.parse_feed_view(view, arg)  # a malformed view is a 400 first
    core = request.app.state.core
    try:
        url = views_digests.token_feed_url(str(request.base_url), token, parsed)
        data = core.atom_feed_for_token(token, parsed, self_url=url)
    except NotFoundError:
        # The token's own errors (unknown, revoked, another view) and what it cannot see
        # (another user's digest or source): one answer, so nothing can be probed.
        raise Problem(404, "Not found", "no such feed") from None
    return _atom(data, inm)


def _my_feed(
    request: Request, radar: Radar, view: str, arg: str | None, inm: str | None
) -> Response:
    parsed = views_digests.parse_feed_view(view, arg)
    url = views_digests.api_feed_url(str(request.base_url), parsed)
    return _atom(radar.atom_feed(parsed, self_url=url), inm)


# -- the feed reader's URLs -----------------------------------------------------------------------


@feeds.get(
    "/feeds/{token}/{view}",
    response_class=Response,
    responses=ATOM_RESPONSE,
    summary="A private Atom feed of a view (new, for-you, discussed, digest)",
)
def token_feed(
    request: Request, token: Token, view: ViewName, if_none_match: IfNoneMatch = None
) -> Response:
    return _token_feed(request, token, view, None, if_none_match)


@feeds.get(
    "/feeds/{token}/{view}/{arg:path}",
    response_class=Response,
    responses=ATOM_RESPONSE,
    summary="A private Atom feed of a view with its argument (tag, search, source, digest)",
)
def token_feed_arg(
    request: Request,
    token: Token,
    view: ViewName,
    arg: ViewArg,
    if_none_match: IfNoneMatch = None,
) -> Response:
    return _token_feed(request, token, view, arg, if_none_match)


# -- the API ------------------------------------------------------------------------------------


@api.get(
    "/feeds/{view}",
    response_class=Response,
    responses=ATOM_RESPONSE,
    summary="The signed-in user's Atom feed of a view (`mlradar feeds atom VIEW`)",
)
def my_feed(
    request: Request, radar: RadarDep, view: ViewName, if_none_match: IfNoneMatch = None
) -> Response:
    return _my_feed(request, radar, view, None, if_none_match)


@api.get(
    "/feeds/{view}/{arg:path}",
    response_class=Response,
    responses=ATOM_RESPONSE,
    summary="The signed-in user's Atom feed of a view with its argument",
)
def my_feed_arg(
    request: Request,
    radar: RadarDep,
    view: ViewName,
    arg: ViewArg,
    if_none_match: IfNoneMatch = None,
) -> Response:
    return _my_feed(request, radar, view, arg, if_none_match)


FeedTokensPage = _page_model(FeedToken, "FeedTokensPage")


@api.get(
    "/feed-tokens",
    response_model=FeedTokensPage,
    summary="The user's feed tokens, revoked ones too (`mlradar feeds token list`)",
)
def list_feed_tokens(radar: RadarDep, limit: Limit = 200, cursor: Cursor = None) -> Response:
    return _list(radar.feed_tokens(), limit, cursor)


class FeedTokenIn(BaseModel):
    view: FeedViewKind | None = Field(
        default=None, description="The one view it opens (none: every view of the user)."
    )
    arg: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    label: Annotated[str, Field(max_length=200)] | None = None


class FeedLinkOut(BaseModel):
    title: str
    url: str


class FeedTokenOut(BaseModel):
    token: FeedToken
    secret: str
    """Shown in this response only: it is stored hashed."""
    urls: list[FeedLinkOut]


@api.post(
    "/feed-tokens",
    response_model=FeedTokenOut,
    status_code=201,
    summary="A new private-feed token and the feed URLs it opens: the secret is in this "
    "response only (`mlradar feeds token create`)",
)
def create_feed_token(request: Request, radar: RadarDep, body: FeedTokenIn) -> Response:
    made = views_digests.create_feed_token(
        radar, str(request.base_url), view=body.view, arg=body.arg, label=body.label
    )
    return _json(made, 201)


@api.delete(
    "/feed-tokens/{token_id}",
    status_code=204,
    summary="Revoke a feed token: its URLs stop working (`mlradar feeds token revoke`)",
)
def revoke_feed_token(
    radar: RadarDep, token_id: Annotated[int, PathParam(ge=1, le=2**62)]
) -> Response:
    radar.revoke_feed_token(token_id)
    return Response(status_code=204)


# -- the settings page's forms --------------------------------------------------------------------


@pages.post("/settings/feed-tokens")
def create_feed_token_form(
    request: Request,
    radar: PageRadar,
    label: Annotated[str | None, Form(max_length=200)] = None,
    view: Annotated[str | None, Form(max_length=20)] = None,
    arg: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    try:
        made = views_digests.create_feed_token(
            radar, str(request.base_url), view=view or None, arg=arg or None, label=label
        )
    except RadarError as exc:
        return _settings_page(request, radar, error=str(exc), status=400)
    # Shown in this response only: the token is stored hashed.
    return _settings_page(request, radar, new_feed=made)


@pages.post("/settings/feed-tokens/revoke")
def revoke_feed_token_form(
    radar: PageRadar, token_id: Annotated[int, Form(ge=1, le=2**62)]
) -> Response:
    radar.revoke_feed_token(token_id)
    return RedirectResponse("/settings#feeds", status_code=303)

"""Digests on the web: the archive page, one digest's page, making and sending one, the
schedule in the settings, and their API twins under ``/api/v1``.

The pages render the digest's records with this app's template (``digest.html``), not the
email's HTML document: that one carries an inline stylesheet the CSP forbids, and a page
needs the site's layout anyway.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field
from starlette.responses import RedirectResponse, Response

from mlradar._radar import Radar
from mlradar.exceptions import RadarError
from mlradar.types import DigestSchedule
from mlradar.web import views_digests
from mlradar.web.auth import csrf_guard, page_radar
from mlradar.web.problems import status_of
from mlradar.web.render import render
from mlradar.web.routes_api import ERRORS, Cursor, Limit, RadarDep, _json, _page_model
from mlradar.web.routes_pages import _settings_page

pages = APIRouter(dependencies=[Depends(csrf_guard)], include_in_schema=False)
api = APIRouter(
    prefix="/api/v1", dependencies=[Depends(csrf_guard)], responses=ERRORS, tags=["digests"]
)
PageRadar = Annotated[Radar, Depends(page_radar)]
DigestId = Annotated[int, PathParam(ge=1, le=2**62)]
Since = Annotated[
    str | None,
    Field(
        max_length=40,
        description="First day: YYYY-MM-DD, an ISO datetime, or 36h / 7d / 2w back "
        "(none: new since the last digest sent; the first time, the last week).",
    ),
]
Address = Annotated[str | None, Field(max_length=320)]


def _see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


# -- the pages ----------------------------------------------------------------------------------


def _archive_page(
    request: Request,
    radar: Radar,
    *,
    cursor: str | None = None,
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    view = views_digests.digests(radar, request.app.state.core.settings, cursor=cursor)
    context = {"view": view, "error": error, "notice": notice}
    return render(request, "digests.html", context, status=status)


def _notice(request: Request) -> str | None:
    text = request.query_params.get("notice")
    return text[:300] if text else None


@pages.get("/digests")
def digests_page(
    request: Request,
    radar: PageRadar,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    return _archive_page(request, radar, cursor=cursor, notice=_notice(request))


@pages.post("/digests")
def make_digest_form(
    request: Request,
    radar: PageRadar,
    since: Annotated[str | None, Form(max_length=40)] = None,
) -> Response:
    try:
        made = views_digests.make_digest(radar, since=since or None)
    except RadarError as exc:
        return _archive_page(request, radar, error=str(exc), status=400)
    notice = f"made the digest of {made.period}"
    return _see_other(f"/digests/{made.id}?notice={quote(notice)}")


def _digest_page(
    request: Request,
    radar: Radar,
    digest_id: int,
    *,
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    digest = radar.digest_by_id(digest_id)
    context = {
        "digest": digest,
        "schedule": radar.digest_schedule(),
        "email_problem": views_digests.email_ready(request.app.state.core.settings),
        "error": error,
        "notice": notice,
    }
    return render(request, "digest.html", context, status=status)


@pages.get("/digests/{digest_id}")
def digest_page(request: Request, radar: PageRadar, digest_id: DigestId) -> Response:
    return _digest_page(request, radar, digest_id, notice=_notice(request))


@pages.post("/digests/{digest_id}/send")
def send_digest_form(
    request: Request,
    radar: PageRadar,
    digest_id: DigestId,
    to: Annotated[str | None, Form(max_length=320)] = None,
) -> Response:
    radar.digest_by_id(digest_id)  # another user's id is a 404, not a form error
    try:
        sent = views_digests.send_stored(radar, digest_id, to)
    except RadarError as exc:
        return _digest_page(request, radar, digest_id, error=str(exc), status=status_of(exc))
    notice = f"sent the digest of {sent.period} to {sent.recipient}"
    return _see_other(f"/digests/{digest_id}?notice={quote(notice)}")


@pages.post("/settings/digest-schedule")
def schedule_form(
    request: Request,
    radar: PageRadar,
    cadence: Annotated[str, Form(max_length=20)],
    weekday: Annotated[int, Form(ge=0, le=6)] = 0,
    hour: Annotated[int, Form(ge=0, le=23)] = 7,
    email: Annotated[str | None, Form(max_length=320)] = None,
) -> Response:
    try:
        views_digests.set_schedule(radar, cadence, weekday=weekday, hour=hour, email=email)
    except RadarError as exc:
        return _settings_page(request, radar, error=str(exc), status=400)
    return _see_other("/settings?notice=" + quote("saved the digest schedule") + "#digest")


# -- the API --------------------------------------------------------------------------------------


class DigestEntryOut(BaseModel):
    """:class:`mlradar.types.DigestEntry` as JSON (a mirror: its field named ``date``
    hides the type from pydantic's reading of the record's annotations)."""

    kind: Literal["paper", "item", "step"]
    ref: str
    title: str
    reason: str
    url: str | None = None
    source: str | None = None
    date: dt.date | None = None
    summary: str | None = None


class DigestSectionOut(BaseModel):
    kind: Literal["recommended", "discussed", "posts", "path"]
    title: str
    entries: list[DigestEntryOut] = []
    note: str | None = None


class DigestOut(BaseModel):
    """:class:`mlradar.types.Digest` as JSON: what ``mlradar digest --json`` prints."""

    user: str
    since: dt.date
    until: dt.date
    sections: list[DigestSectionOut]
    created_at: dt.datetime
    id: int | None = None
    status: Literal["stored", "sending", "sent", "failed"] | None = None
    sent_at: dt.datetime | None = None
    recipient: str | None = None
    error: str | None = None


DigestsPage = _page_model(DigestOut, "DigestsPage")


@api.get("/digests", response_model=DigestsPage, summary="The digest archive (`mlradar digests`)")
def list_digests(radar: RadarDep, limit: Limit = 20, cursor: Cursor = None) -> Response:
    return _json(views_digests.digest_page(radar, limit=limit, cursor=cursor))


@api.get(
    "/digests/{digest_id}",
    response_model=DigestOut,
    responses={200: {"content": {"text/markdown": {}}}},
    summary="One archived digest (`mlradar digests --show ID`): JSON, or `format=md`",
)
def get_digest(
    radar: RadarDep, digest_id: DigestId, format: Literal["json", "md"] = "json"
) -> Response:
    found = radar.digest_by_id(digest_id)
    if format == "md":
        return Response(radar.render_digest(found, "md"), media_type="text/markdown; charset=utf-8")
    return _json(found)


class DigestIn(BaseModel):
    since: Since = None
    limit: Annotated[int, Field(ge=1, le=100, description="Entries per section.")] = (
        views_digests.DIGEST_LIMIT
    )
    send: bool = Field(
        default=False, description="Email it (to `to`, else the schedule's address)."
    )
    to: Address = None


@api.post(
    "/digests",
    response_model=DigestOut,
    status_code=201,
    summary="Make (and archive, or send) a digest (`mlradar digest [--since] [--send]`)",
)
def post_digest(radar: RadarDep, body: DigestIn | None = None) -> Response:
    wanted = body or DigestIn()
    made = views_digests.make_digest(
        radar, since=wanted.since, limit=wanted.limit, send=wanted.send, to=wanted.to
    )
    return _json(made, 201)


class SendIn(BaseModel):
    to: Address = None


@api.post(
    "/digests/{digest_id}/send",
    response_model=DigestOut,
    summary="Email an archived digest (once per period: 409 after)",
)
def post_send(radar: RadarDep, digest_id: DigestId, body: SendIn | None = None) -> Response:
    return _json(views_digests.send_stored(radar, digest_id, (body or SendIn()).to))


@api.get(
    "/digest-schedule",
    response_model=DigestSchedule,
    summary="When the digest is emailed (`mlradar digest-schedule`)",
)
def get_schedule(radar: RadarDep) -> Response:
    return _json(radar.digest_schedule())


class ScheduleIn(BaseModel):
    cadence: Literal["off", "daily", "weekly"]
    weekday: Annotated[int, Field(ge=0, le=6, description="For weekly: 0 = Monday.")] = 0
    hour: Annotated[int, Field(ge=0, le=23, description="From this hour (UTC).")] = 7
    email: Address = None
    """None keeps the address there is."""


@api.put(
    "/digest-schedule",
    response_model=DigestSchedule,
    summary="Set when the digest is emailed (`mlradar digest-schedule CADENCE`)",
)
def put_schedule(radar: RadarDep, body: ScheduleIn) -> Response:
    done = views_digests.set_schedule(
        radar, body.cadence, weekday=body.weekday, hour=body.hour, email=body.email
    )
    return _json(done)

"""Digests on the web: the archive page, making one (CSRF), a stored digest's page with
nothing that could run, the API in the CLI's JSON and the one page shape, the schedule,
and a digest sent from the web to an aiosmtpd server on loopback, once per period."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from mlradar.cli import app as cli
from tests.feedserver import FeedServer
from tests.test_digests import FROM, Sink, smtp  # noqa: F401  (the fixture)
from tests.web.support import Harness, csrf_of, harness
from tests.web.test_web_api import is_problem


def _no_inline_code(html: str) -> None:
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert all(body.strip() == "" and 'src="/' in attrs for attrs, body in scripts)
    assert "<style" not in html and " style=" not in html


def test_the_digests_page_makes_lists_and_shows_a_digest(web: Harness) -> None:
    c = web.login("alice")
    web.core.for_user("alice").tag("gen", ["2505.00001", "2505.00002"])
    page = c.get("/digests")
    assert page.status_code == 200 and "No digests yet" in page.text
    assert "email is not configured" in page.text  # said before anyone presses send
    assert c.post("/digests", data={}).status_code == 403  # no CSRF token
    made = c.post("/digests", data={"csrf": csrf_of(page.text), "since": "3000d"})
    assert made.status_code == 303, made.text
    target = made.headers["location"]
    assert re.match(r"^/digests/\d+\?notice=", target)
    shown = c.get(target)
    assert shown.status_code == 200
    assert "Top recommended papers" in shown.text or "Recommended" in shown.text, shown.text
    assert "Why:" in shown.text and "made the digest of" in shown.text
    # The hostile feed entry is text here: escaped, never markup.
    assert "Hostile" in shown.text
    body = shown.text.lower().split("<main>")[1]
    assert "<script" not in body and "<img" not in body and "javascript:" not in body
    assert not re.search(r"<[^>]+\son\w+\s*=", body)
    _no_inline_code(shown.text)
    assert "Send by email" not in shown.text and "email is not configured" in shown.text
    archive = c.get("/digests")
    assert archive.text.count('href="/digests/') >= 1 and "stored" in archive.text
    bad = c.post("/digests", data={"csrf": csrf_of(page.text), "since": "yesterday-ish"})
    assert bad.status_code == 400 and "not a date" in bad.text


def test_the_api_lists_one_page_shape_and_prints_what_the_cli_prints(
    web: Harness, web_db: str, monkeypatch: object
) -> None:
    c = web.bearer("alice")
    first = c.post("/api/v1/digests", json={"since": "3000d", "limit": 3})
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["user"] == "alice" and body["status"] == "stored" and body["id"]
    assert {s["kind"] for s in body["sections"]} == {"recommended", "discussed", "posts", "path"}
    second = c.post("/api/v1/digests")  # no body: the CLI's default period
    assert second.status_code == 201 and second.json()["id"] != body["id"]
    one = c.get("/api/v1/digests", params={"limit": 1})
    page = one.json()
    assert set(page) == {"items", "limit", "next"} and page["limit"] == 1 and page["next"]
    rest = c.get("/api/v1/digests", params={"limit": 1, "cursor": page["next"]}).json()
    assert rest["next"] is None and len(rest["items"]) == 1
    assert {page["items"][0]["id"], rest["items"][0]["id"]} == {body["id"], second.json()["id"]}
    # The same record the CLI prints with --json.
    got = c.get(f"/api/v1/digests/{body['id']}").json()
    out = CliRunner().invoke(
        cli, ["--db", web_db, "--user", "alice", "digests", "--show", str(body["id"]), "--json"]
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == got
    md = c.get(f"/api/v1/digests/{body['id']}", params={"format": "md"})
    assert md.headers["content-type"].startswith("text/markdown") and "## " in md.text


def test_bad_digest_input_is_a_4xx_problem(web: Harness) -> None:
    c = web.bearer("alice")
    is_problem(c.get("/api/v1/digests/999999"), 404)
    is_problem(c.get("/api/v1/digests", params={"cursor": "nope"}), 400)
    is_problem(c.post("/api/v1/digests", json={"since": "soon"}), 400)
    is_problem(c.post("/api/v1/digests", json={"limit": 0}), 422)
    made = c.post("/api/v1/digests").json()
    # No SMTP configured: a clear 422, not a server error, and nothing is claimed.
    body = is_problem(c.post(f"/api/v1/digests/{made['id']}/send", json={"to": "a@b.org"}), 422)
    assert "not configured" in body["detail"]
    body = is_problem(c.post("/api/v1/digests", json={"send": True, "to": "a@b.org"}), 422)
    assert c.get(f"/api/v1/digests/{made['id']}").json()["status"] == "stored"
    is_problem(c.put("/api/v1/digest-schedule", json={"cadence": "weekly"}), 400)  # no email
    is_problem(c.put("/api/v1/digest-schedule", json={"cadence": "hourly"}), 422)
    is_problem(
        c.put("/api/v1/digest-schedule", json={"cadence": "daily", "email": "x\r\nBcc: y"}), 400
    )


def test_the_schedule_from_the_settings_form_and_the_api(web: Harness) -> None:
    c = web.login("alice")
    csrf = web.csrf(c)
    form = {"cadence": "weekly", "weekday": "4", "hour": "9", "email": "alice@example.org"}
    assert c.post("/settings/digest-schedule", data=form).status_code == 403
    saved = c.post("/settings/digest-schedule", data={**form, "csrf": csrf})
    assert saved.status_code == 303 and saved.headers["location"].startswith("/settings?notice=")
    page = c.get(saved.headers["location"])
    assert "saved the digest schedule" in page.text
    assert '<option value="4" selected>Friday</option>' in page.text
    assert 'value="alice@example.org"' in page.text
    summary = "emailed weekly on Friday from 09:00 UTC to alice@example.org"
    assert summary in c.get("/digests").text
    bad = c.post("/settings/digest-schedule", data={**form, "email": "nope", "csrf": csrf})
    assert bad.status_code == 400 and "not an email address" in bad.text
    api = web.bearer("alice")
    assert api.get("/api/v1/digest-schedule").json() == {
        "cadence": "weekly",
        "weekday": 4,
        "hour": 9,
        "email": "alice@example.org",
    }
    # A blank address keeps the one there is.
    done = api.put("/api/v1/digest-schedule", json={"cadence": "daily", "hour": 6})
    assert done.json() == {
        "cadence": "daily",
        "weekday": 0,
        "hour": 6,
        "email": "alice@example.org",
    }
    assert web.bearer("bob").get("/api/v1/digest-schedule").json()["cadence"] == "off"


def test_a_digest_sent_from_the_web_reaches_smtp_once(
    web_db: str,
    feed_server: FeedServer,
    smtp: tuple[Sink, int],  # noqa: F811
) -> None:
    sink, port = smtp
    mail = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "smtp_from": FROM,
        "smtp_timeout": 10,
    }
    with harness(web_db, feed_server, **mail) as web:
        c = web.login("alice")
        page = c.get("/digests")
        assert "email is not configured" not in page.text
        made = c.post("/digests", data={"csrf": csrf_of(page.text)})
        target = made.headers["location"].split("?")[0]
        digest_id = int(target.rsplit("/", 1)[1])
        shown = c.get(target)
        assert "Send by email" in shown.text
        sent = c.post(f"{target}/send", data={"csrf": csrf_of(shown.text), "to": "ada@example.org"})
        assert sent.status_code == 303, sent.text
        assert "sent the digest of" in c.get(sent.headers["location"]).text
        assert len(sink.messages) == 1
        message = sink.messages[0]
        assert message["To"] == "ada@example.org" and message["From"] == FROM
        assert "digest" in message["Subject"]
        # Once per period: the page says so and offers no second send; the API is a 409.
        again = c.get(target)
        assert "Send by email" not in again.text and "emailed once" in again.text
        api = web.bearer("alice")
        is_problem(api.post(f"/api/v1/digests/{digest_id}/send", json={"to": "a@b.org"}), 409)
        form = c.post(f"{target}/send", data={"csrf": csrf_of(shown.text), "to": "a@b.org"})
        assert form.status_code == 409 and "sent already" in form.text
        assert len(sink.messages) == 1
        stored = api.get(f"/api/v1/digests/{digest_id}").json()
        assert stored["status"] == "sent" and stored["recipient"] == "ada@example.org"
        # Bob cannot send (or see) Alice's digest.
        bob = web.bearer("bob")
        is_problem(bob.post(f"/api/v1/digests/{digest_id}/send", json={}), 404)
        bob_page = web.login("bob")
        assert bob_page.get(target).status_code == 404
        csrf = csrf_of(bob_page.get("/digests").text)
        assert bob_page.post(f"{target}/send", data={"csrf": csrf}).status_code == 404
        assert len(sink.messages) == 1

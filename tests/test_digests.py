"""Digests: composed with a reason per entry, rendered safely, archived per user, and
emailed (to an aiosmtpd server on loopback) at most once per period."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from lxml import html as lxml_html
from markdown_it import MarkdownIt
from typer.testing import CliRunner

from mlradar._digest import DigestInputs, compose_digest, render_digest
from mlradar._digest.render import md_text, safe_url
from mlradar._radar import Radar, make_radar
from mlradar.cli import app
from mlradar.exceptions import (
    DigestAlreadySentError,
    EmailError,
    InvalidInputError,
    NotFoundError,
)
from mlradar.types import Digest
from tests.digest_support import HOSTILE_TITLE, SINCE, UNTIL, fill

FROM = "radar@example.org"


class Sink:
    """An SMTP server's handler that keeps every message, and checks logins."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[Any] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> Any:
        from aiosmtpd.smtp import AuthResult

        self.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    from aiosmtpd.controller import Controller

    sink = Sink()
    port = free_port()
    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=port,
        authenticator=sink.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


def _radar(db_url: str, port: int, **settings: Any) -> Radar:
    chosen: dict[str, Any] = {
        "embedding_model": "none-installed-model-xyz",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "smtp_from": FROM,
        "smtp_timeout": 10,
    }
    return make_radar(db_url, **{**chosen, **settings})


@pytest.fixture
def radar(db_url: str, smtp: tuple[Sink, int], monkeypatch: pytest.MonkeyPatch) -> Radar:
    r = _radar(db_url, smtp[1])
    fill(r, monkeypatch)
    return r


def _section(d: Digest, kind: str) -> Any:
    return next(s for s in d.sections if s.kind == kind)


# -- composing --------------------------------------------------------------------------------


def test_a_digest_has_every_section_with_a_reason_per_entry(radar: Radar) -> None:
    d = radar.digest(since=SINCE, until=UNTIL)
    assert (d.since, d.until, d.period) == (SINCE, UNTIL, f"{SINCE}/{UNTIL}")
    assert [s.kind for s in d.sections] == ["recommended", "discussed", "posts", "path"]
    recommended = _section(d, "recommended").entries
    assert recommended and all(e.reason for e in recommended)
    # It learned the tagged topic: the first recommendations are about diffusion.
    assert "diffusion" in recommended[0].summary.lower()
    assert {e.ref for e in recommended}.isdisjoint({"2505.00001", "2505.00002"})  # tagged
    discussed = _section(d, "discussed").entries
    assert [e.title for e in discussed] == ["A loud story", "A quiet story"]
    assert discussed[0].reason == "400 points and 120 comments on HN; about arXiv 2505.00001"
    assert discussed[0].url == "https://news.example/s2"  # where it is discussed
    posts = _section(d, "posts").entries
    assert {e.ref for e in posts} == {
        str(i.id) for i in radar.items(limit=50) if i.source_name == "Zebra Blog"
    } - {str(i.id) for i in radar.items(limit=50) if i.title == "Long ago"}
    assert any(e.reason == "new on Zebra Blog, by Ada" for e in posts)
    # Summaries are text: the hostile post's HTML is gone, its words stay.
    hostile = next(e for e in posts if e.title.startswith("Pwn"))
    assert hostile.summary == "Hi link"
    step = _section(d, "path").entries[0]
    assert step.kind == "step" and "first step" in step.reason


def test_a_user_without_tags_gets_a_digest_that_says_what_to_do(
    db_url: str, smtp: tuple[Sink, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    r = _radar(db_url, smtp[1])
    fill(r, monkeypatch)
    r.untag("diffusion")
    d = r.digest(since=SINCE, until=UNTIL)
    rec = _section(d, "recommended")
    assert rec.entries == () and "tag or like a few papers" in (rec.note or "")
    assert _section(d, "discussed").entries  # the rest is there all the same


def test_compose_is_pure_and_notes_empty_sections() -> None:
    from datetime import UTC, datetime

    d = compose_digest(DigestInputs("ada", SINCE, UNTIL, datetime(2025, 5, 5, tzinfo=UTC)))
    assert d.entry_count == 0
    assert [s.note for s in d.sections] == [
        "nothing new to recommend in this period",
        "no discussion in your sources in this period",
        "no new posts from the blogs and newsletters you follow",
        "no learning path yet",
    ]


def test_bad_periods_and_formats_are_one_line_errors(radar: Radar) -> None:
    with pytest.raises(InvalidInputError, match="starts after it ends"):
        radar.digest(since=UNTIL, until=SINCE)
    with pytest.raises(InvalidInputError, match="use md or html"):
        radar.render_digest(radar.digest(since=SINCE, until=UNTIL), "pdf")


# -- rendering --------------------------------------------------------------------------------


def test_markdown_escapes_feed_text_and_keeps_only_http_links(radar: Radar) -> None:
    text = radar.render_digest(radar.digest(since=SINCE, until=UNTIL), "md")
    assert "## Most discussed" in text and "*Why:* 400 points" in text
    assert "<script>" not in text and "\x01" not in text
    rendered = MarkdownIt("commonmark").render(text)
    tree = lxml_html.fromstring(f"<div>{rendered}</div>")
    assert not tree.xpath("//script")
    hrefs = tree.xpath("//a/@href")
    assert hrefs and all(h.startswith("https://") for h in hrefs)
    # The hostile title reads as its text, its markup characters shown, not obeyed.
    assert 'Pwn <script>alert("t")</script> [x](javascript:alert(1))' in tree.text_content()
    assert md_text("*a* _b_ `c`") == r"\*a\* \_b\_ \`c\`"
    assert safe_url("javascript:alert(1)") == "" and safe_url("https://x.org/a b") == (
        "https://x.org/a%20b"
    )


def test_html_escapes_feed_text(radar: Radar) -> None:
    page = radar.render_digest(radar.digest(since=SINCE, until=UNTIL), "html")
    tree = lxml_html.fromstring(page)
    assert not tree.xpath("//script")
    assert not [a for el in tree.iter() for a in el.attrib if a.lower().startswith("on")]
    assert all(h.startswith("https://") for h in tree.xpath("//a/@href"))
    assert HOSTILE_TITLE.replace("\x01", "").replace("\x0b", "")[:20] in tree.text_content()


# -- the archive ------------------------------------------------------------------------------


def test_digests_are_archived_once_per_period_and_per_user(radar: Radar) -> None:
    first = radar.save_digest(radar.digest(since=SINCE, until=UNTIL))
    again = radar.save_digest(radar.digest(since=SINCE, until=UNTIL))
    assert first.id == again.id and again.status == "stored"
    assert [d.id for d in radar.digests()] == [first.id]
    assert radar.digest_by_id(first.id) == again  # type: ignore[arg-type]
    assert _section(again, "discussed").entries[0].title == "A loud story"  # round trip
    bob = radar.core.for_user(radar.core.add_user("bob"))
    assert bob.digests() == []
    with pytest.raises(NotFoundError):
        bob.digest_by_id(first.id)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="default's, not bob's"):
        bob.save_digest(first)


# -- email ------------------------------------------------------------------------------------


def test_a_digest_is_emailed_once_per_period(radar: Radar, smtp: tuple[Sink, int]) -> None:
    sink, _port = smtp
    sent = radar.send_digest(radar.digest(since=SINCE, until=UNTIL), to="ada@example.org")
    assert (sent.status, sent.recipient, sent.error) == ("sent", "ada@example.org", None)
    assert sent.sent_at is not None
    assert len(sink.messages) == 1
    msg = sink.messages[0]
    assert msg["To"] == "ada@example.org" and msg["From"] == FROM
    assert msg["Subject"] == f"Your mlradar digest, {SINCE} to {UNTIL}"
    parts = {p.get_content_type(): p for p in msg.walk() if not p.is_multipart()}
    assert set(parts) == {"text/plain", "text/html"}
    assert "A loud story" in parts["text/plain"].get_payload(decode=True).decode()
    assert "<script>" not in parts["text/html"].get_payload(decode=True).decode()
    # The same period again: refused, and nothing more reaches the server.
    with pytest.raises(DigestAlreadySentError):
        radar.send_digest(radar.digest(since=SINCE, until=UNTIL), to="ada@example.org")
    assert len(sink.messages) == 1
    # Archiving the period again keeps what was sent.
    assert radar.save_digest(radar.digest(since=SINCE, until=UNTIL)).status == "sent"


def test_a_failed_send_is_recorded_and_may_be_sent_again(
    db_url: str, smtp: tuple[Sink, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    sink, port = smtp
    closed = free_port()  # nothing listens there
    down = _radar(db_url, closed, smtp_timeout=3)
    fill(down, monkeypatch)
    digest = down.digest(since=SINCE, until=UNTIL)
    with pytest.raises(EmailError, match=f"cannot send email through 127.0.0.1:{closed}"):
        down.send_digest(digest, to="ada@example.org")
    (stored,) = down.digests()
    assert stored.status == "failed" and "cannot send" in (stored.error or "")
    down.close()
    up = _radar(db_url, port)
    assert up.send_digest(digest, to="ada@example.org").status == "sent"
    assert len(sink.messages) == 1


def test_the_configured_credentials_log_in(
    db_url: str, smtp: tuple[Sink, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # (A refused login is not tested here: after smtplib's PLAIN attempt is refused it
    # tries LOGIN, which aiosmtpd 1.4 answers with a challenge smtplib never sends to.)
    sink, port = smtp
    ok = _radar(db_url, port, smtp_username="radar", smtp_password="s3cret")
    fill(ok, monkeypatch)
    ok.send_digest(ok.digest(since=SINCE, until=UNTIL), to="ada@example.org")
    assert sink.logins == [(b"radar", b"s3cret")] and len(sink.messages) == 1


def test_two_senders_racing_for_one_period_claim_it_once(radar: Radar) -> None:
    digest = radar.digest(since=SINCE, until=UNTIL)
    storage, uid = radar._storage, radar._user_id
    results: list[object] = []
    barrier = threading.Barrier(4)

    def claim() -> None:
        barrier.wait()
        results.append(storage.claim_digest(uid, digest, "ada@example.org"))

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r is not None for r in results) == 1


def test_email_needs_configuration_and_an_address(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = make_radar(db_url, embedding_model="none-installed-model-xyz")
    with pytest.raises(EmailError, match="smtp_host"):
        r.send_digest(to="ada@example.org")
    r.close()
    r = make_radar(db_url, smtp_host="127.0.0.1", smtp_from=FROM)
    with pytest.raises(InvalidInputError, match="no address"):
        r.send_digest()
    with pytest.raises(InvalidInputError, match="not an email address"):
        r.send_digest(to="ada@example.org\r\nBcc: eve@example.org")


def test_the_schedule_is_per_user_and_checked(radar: Radar) -> None:
    assert radar.digest_schedule().cadence == "off"
    with pytest.raises(InvalidInputError, match="needs an email address"):
        radar.set_digest_schedule("weekly")
    with pytest.raises(InvalidInputError, match="unknown cadence"):
        radar.set_digest_schedule("hourly", email="a@example.org")
    with pytest.raises(InvalidInputError, match="hour"):
        radar.set_digest_schedule("daily", hour=24, email="a@example.org")
    set_ = radar.set_digest_schedule("weekly", weekday=4, hour=8, email="ada@example.org")
    assert radar.digest_schedule() == set_
    assert radar.set_digest_schedule("off").email == "ada@example.org"  # address kept
    bob = radar.core.for_user(radar.core.add_user("bob"))
    assert bob.digest_schedule().cadence == "off"


# -- the command line -------------------------------------------------------------------------


def test_cli_digest_prints_archives_and_sends(
    radar: Radar, db_url: str, smtp: tuple[Sink, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    sink, port = smtp
    runner = CliRunner()
    for key, value in {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_SECURITY": "none",
        "SMTP_FROM": FROM,
        "EMBEDDING_MODEL": "none-installed-model-xyz",
    }.items():
        monkeypatch.setenv(f"MLRADAR_{key}", value)
    since = ["--db", db_url, "digest", "--since", SINCE.isoformat()]
    out = runner.invoke(app, [*since, "--format", "html"])
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith("<!DOCTYPE html>") and "A loud story" in out.stdout
    listed = runner.invoke(app, ["--db", db_url, "digests", "--json"])
    assert listed.exit_code == 0 and '"status": "stored"' in listed.stdout
    sent = runner.invoke(app, [*since, "--send", "--to", "ada@example.org"])
    assert sent.exit_code == 0, sent.output
    assert "## Most discussed" in sent.stdout and len(sink.messages) == 1
    twice = runner.invoke(app, [*since, "--send", "--to", "ada@example.org"])
    assert twice.exit_code == 1 and "sent already" in twice.output
    sched = runner.invoke(
        app, ["--db", db_url, "digest-schedule", "weekly", "--email", "ada@example.org"]
    )
    assert sched.exit_code == 0 and "weekly on Monday from 07:00 UTC" in sched.stdout


def test_render_is_available_without_a_radar() -> None:
    from datetime import UTC, datetime

    d = compose_digest(DigestInputs("ada", SINCE, UNTIL, datetime(2025, 5, 5, tzinfo=UTC)))
    assert render_digest(d, "md").startswith(f"# Your mlradar digest, {SINCE} to {UNTIL}")

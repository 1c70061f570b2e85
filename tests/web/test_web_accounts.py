"""Accounts: argon2 passwords, login limits per account and per address, signed-cookie
sessions with CSRF on every unsafe method, sign-up when allowed, ``user add --password``,
and local single-user mode only on loopback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from mlradar._accounts import (
    LoginLimits,
    hash_password,
    hash_token,
    login_decision,
    new_token,
    verify_password,
)
from mlradar.exceptions import AuthError, InvalidInputError, LoginRateLimitedError
from tests.web.support import PASSWORD, Harness, csrf_of, harness

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_passwords_and_tokens_are_hashed() -> None:
    stored = hash_password("s3cret-enough")
    assert stored.startswith("$argon2id$") and "s3cret" not in stored
    assert verify_password(stored, "s3cret-enough")
    assert not verify_password(stored, "s3cret-enougH")
    assert not verify_password("not a hash", "x")
    token = new_token()
    assert token.startswith("mlr_") and len(token) > 40 and new_token() != token
    assert hash_token(token) == hash_token(token) and token not in hash_token(token)


def test_login_decision_counts_failures_in_the_window() -> None:
    limits = LoginLimits(per_account=3, per_address=5, window=timedelta(minutes=10))
    recent = [NOW - timedelta(minutes=m) for m in (1, 2, 3)]
    assert login_decision(recent[:2], [], NOW, limits).allowed
    blocked = login_decision(recent, [], NOW, limits)
    assert not blocked.allowed and "account" in blocked.reason
    # The oldest of the three leaves the window 7 minutes from now.
    assert blocked.retry_after == pytest.approx(7 * 60)
    old = [NOW - timedelta(minutes=m) for m in (11, 12, 13)]
    assert login_decision(old, [], NOW, limits).allowed
    by_address = login_decision([], [NOW] * 5, NOW, limits)
    assert not by_address.allowed and "address" in by_address.reason


def test_authenticate_limits_per_account_and_per_address(web: Harness) -> None:
    accounts = web.core.accounts
    assert accounts.authenticate("alice", PASSWORD, address="1.2.3.4", now=NOW).name == "alice"
    for _ in range(5):
        with pytest.raises(AuthError):
            accounts.authenticate("alice", "wrong password", address="1.2.3.4", now=NOW)
    with pytest.raises(LoginRateLimitedError) as limited:
        accounts.authenticate("alice", PASSWORD, address="5.6.7.8", now=NOW)
    assert limited.value.retry_after > 0
    # Fifteen minutes on, the account may try again.
    later = NOW + timedelta(minutes=16)
    assert accounts.authenticate("alice", PASSWORD, address="1.2.3.4", now=later).name == "alice"
    # One address guessing at many accounts is stopped too (20 failures).
    for n in range(20):
        with pytest.raises(AuthError):
            accounts.authenticate(f"nobody{n}", "x" * 8, address="9.9.9.9", now=later)
    with pytest.raises(LoginRateLimitedError):
        accounts.authenticate("bob", PASSWORD, address="9.9.9.9", now=later)
    assert accounts.authenticate("bob", PASSWORD, address="8.8.8.8", now=later).name == "bob"


def test_login_form_sets_a_signed_httponly_lax_cookie(web: Harness) -> None:
    c = web.client()
    page = c.get("/login")
    assert page.status_code == 200
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    bad = c.post("/login", data={"name": "alice", "password": "nope", "csrf": csrf_of(page.text)})
    assert bad.status_code == 401 and "wrong user name or password" in bad.text
    ok = c.post("/login", data={"name": "alice", "password": PASSWORD, "csrf": csrf_of(page.text)})
    assert ok.status_code == 303 and ok.headers["location"] == "/"
    assert c.get("/").status_code == 200
    # A tampered cookie is a visitor's.
    signed = ok.cookies["mlradar_session"]
    c.cookies.clear()
    c.cookies.set("mlradar_session", signed[:-3] + ("abc" if signed[-3:] != "abc" else "xyz"))
    assert c.get("/").status_code == 303
    https = web.client(base_url="https://testserver")
    assert "Secure" in https.get("/login").headers["set-cookie"]


def test_login_needs_csrf_and_redirects_only_locally(web: Harness) -> None:
    c = web.client()
    assert c.post("/login", data={"name": "alice", "password": PASSWORD}).status_code == 403
    page = c.get("/login?next=https://evil.example/")
    assert 'value="/"' in page.text
    done = c.post(
        "/login",
        data={"name": "alice", "password": PASSWORD, "csrf": csrf_of(page.text), "next": "//evil"},
    )
    assert done.headers["location"] == "/"


def test_pages_need_login_and_every_form_needs_csrf(web: Harness) -> None:
    visitor = web.client()
    for path in (
        "/",
        "/search",
        "/sources",
        "/catalog",
        "/path",
        "/settings",
        "/paper/2505.00001",
        "/digests",
        "/digests/1",
    ):
        response = visitor.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    c = web.login("alice")
    forms = [
        ("/act", {"action": "like", "ids": "2505.00001"}),
        ("/sources/add", {"url": "https://example.org/feed"}),
        ("/sources/remove", {"ref": "1"}),
        ("/path/done", {"slug": "x"}),
        ("/settings/tokens", {"name": "x"}),
        ("/settings/tokens/revoke", {"token_id": "1"}),
        ("/settings/feed-tokens", {"label": "x"}),
        ("/settings/feed-tokens/revoke", {"token_id": "1"}),
        ("/settings/digest-schedule", {"cadence": "off"}),
        ("/digests", {}),
        ("/digests/1/send", {"to": "a@b.org"}),
        ("/logout", {}),
    ]
    for path, data in forms:
        assert c.post(path, data=data).status_code == 403, path
        assert c.post(path, data={**data, "csrf": "forged"}).status_code == 403, path
    assert c.get("/").status_code == 200  # still logged in: the logout was refused too


def test_logout_rotates_the_session(web: Harness) -> None:
    c = web.login("alice")
    token = web.csrf(c)
    assert c.post("/logout", data={"csrf": token}).headers["location"] == "/login"
    assert c.get("/").status_code == 303
    # The old session's CSRF secret died with it.
    assert c.post("/act", data={"action": "like", "ids": "1", "csrf": token}).status_code == 403


def test_signup_when_allowed(web: Harness) -> None:
    c = web.client()
    page = c.get("/signup")
    short = c.post(
        "/signup", data={"name": "carol", "password": "short", "csrf": csrf_of(page.text)}
    )
    assert short.status_code == 400 and "at least 8" in short.text
    made = c.post(
        "/signup", data={"name": "carol", "password": PASSWORD, "csrf": csrf_of(page.text)}
    )
    assert made.status_code == 303 and c.get("/").status_code == 200
    again = web.client()
    page = again.get("/signup")
    taken = again.post(
        "/signup", data={"name": "alice", "password": PASSWORD, "csrf": csrf_of(page.text)}
    )
    assert taken.status_code == 400 and "exists already" in taken.text


def test_signup_closed_by_default(db_url: str, feed_server: object) -> None:
    from mlradar import RadarCore

    with RadarCore.open(db_url) as core:
        with pytest.raises(AuthError):
            core.accounts.sign_up("dave", PASSWORD)
        with pytest.raises(InvalidInputError):
            core.accounts.set_password(core.ensure_user("dave").name, "short")


def test_local_mode_needs_no_login(web_db: str, feed_server: object) -> None:
    with harness(web_db, feed_server, local_user="alice") as h:  # type: ignore[arg-type]
        c = h.client()
        assert c.get("/").status_code == 200
        assert c.get("/login").status_code == 303
        assert c.get("/api/v1/me").json()["user"]["name"] == "alice"
        # CSRF still guards forms in local mode.
        assert c.post("/act", data={"action": "like", "ids": "2505.00001"}).status_code == 403


def test_user_add_with_password_and_serve_refuses_unauthenticated_off_loopback(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    from mlradar import RadarCore
    from mlradar.cli import app

    served: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append(kw))
    runner = CliRunner()
    added = runner.invoke(
        app,
        ["--db", db_url, "user", "add", "erin", "--password"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert added.exit_code == 0, added.output
    with RadarCore.open(db_url) as core:
        assert core.accounts.authenticate("erin", PASSWORD, address="x").name == "erin"
    refused = runner.invoke(app, ["--db", db_url, "serve", "--host", "0.0.0.0", "--no-login"])
    assert refused.exit_code == 1 and "refusing" in refused.output and not served
    public = runner.invoke(app, ["--db", db_url, "serve", "--host", "0.0.0.0", "--port", "8123"])
    assert public.exit_code == 0 and "with login" in public.output
    local = runner.invoke(app, ["--db", db_url, "serve"])
    assert local.exit_code == 0 and "no login" in local.output
    assert [(s["host"], s["port"]) for s in served] == [("0.0.0.0", 8123), ("127.0.0.1", 8000)]

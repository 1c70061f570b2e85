"""Sending a digest over SMTP (stdlib ``smtplib``), as configured in the settings.

The message is ``multipart/alternative``: the Markdown rendering as its text part, the
HTML page as its HTML part.  SMTP errors become :class:`~mlradar.exceptions.EmailError`
with one line saying what failed (never the password).
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from mlradar._config import Settings
from mlradar.exceptions import EmailError


def digest_message(
    *, subject: str, sender: str, recipient: str, text: str, html: str
) -> EmailMessage:
    """The email of one digest: a plain-text part and an HTML alternative."""
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = recipient
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def check_smtp(settings: Settings) -> str:
    """The sender address, or EmailError saying what the settings lack."""
    if not settings.smtp_host:
        raise EmailError("email is not configured: set smtp_host (and smtp_from) in the config")
    if not settings.smtp_from:
        raise EmailError("email is not configured: set smtp_from, the address digests come from")
    return settings.smtp_from


def send_message(settings: Settings, msg: EmailMessage) -> None:
    """Send ``msg`` through the configured server: STARTTLS, TLS or plain, with login
    when a user name is set."""
    check_smtp(settings)
    host, port, timeout = settings.smtp_host or "", settings.smtp_port, settings.smtp_timeout
    context = ssl.create_default_context()
    try:
        client: smtplib.SMTP
        if settings.smtp_security == "tls":
            client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            if settings.smtp_security == "starttls":
                client.starttls(context=context)
            if settings.smtp_username:
                secret = settings.smtp_password
                password = secret.get_secret_value() if secret is not None else ""
                client.login(settings.smtp_username, password)
            refused = client.send_message(msg)
    except smtplib.SMTPAuthenticationError as exc:
        raise EmailError(f"SMTP server {host}:{port} refused the login ({exc.smtp_code})") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise EmailError(f"SMTP server {host}:{port} refused {', '.join(exc.recipients)}") from None
    except (smtplib.SMTPException, OSError) as exc:
        message = " ".join(str(exc).split()) or exc.__class__.__name__
        raise EmailError(f"cannot send email through {host}:{port}: {message}") from None
    if refused:
        raise EmailError(f"SMTP server {host}:{port} refused {', '.join(refused)}")


__all__ = ["check_smtp", "digest_message", "send_message"]

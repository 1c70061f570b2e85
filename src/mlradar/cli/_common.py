"""What every CLI command shares: opening the radar, JSON output, error handling."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from rich.progress import Progress

    from mlradar._radar import Radar, RadarCore

# emoji=False: a title such as "use :warning: here" must print as written, not as an emoji.
console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)

#: Characters that can steer a terminal or reorder what it shows: C0 controls but tab
#: and newline, DEL, C1 controls (0x9b is a one-byte CSI), and the bidi overrides.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def plain(value: object) -> str:
    """Text from a feed, a paper, a file or the user, with every control character shown
    as a visible ``\\xNN`` escape so that none reaches the terminal raw.  For output that
    is not read as markup (``typer.echo``, file contents)."""
    text = "" if value is None else str(value)
    return _UNSAFE.sub(
        lambda m: (
            f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}"
        ),
        text,
    )


def safe(value: object) -> str:
    """Untrusted text made safe to print through Rich: controls made visible (see
    :func:`plain`) and markup escaped, so ``[pdf]`` or ``[/bold]`` shows as written.
    Use it on every value that did not come from this program's own literals."""
    return escape(plain(value))


JsonOption = typer.Option(False, "--json", help="Print JSON instead of a table.")


class CliState:
    """The global options, kept on the click context."""

    def __init__(self, db: str | None, user: str | None) -> None:
        self.db = db
        self.user = user
        self._core: RadarCore | None = None
        self._radar: Radar | None = None

    def core(self) -> RadarCore:
        if self._core is None:
            # Imported here so that `--help` stays fast.
            from pydantic import ValidationError

            from mlradar._radar import RadarCore
            from mlradar.exceptions import InvalidInputError

            try:
                self._core = RadarCore.open(self.db)
            except ValidationError as exc:
                # A bad setting (environment or config file): one line, not a traceback.
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
                )
                raise InvalidInputError(f"bad setting: {problems}") from None
        return self._core

    def radar(self) -> Radar:
        """The view of the user ``--user`` names (who must exist), else of the default
        user (created on first use, so that a new install just works)."""
        if self._radar is None:
            core = self.core()
            if self.user is None:
                self._radar = core.for_user(core.ensure_user(core.settings.user))
            else:
                self._radar = core.for_user(core.user(self.user))
        return self._radar


def radar(ctx: typer.Context) -> Radar:
    """The user's view for this command."""
    return _state(ctx).radar()


def core(ctx: typer.Context) -> RadarCore:
    """The core, for commands about every user (users, the worker)."""
    return _state(ctx).core()


def _state(ctx: typer.Context) -> CliState:
    state = ctx.find_root().obj
    assert isinstance(state, CliState)
    return state


def _default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def to_jsonable(value: Any) -> Any:
    """Records (frozen dataclasses) to plain JSON types, recursively."""
    return json.loads(json.dumps(value, default=_default))


def _json_unicode_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def print_json(value: Any) -> None:
    """JSON on stdout.  ``json`` escapes C0 controls itself; DEL, the C1 controls and the
    bidi overrides are escaped here too (they can only occur inside strings, where
    ``\\uXXXX`` is the same value), so piping JSON to a terminal is as safe as a table."""
    text = json.dumps(value, default=_default, ensure_ascii=False, indent=2)
    sys.stdout.write(_UNSAFE.sub(_json_unicode_escape, text) + "\n")


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr (the message is escaped: it often quotes input)
    and return the exit to raise."""
    err_console.print(f"[red]error:[/red] {safe(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


#: The forms every date option takes, for help texts and messages.
DATE_FORMS = "YYYY-MM-DD, today, yesterday, or a span back from now: 36h / 7d / 2w"


def parse_since(value: str | None, option: str = "--since") -> datetime | None:
    """The one parser of every date option: ``2025-06-01``, an ISO datetime, ``today``,
    ``yesterday``, or a span back from now: ``36h``, ``7d``, ``2w``."""
    if value is None:
        return None
    from datetime import UTC, timedelta

    from mlradar.exceptions import InvalidInputError

    text = value.strip().lower()
    now = datetime.now(UTC)
    if text in ("today", "yesterday"):
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight - timedelta(days=1) if text == "yesterday" else midnight
    units = {"h": "hours", "d": "days", "w": "weeks"}
    if text[:-1].isdigit() and text[-1:] in units:
        return now - timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInputError(f"{option}: not a date: {value!r} (use {DATE_FORMS})") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_day(value: str | None, option: str) -> date | None:
    """A date option that names a day (listing days, harvest datestamps): the same forms
    as :func:`parse_since`, as the UTC day they fall on."""
    moment = parse_since(value, option)
    return None if moment is None else moment.date()


#: Help's type column in words a user knows; ``None``: no label (a flag takes no value).
_TYPE_LABELS: dict[str, str | None] = {
    "str": "TEXT",
    "int": "INTEGER",
    "float": "NUMBER",
    "path": "PATH",
    "file": "FILE",
    "directory": "DIR",
    "bool": None,
    "int range": "INTEGER",
    "float range": "NUMBER",
}


def plain_help_labels() -> None:
    """Help shows ``TEXT``, ``INTEGER``, ``PATH...`` and nothing for a flag, not Python's
    ``<bool>`` and ``<list[str]>``; usage shows ``TAG IDS...`` rather than ``{tag} [ids]...``.

    Typer has no setting for either, so its two display methods are wrapped once, here:
    if a future Typer renames them, help falls back to its own labels (nothing breaks).
    """
    from typer import core as typer_core

    for cls in (typer_core.TyperArgument, typer_core.TyperOption):
        original = getattr(cls, "display_type_rich", None)
        if original is None or getattr(original, "_mlradar", False):
            continue

        def display(self: Any, ctx: Any, _original: Any = original) -> str | None:
            if getattr(self, "is_flag", False):
                return None
            shown = _original(self, ctx)
            if not isinstance(shown, str):
                return None
            if not shown.startswith("<") or ">" not in shown:
                return shown
            label, rest = shown[1:].split(">", 1)
            if label.startswith("list[") and label.endswith("]"):
                # An argument takes several values; a repeatable option one per use.
                label = label[5:-1]
                rest = "" if isinstance(self, typer_core.TyperOption) else "..."
            word = _TYPE_LABELS.get(label, label.upper())
            return None if word is None else word + rest

        display._mlradar = True  # type: ignore[attr-defined]
        cls.display_type_rich = display  # type: ignore[method-assign]

    usage = getattr(typer_core.TyperArgument, "_usage_display_name", None)
    if usage is not None and not getattr(usage, "_mlradar", False):

        def usage_name(self: Any) -> str:
            name = str(self.metavar or self.name or "").upper()
            name = name if self.required else f"[{name}]"
            return name + ("..." if self.nargs != 1 else "")

        usage_name._mlradar = True  # type: ignore[attr-defined]
        typer_core.TyperArgument._usage_display_name = usage_name  # type: ignore[method-assign]


def progress_bar(*, disable: bool) -> Progress:
    """The bar long commands show on stderr: what, how far (n of m), how long so far.

    rich.progress is imported here, not at start-up: commands that show no bar (most of
    them) should not pay for it.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=disable,
    )

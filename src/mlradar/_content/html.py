"""HTML from feeds: sanitized for display, flattened to text for search.

Sanitizing uses nh3 (the Rust ``ammonia`` sanitizer).  The allowlist is nh3's default (text
formatting, images, tables, code/pre, headings, lists, blockquote, figure) with ``title`` and
``lang`` attributes added; links get ``rel="noopener noreferrer nofollow"``; ``href``/``src``
keep only http, https and mailto URLs (no ``javascript:``, no ``data:``); script, style,
svg, math, iframe, object/embed and template elements are removed with their content; every
``on*`` attribute and ``style`` attribute is dropped.

Relative URLs are resolved against the ``base_url`` of the call.  One sanitizer object
serves every call (building one costs about as much as cleaning a typical entry); the base
travels to its URL callback through a context variable, so concurrent calls from threads or
tasks each see their own.
"""

from __future__ import annotations

import contextvars
import html as _html
import re
from urllib.parse import urljoin, urlsplit

import nh3

#: Elements removed together with everything inside them.
REMOVED_WITH_CONTENT: frozenset[str] = frozenset(
    {
        "script",
        "style",
        "svg",
        "math",
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "applet",
        "template",
        "noscript",
        "noembed",
        "noframes",
        "xmp",
        "plaintext",
        "head",
        "title",
        "textarea",
        "select",
    }
)
URL_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"

_base_url: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "mlradar_html_base_url", default=None
)


def _resolve_relative(url: str) -> str | None:
    """nh3 calls this for every relative URL; it must not raise (nh3 would report it)."""
    base = _base_url.get()
    if base is None:
        return url
    try:
        absolute = urljoin(base, url)
        scheme = urlsplit(absolute).scheme.lower()
    except ValueError:
        return None
    return absolute if scheme in ("http", "https") else None


def _allowed_tags() -> set[str]:
    return set(nh3.ALLOWED_TAGS) - REMOVED_WITH_CONTENT


def _allowed_attributes() -> dict[str, set[str]]:
    attributes = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
    attributes["*"] = attributes.get("*", set()) | {"title", "lang"}
    return attributes


_SANITIZER = nh3.Cleaner(
    tags=_allowed_tags(),
    clean_content_tags=set(REMOVED_WITH_CONTENT),
    attributes=_allowed_attributes(),
    url_schemes=set(URL_SCHEMES),
    link_rel=LINK_REL,
    strip_comments=True,
    url_relative=_resolve_relative,
)
_TO_TEXT = nh3.Cleaner(
    tags=set(), clean_content_tags=set(REMOVED_WITH_CONTENT), attributes={}, link_rel=None
)

# Elements that separate words when rendered: flattening must leave a space in their place,
# or "<p>one</p><p>two</p>" would index the word "onetwo".
_BREAKING_TAGS = (  # noqa: SIM905 - a word list reads better than 38 quoted strings
    "p div br hr li dd dt h1 h2 h3 h4 h5 h6 tr td th table thead tbody caption blockquote pre"
    " section article aside header footer nav figure figcaption img ul ol dl details summary"
    " main address"
).split()


def _any_case(name: str) -> str:
    # Spelled out per character: re.IGNORECASE makes this search four times slower.
    return "".join(f"[{c}{c.upper()}]" if c.isalpha() else c for c in name)


_BREAKING_TAG = re.compile(
    r"<(?=/?(?:" + "|".join(_any_case(t) for t in _BREAKING_TAGS) + r")[\s/>])"
)


#: Deeper element nesting than this is refused (see _too_deep).
MAX_NESTING = 256
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)[^<>]*?(/?)>")
_ANY_TAG = re.compile(r"<[^>]*>?")
# Elements that never nest: void ones, and ones a sibling implicitly closes.
_FLAT = frozenset(
    (  # noqa: SIM905 - a word list reads better than 30 quoted strings
        "area base br col embed hr img input link meta source track wbr p li dt dd tr td th"
        " option optgroup rb rt rp thead tbody tfoot colgroup caption"
    ).split()
)


def _too_deep(html: str) -> bool:
    """Whether ``html`` nests elements deeper than :data:`MAX_NESTING`.

    The HTML5 tree builder behind nh3 takes time quadratic in the nesting depth (200,000
    nested ``<div>`` took minutes), and no real page nests more than a few dozen deep.  This
    approximates the tree builder's stack of open elements in linear time: a closing tag
    pops down to its element, a closing tag of an element not open is ignored.
    """
    # Only an opening tag pushes, and every tag starts with "<" ("</" for a closing one),
    # so with this few openings the stack cannot get deep: most bodies end here.
    if html.count("<") - html.count("</") <= MAX_NESTING:
        return False
    stack: list[str] = []
    open_counts: dict[str, int] = {}
    for m in _TAG.finditer(html):
        closing, name, self_closing = m.groups()
        name = name.lower()
        if closing:
            if open_counts.get(name):
                while stack:
                    top = stack.pop()
                    open_counts[top] -= 1
                    if top == name:
                        break
        elif not self_closing and name not in _FLAT:
            stack.append(name)
            open_counts[name] = open_counts.get(name, 0) + 1
            if len(stack) > MAX_NESTING:
                return True
    return False


def _flatten_degenerate(html: str) -> str:
    """Text of HTML too deep for the tree builder: every tag dropped, entities decoded."""
    return " ".join(_html.unescape(_ANY_TAG.sub(" ", html)).split())


def sanitize_html(html: str, base_url: str | None) -> str:
    """Safe HTML to store and display, with relative URLs made absolute against ``base_url``
    (left relative when it is None).  See the module docstring for the allowlist.

    HTML nested deeper than :data:`MAX_NESTING` elements comes back as its escaped text.
    """
    if not html:
        return ""
    if _too_deep(html):
        return _html.escape(_flatten_degenerate(html), quote=False)
    token = _base_url.set(base_url)
    try:
        return str(_SANITIZER.clean(html))
    finally:
        _base_url.reset(token)


def html_to_text(html: str) -> str:
    """The text of an HTML fragment, for full-text search: tags dropped (script, style and
    the like with their content), entities decoded, whitespace collapsed to single spaces."""
    if not html:
        return ""
    if _too_deep(html):
        return _flatten_degenerate(html)
    if "<" in html or "&" in html:
        html = _html.unescape(_TO_TEXT.clean(_BREAKING_TAG.sub(" <", html)))
    # split/join is several times faster than re.sub(r"\s+", ...) on long text.
    return " ".join(html.split())


# A tag of nh3's output: its serializer double-quotes every attribute value (escaping `"`
# and `&` in it, but not `<` or `>`), and escapes `<` and `>` in text, so outside a quoted
# value `<` opens a tag and `>` closes it.
_SANITIZED_TAG = re.compile(r'<[^>"]*(?:"[^"]*"[^>"]*)*>')


def sanitized_text(sanitized_html: str) -> str:
    """:func:`html_to_text` of HTML that :func:`sanitize_html` produced, without parsing it
    a second time.

    Sanitized HTML holds no element whose content is dropped (script, style and the
    like), its comments are gone, and its tags are as regular as the serializer writes
    them, so dropping the tags leaves the text nodes in document order: what nh3 gives,
    in two thirds of the time on real entries (a test holds the two equal on every corpus).
    """
    if not sanitized_html:
        return ""
    if _too_deep(sanitized_html):
        return _flatten_degenerate(sanitized_html)
    text = sanitized_html
    if "<" in text or "&" in text:
        text = _html.unescape(_SANITIZED_TAG.sub("", _BREAKING_TAG.sub(" <", text)))
    return " ".join(text.split())


#: Links kept per entry: a newsletter issue links a few dozen pages, a link dump hundreds.
MAX_LINKS = 200
# nh3 writes every attribute double-quoted with "&" escaped, so its output needs no parser.
_HREF = re.compile(r'<a\s[^>]*?href="([^"]+)"')


def extract_links(sanitized_html: str, limit: int = MAX_LINKS) -> tuple[str, ...]:
    """The absolute http(s) links of HTML that :func:`sanitize_html` produced, in order of
    appearance, without repeats, at most ``limit``."""
    if "href" not in sanitized_html:
        return ()
    found: dict[str, None] = {}
    for m in _HREF.finditer(sanitized_html):
        url = _html.unescape(m.group(1)).strip()
        if url.lower().startswith(("http://", "https://")):
            found.setdefault(url, None)
            if len(found) >= limit:
                break
    return tuple(found)

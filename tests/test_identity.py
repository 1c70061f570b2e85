"""Canonical identity: URLs, arXiv ids, DOIs, entry keys.  Examples plus properties."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mlradar._identity import (
    canonical_url_or_none,
    canonicalize_url,
    content_hash,
    entry_key,
    extract_arxiv_ids,
    extract_dois,
    normalize_doi,
    parse_arxiv_id,
)
from mlradar._identity.urls import (
    _PATH_SAFE,
    _QUERY_SAFE,
    TRACKING_PARAMS,
    _escape_each,
    _normalize_escapes,
)
from mlradar.exceptions import InvalidInputError

# -- canonicalize_url -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.COM/a", "http://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("http://example.com:443/a", "http://example.com:443/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/a#section-2", "https://example.com/a"),
        ("https://example.com/a?", "https://example.com/a"),
        ("https://example.com/a?#x", "https://example.com/a"),
        (
            "https://example.com/p?utm_source=rss&id=3&utm_medium=feed&fbclid=x&gclid=y",
            "https://example.com/p?id=3",
        ),
        (
            "https://example.com/p?b=2&a=1&mc_cid=1&mc_eid=2&ref=hn&ref_src=twsrc&_hsenc=a&igshid=z",
            "https://example.com/p?b=2&a=1",
        ),
        ("https://example.com/p?UTM_Campaign=x&q=1", "https://example.com/p?q=1"),
        ("https://example.com/p?a=1&&b=2", "https://example.com/p?a=1&b=2"),
        ("https://example.com/p?flag&x=", "https://example.com/p?flag&x="),
        ("https://bücher.de/straße", "https://xn--bcher-kva.de/stra%C3%9Fe"),
        ("https://example.com/a b", "https://example.com/a%20b"),
        ("https://example.com/%7euser/%2f", "https://example.com/~user/%2F"),
        ("https://example.com/%e2%82%ac", "https://example.com/%E2%82%AC"),
        ("https://example.com/100%", "https://example.com/100%25"),
        ("https://example.com/a/./b/../c", "https://example.com/a/c"),
        ("https://example.com/a/..", "https://example.com/"),
        ("https://example.com./x", "https://example.com/x"),
        ("  https://example.com/x\n", "https://example.com/x"),
        ("https://user:pw@Example.com/x", "https://user:pw@example.com/x"),
        ("http://[::1]:8080/x", "http://[::1]:8080/x"),
        ("https://example.com/search?q=a+b&lang=en", "https://example.com/search?q=a+b&lang=en"),
        ("https://example.com/q?x=%41%2B", "https://example.com/q?x=A%2B"),
    ],
)
def test_canonicalize_url_examples(url: str, expected: str) -> None:
    assert canonicalize_url(url) == expected
    assert canonicalize_url(expected) == expected


@pytest.mark.parametrize(
    "url",
    [
        "",
        "not a url",
        "example.com/path",
        "//example.com/x",
        "mailto:someone@example.com",
        "ftp://example.com/file",
        "javascript:alert(1)",
        "http://",
        "http://exa mple.com/",
        "http://[::1/",
        "http://example.com:99999/",
        "http://example.com:port/",
        "https://" + "a" * 70 + "é.com/",
    ],
)
def test_canonicalize_url_rejects_what_is_not_an_http_url(url: str) -> None:
    with pytest.raises(InvalidInputError):
        canonicalize_url(url)
    assert canonical_url_or_none(url) is None


def test_tracking_set_is_lowercase() -> None:
    assert all(p == p.lower() for p in TRACKING_PARAMS)


_label = st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=10)
_host = st.one_of(
    st.lists(_label, min_size=1, max_size=4).map(".".join),
    st.sampled_from(["bücher.de", "例え.jp", "EXAMPLE.com.", "127.0.0.1", "[::1]"]),
)
_component = st.text(max_size=12)


@st.composite
def _urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "Https"]))
    host = draw(_host)
    port = draw(st.one_of(st.none(), st.integers(min_value=1, max_value=65535)))
    path = "/".join(draw(st.lists(_component, max_size=4)))
    params = draw(
        st.lists(
            st.tuples(
                st.one_of(_component, st.sampled_from(["utm_source", "fbclid", "ref"])),
                _component,
            ),
            max_size=4,
        )
    )
    query = "&".join(f"{k}={v}" for k, v in params)
    fragment = draw(st.one_of(st.none(), _component))
    return (
        f"{scheme}://{host}{'' if port is None else f':{port}'}/{path}"
        + (f"?{query}" if params else "")
        + ("" if fragment is None else f"#{fragment}")
    )


@given(_urls())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_canonicalize_url_is_idempotent(url: str) -> None:
    try:
        once = canonicalize_url(url)
    except InvalidInputError:
        return
    assert canonicalize_url(once) == once
    assert "#" not in once


@given(st.text(max_size=60))
@example("http://%")
@example("http://a/%%%41")
@example("https://x/\ud800")
def test_canonicalize_url_never_crashes_on_text(text: str) -> None:
    try:
        once = canonicalize_url(text)
    except InvalidInputError:
        return
    assert canonicalize_url(once) == once


_param_text = st.text(alphabet=string.ascii_letters + string.digits + "-._~", min_size=1)


@given(
    kept=st.lists(st.tuples(_param_text, _param_text), max_size=5),
    tracking=st.lists(
        st.tuples(st.sampled_from([*sorted(TRACKING_PARAMS), "utm_term", "utm_x"]), _param_text),
        max_size=4,
    ),
    data=st.data(),
)
def test_query_keeps_non_tracking_params_in_order(
    kept: list[tuple[str, str]], tracking: list[tuple[str, str]], data: st.DataObject
) -> None:
    kept = [
        (k, v)
        for k, v in kept
        if k.lower() not in TRACKING_PARAMS and not k.lower().startswith("utm_")
    ]
    params = list(kept)
    for pair in tracking:
        params.insert(data.draw(st.integers(min_value=0, max_value=len(params))), pair)
    url = "https://example.com/p?" + "&".join(f"{k}={v}" for k, v in params)
    expected_query = "&".join(f"{k}={v}" for k, v in kept)
    assert canonicalize_url(url) == "https://example.com/p" + (f"?{expected_query}" if kept else "")


# -- arXiv ids -------------------------------------------------------------------------------


def test_extract_arxiv_ids_from_links_and_prefixes() -> None:
    text = (
        "See https://arxiv.org/abs/2503.11677v2 and arxiv.org/pdf/2503.11678.pdf, "
        "http://export.arxiv.org/abs/0704.0001v1, https://www.arxiv.org/html/2503.11679v1, "
        "arXiv:2401.00001, arXiv: 1501.00001, ARXIV 2312.12345v3, "
        "https://huggingface.co/papers/2502.03032, https://ar5iv.labs.arxiv.org/html/2101.00001, "
        "https://www.alphaxiv.org/abs/2502.00002 and again arXiv:2503.11677v1."
    )
    assert extract_arxiv_ids(text) == [
        "2503.11677",
        "2503.11678",
        "0704.0001",
        "2503.11679",
        "2401.00001",
        "1501.00001",
        "2312.12345",
        "2502.03032",
        "2101.00001",
        "2502.00002",
    ]


def test_extract_old_style_ids_drops_subject_class_and_version() -> None:
    text = (
        "hep-th/9901001, math.GT/0309136v2, cs/0112017 and "
        "https://arxiv.org/abs/hep-th/9901002v1 (math-ph/0001001)"
    )
    assert extract_arxiv_ids(text) == [
        "hep-th/9901001",
        "math/0309136",
        "cs/0112017",
        "hep-th/9901002",
        "math-ph/0001001",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "version 2023.1234 of the tool",
        "costs 1234.5678 dollars",
        "a bare id 2503.11677 in prose does not count",
        "https://example.com/docs/cs/0112017",
        "arXiv:2513.00001 has month 13",
        "arXiv:1234.5678 has month 34",
        "arXiv:2503.116771 has six digits",
        "arXiv:1412.12345 is five digits before 2015",
        "arXiv:1501.1234 is four digits after 2015",
        "arXiv:0703.1234 predates new-style ids",
        "hep-th/9913001 has month 13",
        "notanarchive/9901001",
    ],
)
def test_extract_arxiv_ids_avoids_false_positives(text: str) -> None:
    assert extract_arxiv_ids(text) == []


@st.composite
def _new_style(draw: st.DrawFn) -> str:
    year = draw(st.integers(min_value=7, max_value=99))
    month = draw(st.integers(min_value=4 if year == 7 else 1, max_value=12))
    yymm = f"{year:02d}{month:02d}"
    digits = 5 if int(yymm) >= 1501 else 4
    number = draw(st.integers(min_value=1, max_value=10**digits - 1))
    return f"{yymm}.{number:0{digits}d}"


@st.composite
def _old_style(draw: st.DrawFn) -> str:
    archive = draw(st.sampled_from(["hep-th", "math", "cs", "astro-ph", "cond-mat", "quant-ph"]))
    year = draw(st.sampled_from([91, 95, 99, 0, 3, 7]))
    month = draw(st.integers(min_value=1, max_value=12))
    number = draw(st.integers(min_value=1, max_value=999))
    return f"{archive}/{year:02d}{month:02d}{number:03d}"


_FORMS = [
    "arXiv:{id}{v}",
    "arxiv {id}{v}",
    "https://arxiv.org/abs/{id}{v}",
    "https://arxiv.org/pdf/{id}{v}.pdf",
    "http://export.arxiv.org/abs/{id}{v}",
    "https://www.arxiv.org/html/{id}{v}",
    "https://huggingface.co/papers/{id}",
    '<a href="https://arxiv.org/abs/{id}{v}">paper</a>',
]
_prose = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40).filter(
    lambda t: "arxiv" not in t.lower() and "/" not in t
)


@given(
    ident=st.one_of(_new_style(), _old_style()),
    version=st.one_of(st.none(), st.integers(min_value=1, max_value=30)),
    form=st.sampled_from(_FORMS),
    before=_prose,
    after=_prose,
)
@settings(max_examples=300)
def test_extract_arxiv_ids_finds_any_valid_id(
    ident: str, version: int | None, form: str, before: str, after: str
) -> None:
    mention = form.format(id=ident, v="" if version is None else f"v{version}")
    assert extract_arxiv_ids(f"{before} {mention} {after}") == [ident]


@given(
    ident=st.one_of(_new_style(), _old_style()),
    version=st.one_of(st.none(), st.integers(min_value=1, max_value=30)),
    form=st.sampled_from(
        [
            "{id}{v}",
            "arXiv:{id}{v}",
            "https://arxiv.org/abs/{id}{v}",
            "https://arxiv.org/pdf/{id}{v}.pdf",
            "https://arxiv.org/pdf/{id}{v}",
            "arxiv.org/html/{id}{v}/",
            "  https://export.arxiv.org/abs/{id}{v}?context=cs ",
        ]
    ),
)
def test_parse_arxiv_id_round_trips(ident: str, version: int | None, form: str) -> None:
    given_text = form.format(id=ident, v="" if version is None else f"v{version}")
    assert parse_arxiv_id(given_text) == (ident, version)


def test_parse_arxiv_id_examples() -> None:
    assert parse_arxiv_id("2503.11677") == ("2503.11677", None)
    assert parse_arxiv_id("arXiv:2503.11677v2") == ("2503.11677", 2)
    assert parse_arxiv_id("math.GT/0309136") == ("math/0309136", None)
    assert parse_arxiv_id("https://huggingface.co/papers/2502.03032") == ("2502.03032", None)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2513.00001", "month 13"),
        ("0703.1234", "April 2007"),
        ("1501.1234", "five digits"),
        ("2503.11677v0", "v1"),
        ("hep-th/9913001", "month 13"),
        ("foo", "not an arXiv id"),
        ("https://example.com/abs/2503.11677", "not an arXiv id"),
        ("2503.11677 and more", "not an arXiv id"),
        ("", "not an arXiv id"),
    ],
)
def test_parse_arxiv_id_rejects_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidInputError, match=reason):
        parse_arxiv_id(text)


@given(st.text())
def test_arxiv_and_doi_functions_never_crash(text: str) -> None:
    assert all(isinstance(i, str) for i in extract_arxiv_ids(text))
    assert all(d == d.lower() for d in extract_dois(text))
    try:
        ident, version = parse_arxiv_id(text)
    except InvalidInputError:
        return
    assert extract_arxiv_ids(f"arXiv:{ident}") == [ident]
    assert version is None or version >= 1


def test_extract_arxiv_ids_in_large_text() -> None:
    # Its cost on such text: benchmarks/hostile_inputs.py.
    text = ("lorem ipsum <a href='https://example.com/x'>dolor</a> 2023.1234 " * 20000) + (
        " arXiv:2503.11677"
    )
    assert extract_arxiv_ids(text) == ["2503.11677"]


# -- DOIs ------------------------------------------------------------------------------------


def test_extract_dois() -> None:
    text = (
        "see https://doi.org/10.1145/3292500.3330701. Also (doi:10.1016/S0140-6736(20)30183-5), "
        "https://dx.doi.org/10.1000%2FABC and "
        '<a href="https://doi.org/10.48550/arXiv.2503.11677">x</a>; 10.1234/ is nothing; '
        "https://link.springer.com/article/10.1007/s11263-015-0816-y?x=1&amp;y=2 and "
        "DOI 10.1145/3292500.3330701 again."
    )
    assert extract_dois(text) == [
        "10.1145/3292500.3330701",
        "10.1016/s0140-6736(20)30183-5",
        "10.1000/abc",
        "10.48550/arxiv.2503.11677",
        "10.1007/s11263-015-0816-y",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.1000/XYZ", "10.1000/xyz"),
        ("doi:10.1000/xyz.", "10.1000/xyz"),
        ("https://doi.org/10.1000/xyz", "10.1000/xyz"),
        ("http://dx.doi.org/10.1000%2Fxyz", "10.1000/xyz"),
        ("10.1016/S0140-6736(20)30183-5", "10.1016/s0140-6736(20)30183-5"),
        ("doi:10.1016/S0140-6736(20)30183-5).", "10.1016/s0140-6736(20)30183-5"),
    ],
)
def test_normalize_doi(text: str, expected: str) -> None:
    assert normalize_doi(text) == expected


@pytest.mark.parametrize("text", ["10.1000", "10.1000/", "hello", "11.1000/x"])
def test_normalize_doi_rejects(text: str) -> None:
    with pytest.raises(InvalidInputError):
        normalize_doi(text)


# -- entry keys -------------------------------------------------------------------------------


def test_entry_key_prefers_guid_then_canonical_link_then_hash() -> None:
    assert entry_key(" tag:x,2020:1 ", "https://e.com/a", ["t"]) == "id:tag:x,2020:1"
    assert entry_key(None, "HTTPS://E.com/a?utm_source=rss#c", ["t"]) == "url:https://e.com/a"
    assert entry_key("  ", "https://e.com/a", ["t"]) == "url:https://e.com/a"
    assert entry_key(None, "tag:not-http", ["t"]) == "url:tag:not-http"
    hashed = entry_key(None, None, ["title", "2020-01-01"])
    assert hashed.startswith("hash:")
    assert len(hashed) == 5 + 64
    assert hashed == entry_key(None, "", ["title", "2020-01-01"])
    assert hashed != entry_key(None, None, ["title2", "020-01-01"])


def test_entry_key_hashes_overlong_guids() -> None:
    key = entry_key("x" * 5000, None, [])
    assert key.startswith("id:sha256:")
    assert len(key) < 100


def test_content_hash_distinguishes_none_empty_and_boundaries() -> None:
    assert content_hash(["a", "b"]) == content_hash(["a", "b"])
    assert content_hash([None]) != content_hash([""])
    assert content_hash(["ab", "c"]) != content_hash(["a", "bc"])
    assert len(content_hash([])) == 64


_URLISH = st.lists(
    st.sampled_from([*string.printable, "%", "%2f", "%41", "%7E", "é", "\ud800"]), max_size=40
).map("".join)


@given(_URLISH, st.sampled_from([_PATH_SAFE, _QUERY_SAFE, frozenset("!$&()*+,;=:")]))
@settings(max_examples=500)
@example("/2024/05/attention-is-all-you-need/", _PATH_SAFE)
@example("a=1&b=two+three", _QUERY_SAFE)
def test_escapes_shortcut_changes_nothing(component: str, safe: frozenset[str]) -> None:
    # The shortcut returns the component only where the loop would give it back unchanged.
    assert _normalize_escapes(component, safe) == _escape_each(component, safe)

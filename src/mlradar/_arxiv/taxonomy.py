"""arXiv's category taxonomy (https://arxiv.org/category_taxonomy): what a listing
subscription may name.  The 142 categories the real snapshot uses are all here."""

from __future__ import annotations

import difflib

_SUBJECT_CLASSES = {
    "cs": "AI AR CC CE CG CL CR CV CY DB DC DL DM DS ET FL GL GR GT HC IR IT LG LO MA MM MS NA "
    "NE NI OH OS PF PL RO SC SD SE SI SY",
    "math": "AC AG AP AT CA CO CT CV DG DS FA GM GN GR GT HO IT KT LO MG MP NA NT OA OC PR QA "
    "RA RT SG SP ST",
    "stat": "AP CO ME ML OT TH",
    "eess": "AS IV SP SY",
    "econ": "EM GN TH",
    "q-bio": "BM CB GN MN NC OT PE QM SC TO",
    "q-fin": "CP EC GN MF PM PR RM ST TR",
    "physics": "acc-ph ao-ph app-ph atm-clus atom-ph bio-ph chem-ph class-ph comp-ph data-an "
    "ed-ph flu-dyn gen-ph geo-ph hist-ph ins-det med-ph optics plasm-ph pop-ph soc-ph space-ph",
    "astro-ph": "CO EP GA HE IM SR",
    "cond-mat": "dis-nn mes-hall mtrl-sci other quant-gas soft stat-mech str-el supr-con",
    "nlin": "AO CD CG PS SI",
}
#: Archives that are categories themselves (no subject classes).
_WHOLE: tuple[str, ...] = tuple(
    ["gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th", "math-ph", "nucl-ex", "nucl-th", "quant-ph"]
)

CATEGORIES: frozenset[str] = frozenset(
    {f"{a}.{c}" for a, classes in _SUBJECT_CLASSES.items() for c in classes.split()} | set(_WHOLE)
)


def unknown_category(token: str) -> str | None:
    """Why ``token`` (``archive.CLASS``) is no arXiv category, with the nearest ones, or
    None when it is one (or names a whole archive, which this does not judge)."""
    archive, dot, _ = token.partition(".")
    if not dot or token in CATEGORIES or archive not in _SUBJECT_CLASSES:
        return None
    near = difflib.get_close_matches(token, sorted(CATEGORIES), n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(near)}?)" if near else ""
    return f"no arXiv category {token!r}{hint}"

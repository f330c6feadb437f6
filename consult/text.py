"""User text: limited Markdown rendered safely, and detection of personal data (emails, phones).

Every package that shows text people wrote goes through :func:`render_markdown`; every package
that must keep minors' contact details out of public view uses :func:`find_personal_data` and
:func:`mask_personal_data`.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

# What "limited Markdown" may produce: emphasis, lists, quotes, links, paragraphs. No images
# (they would load from other hosts), no headings (they would break the page outline), no HTML.
ALLOWED_TAGS = {"p", "br", "em", "strong", "ul", "ol", "li", "blockquote", "a", "code", "pre"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}

EMAIL_RE = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+", re.UNICODE)
# French numbers (06 12 34 56 78, +33 6 12 34 56 78, 0612345678, 06.12.34.56.78) and other
# international numbers written with 9 or more digits.
PHONE_RE = re.compile(
    r"(?<![\w.])(?:(?:\+|00)\d{2,3}[\s.\-]?(?:\(0\)[\s.\-]?)?\d(?:[\s.\-]?\d{2}){4}"
    r"|0\d(?:[\s.\-]?\d{2}){4})(?![\w])"
)


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable(["image", "heading", "lheading", "html_block", "html_inline", "table"], True)
    return md


def render_markdown(source: str | None) -> Markup:
    """Markdown → sanitised HTML. Links get rel="nofollow noopener" and open nothing else."""
    html = _parser().render(source or "")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener ugc",
    )
    return Markup(clean)  # noqa: S704 - sanitised by nh3 just above


def plain_text(source: str | None) -> str:
    """The text without any markup, for excerpts, search indexes, exports and iCalendar.

    Text, not HTML: entities are decoded (« & » stays « & », never « &amp; »); whoever prints it
    in a page escapes it like any other string."""
    return html.unescape(nh3.clean(_parser().render(source or ""), tags=set())).strip()


def find_personal_data(text: str | None) -> list[str]:
    """The kinds of contact details found in ``text`` ("email", "phone")."""
    if not text:
        return []
    found = []
    if EMAIL_RE.search(text):
        found.append("email")
    if PHONE_RE.search(text):
        found.append("phone")
    return found


def mask_personal_data(text: str | None) -> str:
    """Replace emails and phone numbers by neutral markers (exports, quotes)."""
    if not text:
        return ""
    text = EMAIL_RE.sub("[adresse masquée]", text)
    return PHONE_RE.sub("[téléphone masqué]", text)

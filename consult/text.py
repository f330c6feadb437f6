"""User text: limited Markdown rendered safely, and detection of personal data (emails, phones).

Every package that shows text people wrote goes through :func:`render_markdown`; every package
that publishes text people wrote asks :func:`hold_for_personal_data` whether it must wait for a
moderator, and uses :func:`mask_personal_data` in exports and quotes.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from typing import Any

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


# What a text needs before EMAIL_RE or PHONE_RE can find anything in it: an « @ » (every address
# has one) or PHONE_MIN_DIGITS digits (the shortest number PHONE_RE takes, 0X XX XX XX XX; « \d »
# is any Unicode decimal digit, « \p{Nd} » in RE2). A necessary condition, never a rule of its own:
# keep it one when the patterns change (tests/test_text.py checks it against them).
PHONE_MIN_DIGITS = 10


def mask_personal_data_column(values: Any) -> Any:
    """``mask_personal_data`` over an Arrow string array (bulk exports): the patterns run only
    on the texts that may hold contact details, found vectorised; nulls stay null."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = values.cast(pa.string())
    maybe = pc.or_(
        pc.match_substring(values, "@"),
        pc.greater_equal(pc.count_substring_regex(values, r"\p{Nd}"), PHONE_MIN_DIGITS),
    )
    maybe = pc.fill_null(maybe, False)
    texts = values.filter(maybe).to_pylist()
    if not texts:
        return values
    return pc.replace_with_mask(
        values, maybe, pa.array([mask_personal_data(t) for t in texts], pa.string())
    )


# --- Contact details in public text: the one rule -----------------------------------------------


class PersonalDataNotConfirmed(Exception):
    """An adult's public text holds contact details and they have not confirmed publishing it:
    the form is shown again with :func:`personal_data_warning` and a confirmation box."""

    def __init__(self, kinds: list[str]) -> None:
        super().__init__(", ".join(kinds))
        self.kinds = kinds


def hold_for_personal_data(author: Any, *texts: str | None, confirmed: bool = False) -> bool:
    """Must this public text wait for a moderator (``held_for_review``)?

    Contact details never go public unreviewed, whoever writes them: a pupil's text is held
    at once (pupils are minors, they are not asked); an adult is warned first and, once they
    confirm, the text is held too. Raises :class:`PersonalDataNotConfirmed` for an adult who
    has not confirmed yet.
    """
    kinds = sorted({kind for text in texts for kind in find_personal_data(text)})
    if not kinds:
        return False
    if author.is_minor or confirmed:
        return True
    raise PersonalDataNotConfirmed(kinds)


def personal_data_warning(kinds: list[str]) -> str:
    from flask_babel import gettext as _

    if kinds == ["email"]:
        found = _("une adresse électronique")
    elif kinds == ["phone"]:
        found = _("un numéro de téléphone")
    else:
        found = _("une adresse électronique et un numéro de téléphone")
    return _(
        "Votre texte contient %(found)s. Tout le monde pourra le lire : retirez-le si ce sont "
        "des coordonnées personnelles. Si vous publiez quand même, votre texte sera relu par "
        "l'équipe de modération avant d'être visible.",
        found=found,
    )

"""One French word, two English meanings: each meaning has its ``pgettext`` context and its
own translation, and every context the code uses is in the English catalogue."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from flask_babel import pgettext

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"pgettext": ((1, "c"), 2), "lazy_pgettext": ((1, "c"), 2)}


def test_each_meaning_is_translated_apart(app) -> None:
    with app.test_request_context("/?lang=en"):
        # « Public »: the people who answer (élèves, parents…) vs what anyone may read.
        assert pgettext("audience", "Public") == "Audience"
        assert pgettext("visibility", "Publique") == "Public"
        # « Répondre »: to a comment vs to the questionnaire.
        assert pgettext("comment", "Répondre") == "Reply"
        assert pgettext("questionnaire", "Répondre") == "Answer"
        # « Retirer »: a role from someone vs a source from a synthesis.
        assert pgettext("role", "Retirer") == "Revoke"
        assert pgettext("source", "Retirer") == "Remove"
    with app.test_request_context("/"):
        assert pgettext("comment", "Répondre") == "Répondre"


def test_pages_use_the_audience_meaning(client, user) -> None:
    client.login(user.email)
    html = client.get("/compte/?lang=en").get_data(as_text=True)
    assert ">Audience</dt>" in html


def test_every_context_in_the_code_is_in_the_english_catalogue() -> None:
    with (ROOT / "translations/en/LC_MESSAGES/messages.po").open("rb") as handle:
        catalogue = read_po(handle)
    used: set[tuple[str, str]] = set()
    method_map = [(f"{package}/**.py", "python") for package in ("consult", "forums", "retex")]
    method_map += [(f"{p}/**.py", "python") for p in ("surveys", "synthesis")]
    method_map += [("templates/**.html", "jinja2")]
    for _, _, message, _, context in extract_from_dir(
        str(ROOT), method_map, keywords=KEYWORDS, comment_tags=()
    ):
        if context:
            used.add((context, message))
    assert ("audience", "Public") in used  # the extraction found them
    missing = [
        f"{c}|{m}"
        for c, m in sorted(used)
        if not getattr(catalogue.get(m, context=c), "string", "")
    ]
    assert not missing, missing

from __future__ import annotations

import pytest

from consult.text import find_personal_data, mask_personal_data, plain_text, render_markdown


@pytest.mark.parametrize(
    ("source", "forbidden"),
    [
        ("<script>alert(1)</script>", "<script"),
        ("[clic](javascript:alert(1))", 'href="javascript'),
        ("![img](http://tracker.example/x.png)", "<img"),
        ('<a href="x" onclick="y">z</a>', "<a "),
        ("# Titre", "<h1"),
        ("<iframe src=x></iframe>", "<iframe"),
    ],
)
def test_markdown_is_sanitised(source, forbidden) -> None:
    assert forbidden not in str(render_markdown(source))


def test_markdown_keeps_the_allowed_subset() -> None:
    html = str(render_markdown("**gras** et *italique*\n\n- un\n- deux\n\n[site](https://ex.fr)"))
    assert "<strong>gras</strong>" in html and "<em>italique</em>" in html
    assert "<li>un</li>" in html
    assert 'href="https://ex.fr"' in html and "nofollow" in html


def test_plain_text() -> None:
    # Text, not HTML: what was typed literally stays literal, and whoever prints it escapes it
    # (it was HTML-escaped once here, then again by Jinja or iCalendar: « &amp;amp; »).
    assert plain_text("**Bonjour** <b>à</b> tous") == "Bonjour <b>à</b> tous"
    assert plain_text("Parents & élèves, 1 < 2") == "Parents & élèves, 1 < 2"


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("écrivez-moi à lea.martin@laposte.net", ["email"]),
        ("appelle le 06 12 34 56 78", ["phone"]),
        ("ou le +33 6 12 34 56 78", ["phone"]),
        ("0612345678", ["phone"]),
        ("06.12.34.56.78 ou x@y.fr", ["email", "phone"]),
        ("En 2020, 26 839 réponses et 3 000 soutiens", []),
        ("Le collège compte 1 200 élèves", []),
    ],
)
def test_personal_data_detection(text, kinds) -> None:
    assert find_personal_data(text) == kinds


def test_masking() -> None:
    masked = mask_personal_data("mail a.b@c.fr tel 06 12 34 56 78 fin")
    assert masked == "mail [adresse masquée] tel [téléphone masqué] fin"


def test_bulk_masking_masks_exactly_what_the_patterns_find() -> None:
    """The vectorised masking (exports) skips the patterns on texts without « @ » and with fewer
    than PHONE_MIN_DIGITS digits: it must never skip a text the patterns would change."""
    import random

    import pyarrow as pa

    from consult.text import PHONE_MIN_DIGITS, mask_personal_data_column

    examples = [
        None,
        "",
        "rien à signaler",
        "06 12 34 56 78",
        "0612345678",
        "061234567",  # nine digits: not a number PHONE_RE takes
        "+33 6 12 34 56 78",
        "+33(0)6 12 34 56 78",
        "0033 6 12 34 56 78",
        "+٣٣ ٦ ١٢ ٣٤ ٥٦ ٧٨",  # Arabic-Indic digits: « \d » takes them
        "a@b.fr",
        "x@y",
        "écrire à lea.martin@laposte.net ou au 06.12.34.56.78",
        "En 2020, 26 839 réponses",
    ]
    rng = random.Random(10)
    alphabet = "0123456789 .-+()@ab٣٦"
    examples += [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24))) for _ in range(3000)
    ]
    got = mask_personal_data_column(pa.array(examples, pa.string())).to_pylist()
    assert got == [None if t is None else mask_personal_data(t) for t in examples]
    # The threshold is the shortest number PHONE_RE takes.
    assert mask_personal_data("0" * PHONE_MIN_DIGITS) != "0" * PHONE_MIN_DIGITS
    assert find_personal_data("0" * (PHONE_MIN_DIGITS - 1)) == []
    assert sum(t is not None and t != mask_personal_data(t) for t in examples) > 50

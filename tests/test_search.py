"""The site's search: French stems on both databases, one visibility rule, the index in step
with every write, highlighted and escaped excerpts, counts, kinds, pages, hostile input."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete

from consult.db import utcnow
from consult.moderation import services as moderation
from consult.search import engine
from consult.search.stems import highlight, query_terms, term, terms
from forums import services as forum_services
from forums.models import Contribution
from retex import services as retex_services
from tests.factories import RoleGrantFactory, UserFactory
from tests.forums_factories import ContributionFactory
from tests.retex_factories import make_sheet, sheet_data
from tests.territorial_factories import IdeaFactory

TOULOUSE = "16"


def _ids(query: str, kind: str | None = None, session=None) -> set[tuple[str, int]]:
    from consult.db import db

    found = engine.search(session or db.session, query, kind, per_page=100)
    return {(hit.kind, hit.id) for hit in found.hits}


def _body(response) -> str:
    return response.get_data(as_text=True)


# --- Terms ------------------------------------------------------------------------------------


def test_french_terms_meet_across_plural_and_accents() -> None:
    assert term("enseignant") == term("enseignants") == term("Enseignantes")[:7]
    assert term("numérique") == term("numeriques") == term("NUMÉRIQUES")
    assert term("élèves") == term("eleve")
    # Stop words are dropped on both sides (PostgreSQL's french list does the same).
    assert terms("l'accès au numérique pour les élèves") == ["acce", "numer", "elev"] or terms(
        "l'accès au numérique pour les élèves"
    )[1:] == ["numer", "elev"]
    assert query_terms("le la les") == []
    assert len(query_terms(" ".join(f"mot{i}" for i in range(50)))) == 12


def test_highlight_marks_searched_words_and_escapes_everything_else() -> None:
    text = 'Des <b onclick="x()">ordinateurs</b> & <script>alert(1)</script> pour les familles'
    html = str(highlight(text, query_terms("ordinateur famille")))
    assert "<mark>ordinateurs</mark>" in html and "<mark>familles</mark>" in html
    assert "<script>" not in html and "<b " not in html and "&lt;script&gt;" in html
    assert "&amp;" in html and 'onclick="' not in html
    # Only our marks are tags.
    assert set(re.findall(r"</?([a-z]+)", html)) == {"mark"}


def test_highlight_centres_a_long_text_on_the_first_hit() -> None:
    text = " ".join(["remplissage"] * 200) + " les tablettes arrivent " + "fin " * 100
    html = str(highlight(text, query_terms("tablette"), width=20))
    assert html.startswith("… ") and html.endswith(" …") and "<mark>tablettes</mark>" in html
    assert len(html.split()) < 30


# --- Stemmed search on the three sources --------------------------------------------------------


def test_stemmed_search_finds_every_kind(session) -> None:
    contribution = ContributionFactory(
        title="Former les enseignants au numérique", body="Des formations régulières."
    )
    idea = IdeaFactory(title="Une salle numerique au lycée", body="Pour les enseignants.")
    author, coordinator = UserFactory(academie_code=TOULOUSE), UserFactory(academie_code=TOULOUSE)
    RoleGrantFactory(
        user=coordinator, role="coordinator", scope_kind="academie", scope_code=TOULOUSE
    )
    sheet = make_sheet(
        author, "published", reviewer=coordinator, title="Accompagner l'enseignant débutant"
    )
    revision_id = sheet.revisions[-1].id if hasattr(sheet, "revisions") else None
    found = _ids("enseignant")
    assert ("contribution", contribution.id) in found and ("idea", idea.id) in found
    assert any(kind == "retex" for kind, _id in found)
    if revision_id:
        assert ("retex", revision_id) in found
    # Accents and plurals, both ways.
    assert ("contribution", contribution.id) in _ids("numeriques")
    assert ("idea", idea.id) in _ids("numérique")
    results = engine.search(session, "enseignants")
    assert results.counts["contribution"] == 1 and results.counts["idea"] == 1
    assert results.counts["retex"] == 1 and results.total == 3
    only = engine.search(session, "enseignants", "idea")
    assert [h.kind for h in only.hits] == ["idea"] and only.total == 1
    # Every word must be there.
    assert ("contribution", contribution.id) not in _ids("enseignant tablette")


def test_user_input_is_never_query_syntax(session) -> None:
    ContributionFactory(title="Ordinateurs pour tous", body="Équipement")
    for hostile in ['AND OR NEAR * " ^', "ordinateurs OR", 'ordinateurs"', "-", "NOT", "*", "\x00"]:
        engine.search(session, hostile)  # no error on either database
    assert engine.search(session, "ordinateurs").total == 1


# --- The index in step with each write ----------------------------------------------------------


def test_contribution_index_follows_create_edit_withdraw_hide_restore_delete(session) -> None:
    author = UserFactory()
    contribution = ContributionFactory(author=author, title="Des tablettes", body="Pour tous")
    assert ("contribution", contribution.id) in _ids("tablette")

    forum_services.edit_contribution(
        session,
        author,
        contribution,
        contribution.subtheme_id,
        "Des imprimantes partagées",
        "Pour les écoles rurales",
    )
    session.flush()
    assert ("contribution", contribution.id) not in _ids("tablette")
    assert ("contribution", contribution.id) in _ids("imprimante")

    moderator = RoleGrantFactory(role="moderator").user
    moderation.hide(session, moderator, "contribution", contribution.id, "Hors sujet")
    session.flush()
    assert ("contribution", contribution.id) not in _ids("imprimante")
    moderation.restore(session, moderator, "contribution", contribution.id)
    session.flush()
    assert ("contribution", contribution.id) in _ids("imprimante")

    forum_services.withdraw(session, author, contribution)
    session.flush()
    assert ("contribution", contribution.id) not in _ids("imprimante")

    other = ContributionFactory(title="Des imprimantes encore", body="x")
    assert ("contribution", other.id) in _ids("imprimantes")
    session.execute(delete(Contribution).where(Contribution.id == other.id))
    session.expunge_all()
    assert _ids("imprimantes") == set()


def test_idea_index_follows_hide_restore_edit_delete(session) -> None:
    idea = IdeaFactory(title="Un atelier de robotique", body="Le mercredi.")
    assert ("idea", idea.id) in _ids("robotique")
    moderator = RoleGrantFactory(role="moderator").user
    moderation.hide(session, moderator, "idea", idea.id, "Doublon")
    session.flush()
    assert _ids("robotique") == set()
    moderation.restore(session, moderator, "idea", idea.id)
    session.flush()
    assert ("idea", idea.id) in _ids("robotique")
    idea.title = "Un atelier de couture"
    session.flush()
    assert _ids("robotique") == set() and ("idea", idea.id) in _ids("couture")
    held = IdeaFactory(title="Une idée de couture en attente", held_for_review=True)
    assert ("idea", held.id) not in _ids("couture")
    session.delete(idea)
    session.flush()
    assert _ids("couture") == set()


def test_retex_search_finds_the_current_published_version_only(session, client) -> None:
    author, coordinator = UserFactory(academie_code=TOULOUSE), UserFactory(academie_code=TOULOUSE)
    RoleGrantFactory(
        user=coordinator, role="coordinator", scope_kind="academie", scope_code=TOULOUSE
    )
    draft = make_sheet(author, "submitted", title="Des casques de réalité virtuelle")
    assert _ids("casques") == set()  # never published: not public
    sheet = make_sheet(author, "published", reviewer=coordinator, title="Des webradios au collège")
    assert {kind for kind, _id in _ids("webradios")} == {"retex"}
    retex_services.update_sheet(session, sheet, sheet_data(title="Des podcasts au collège"))
    retex_services.submit(session, sheet, author)
    # The new text is not public until reviewed.
    assert _ids("podcast") == set() and len(_ids("webradios")) == 1
    retex_services.publish(session, sheet, coordinator)
    session.flush()
    assert _ids("webradios") == set() and len(_ids("podcasts")) == 1
    # The Retex list's own words filter uses the same index.
    assert "Des podcasts au collège" in _body(client.get("/retex/?q=podcast"))
    assert "Des podcasts au collège" not in _body(client.get("/retex/?q=webradios"))
    assert draft.id


def test_reindex_command_rebuilds_the_index(app, session) -> None:
    contribution = ContributionFactory(title="Des manuels numériques", body="x")
    session.commit()  # a savepoint: the command below sees the row
    result = app.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert ("contribution", contribution.id) in _ids("manuel")


# --- The page -------------------------------------------------------------------------------


def test_page_counts_highlights_and_escapes(client) -> None:
    ContributionFactory(
        title="Des tablettes <script>alert(1)</script>", body="Les tablettes <b>prêtées</b>."
    )
    body = _body(client.get("/recherche?q=tablette"))
    assert "1 résultat pour « tablette »" in body
    assert "<mark>tablettes</mark>" in body and "<script>alert(1)" not in body
    assert "&lt;script&gt;" in body and "<b>prêtées" not in body


def test_page_filters_paginates_and_counts(client) -> None:
    for n in range(23):
        ContributionFactory(title=f"Cartable numérique {n}", body="Allègement")
    IdeaFactory(title="Le cartable léger", body="Idée")
    body = _body(client.get("/recherche?q=cartables"))
    assert "24 résultats" in body and 'type=idea">Idées des territoires (1)' in body.replace(
        "&amp;", "&"
    ).replace("q=cartables&", "")
    assert body.count('class="fr-card ') == 20 and "Page suivante" in body
    second = _body(client.get("/recherche?q=cartables&page=2"))
    assert second.count('class="fr-card ') == 4
    ideas = _body(client.get("/recherche?q=cartables&type=idea"))
    assert "1 résultat" in ideas and ideas.count('class="fr-card ') == 1
    # The forums' search is this one, narrowed to contributions (and a theme).
    response = client.get("/forums/recherche?q=cartables")
    assert response.status_code == 301 and "type=contribution" in response.location
    narrowed = _body(client.get(response.location))
    assert "23 résultats" in narrowed


def test_no_result_page_suggests(client) -> None:
    ContributionFactory(title="Des tablettes", body="x")
    body = _body(client.get("/recherche?q=tablettes+hippopotames"))
    assert "0 résultat" in body and "Aucun contenu public" in body
    assert "q=tablettes" in body and "Chercher seulement" in body


@pytest.mark.parametrize(
    "query",
    [
        "q=%3Cscript%3Ealert(1)%3C/script%3E",
        "q=" + "a" * 5000,
        "q=tablette&page=-3",
        "q=tablette&page=99999999999999999999",
        "q=tablette&type=pirate",
        "q=tablette&theme=%00",
        'q=NEAR(a b) OR "x*',
        "q=&type=idea",
        "q=%E2%80%AE%F0%9F%98%80",
    ],
)
def test_hostile_queries_get_a_page_not_an_error(client, query) -> None:
    response = client.get("/recherche?" + query)
    assert response.status_code in {200, 400, 404}
    assert "<script>alert" not in _body(response)


def test_withdrawn_content_never_reaches_the_page(client) -> None:
    ContributionFactory(title="Des tableaux blancs", body="x", withdrawn_at=utcnow())
    assert "tableaux blancs" not in _body(client.get("/recherche?q=tableaux"))


def test_phrases_exclusions_and_alternatives_on_both_databases(session) -> None:
    both = ContributionFactory(title="Un égal accès au numérique", body="Des tablettes")
    phrase_only = ContributionFactory(title="Accès égal", body="numérique pour tous")
    other = ContributionFactory(title="Des ordinateurs", body="Pour les élèves")
    assert _ids('"égal accès"') == {("contribution", both.id)}
    assert _ids("égal accès") == {("contribution", both.id), ("contribution", phrase_only.id)}
    assert _ids("égal accès -tablettes") == {("contribution", phrase_only.id)}
    assert _ids("tablette or ordinateur") == {("contribution", both.id), ("contribution", other.id)}
    # Nothing required: nothing found (and no scan of the whole index).
    assert _ids("-tablettes") == set() and _ids("or") == set()


@pytest.mark.postgres_only
def test_a_vote_does_not_rewrite_the_search_row(session) -> None:
    """PostgreSQL: the side table is written when the text or the visibility changes, not when
    a counter does (each vote updates its contribution)."""
    from sqlalchemy import text

    contribution = ContributionFactory(title="Des tablettes", body="x")
    row = text("SELECT xmin::text, public FROM forum_contribution_search WHERE id = :id")
    before = session.execute(row, {"id": contribution.id}).one()
    contribution.adopt_count += 1
    session.flush()
    assert session.execute(row, {"id": contribution.id}).one() == before
    contribution.withdrawn_at = utcnow()
    session.flush()
    assert session.execute(row, {"id": contribution.id}).one()[1] is False


def test_theme_filter_narrows_to_that_forum(client) -> None:
    from tests.forums_factories import theme

    teaching = ContributionFactory(title="Des classes mobiles", body="x")
    other_theme = theme("fracture-numerique")
    elsewhere = ContributionFactory(
        title="Des classes connectées",
        body="y",
        theme=other_theme,
        subtheme=other_theme.subthemes[0],
    )
    IdeaFactory(title="Des classes dehors", body="z")
    body = _body(client.get("/recherche?q=classes&theme=fracture-numerique"))
    assert "1 résultat" in body and "Des <mark>classes</mark> connectées" in body
    assert "mobiles" not in body and "dehors" not in body
    assert f"/forums/contributions/{elsewhere.id}" in body and teaching.id != elsewhere.id
    # Narrowed from the forums' own search box too; an unknown theme is no narrowing.
    narrowed = client.get("/forums/recherche?q=classes&theme=fracture-numerique").location
    assert "theme=fracture-numerique" in narrowed
    assert "3 résultats" in _body(client.get("/recherche?q=classes&theme=pirate"))


def test_a_page_past_the_end_is_a_404_that_leads_back(client) -> None:
    ContributionFactory(title="Des tablettes", body="x")
    response = client.get("/recherche?q=tablettes&page=7")
    assert response.status_code == 404
    assert "Revenir à la première page" in _body(response)

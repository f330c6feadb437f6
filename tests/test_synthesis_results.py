"""Results space: composing, publishing and reading frozen syntheses with traceable proposals.

The figures come from a compilation stored by hand with known values, so what the public sees
(« < 10 » included) is checked exactly; the PDF is parsed back with pypdf.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from consult.db import db, utcnow
from consult.models import AuditEvent
from forums.models import Theme
from synthesis import privacy, results
from synthesis.models import Compilation, CompiledScope
from synthesis.results_models import SynthesisProposal, SynthesisPublication, SynthesisSource
from tests.factories import UserFactory
from tests.forums_factories import ContributionFactory
from tests.retex_factories import make_sheet
from tests.surveys_factories import user_with_role
from tests.territorial_factories import IdeaFactory

POITIERS = "13"
TOULOUSE = "16"
NOUVELLE_AQUITAINE = "75"
NATIONAL = "/resultats/composer/nationale/"
POITIERS_COMPOSER = f"/resultats/composer/academie-{POITIERS}/"


# --- Data --------------------------------------------------------------------------------------


def compile_by_hand(session, *, participants: int = 150, eleves: int = 3, scope=("national", "")):
    """A finished compilation whose figures are known: 3 élèves (suppressed), and the parents'
    row suppressed with it so the élèves cannot be recovered from the total."""
    compilation = Compilation(status="done", trigger="cli", finished_at=utcnow())
    session.add(compilation)
    session.flush()
    parents = 40
    professeurs = participants - eleves - parents
    payload = {
        "participation": {
            "columns": ["audience", "indicator", "value", "people"],
            "rows": [
                ["*", "participants", participants, participants],
                ["eleve", "participants", eleves, eleves],
                ["parent", "participants", parents, parents],
                ["professeur", "participants", professeurs, professeurs],
            ],
        },
        "survey_distribution": {
            "columns": [
                "question_key",
                "option_key",
                "audience",
                "count",
                "base",
                "share",
                "weighted_share",
                "effective_n",
                "people",
            ],
            "rows": [
                ["C01", "urbain", "*", 90, 120, 0.75, None, None, 90],
                ["C01", "rural", "*", 30, 120, 0.25, None, None, 30],
            ],
        },
        "survey_questions": {
            "columns": ["question_key", "label", "kind", "section"],
            "rows": [["C01", "Dans quel type de territoire vivez-vous ?", "single", "profil"]],
        },
    }
    for kind, code in [scope] if isinstance(scope, tuple) else scope:
        session.add(
            CompiledScope(
                compilation_id=compilation.id, scope_kind=kind, scope_code=code, payload=payload
            )
        )
    session.flush()
    return compilation


@pytest.fixture
def analyst(session):
    return user_with_role("analyst", pseudonym="Analyste<b>Secrète", academie_code=POITIERS)


@pytest.fixture
def coordinator(session):
    return user_with_role("coordinator", "academie", POITIERS, audience="encadrement")


@pytest.fixture
def sources(session):
    """One public item of each kind, in Poitiers where territory matters."""
    contribution = ContributionFactory()
    idea = IdeaFactory(author=UserFactory(academie_code=POITIERS))
    reviewer = user_with_role("coordinator", "academie", POITIERS)
    sheet = make_sheet(
        UserFactory(), "published", reviewer=reviewer, territory=f"academie:{POITIERS}"
    )
    return {"contribution": contribution, "idea": idea, "sheet": sheet}


def theme_slugs(session) -> list[str]:
    return list(session.scalars(select(Theme.slug).order_by(Theme.position)))


def compose(
    client, composer_url: str, session, sources, *, title="Synthèse <script>alert(1)</script>"
):
    """Draft, text, three proposals each citing a different kind of source, plus a question."""
    assert client.submit(composer_url + "brouillon", page=composer_url).status_code == 302
    response = client.submit(
        composer_url + "texte",
        {
            "title": title,
            "introduction": "Une **introduction** <img src=x onerror=alert(1)>.",
            "conclusion": "Et une conclusion.",
            "figures": ["participation", "survey_distribution"],
        },
        page=composer_url,
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    slugs = theme_slugs(session)
    references = [
        f"http://localhost/forums/contributions/{sources['contribution'].id}",
        f"idee:{sources['idea'].id}",
        f"/retex/{sources['sheet'].id}",
    ]
    for n, reference in enumerate(references, start=1):
        response = client.submit(
            composer_url + "propositions",
            {
                "new-theme": slugs[n - 1],
                "new-title": f"Proposition {n} <b>forte</b>",
                "new-text": f"Le texte de la proposition {n}.",
                "new-position": str(n),
            },
            page=composer_url,
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:3000]
        proposal = session.scalars(
            select(SynthesisProposal).order_by(SynthesisProposal.id.desc())
        ).first()
        response = client.submit(
            f"/resultats/composer/propositions/{proposal.id}/sources",
            {f"s{proposal.id}-reference": reference},
            page=composer_url,
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    response = client.submit(
        f"/resultats/composer/propositions/{proposal.id}/sources",
        {f"s{proposal.id}-reference": "question:C01:urbain"},
        page=composer_url,
    )
    assert response.status_code == 302
    return proposal


def pdf_text(data: bytes) -> tuple[str, list[str]]:
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    links = []
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            action = annotation.get_object().get("/A")
            if action is not None and "/URI" in action:
                links.append(str(action["/URI"]))
    return text, links


def article(html: str) -> str:
    """The published document itself (the rest of the page carries tokens and menus)."""
    return html[html.index('<article class="results-document">') : html.index("</article>")]


def versions_count(session) -> int:
    return session.scalar(
        select(func.count())
        .select_from(SynthesisPublication)
        .where(SynthesisPublication.version > 0)
    )


# --- The composer flow end to end ---------------------------------------------------------------


def test_analyst_composes_publishes_and_a_visitor_reads_html_and_pdf(
    client, session, analyst, sources
):
    compile_by_hand(session)
    client.login(analyst.email)
    listing = client.get("/resultats/composer/").get_data(as_text=True)
    assert "Synthèse nationale" in listing
    assert "Poitiers" not in listing  # analysts compose the national synthesis only

    compose(client, NATIONAL, session, sources)
    response = client.submit(NATIONAL + "publier", page=NATIONAL)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/resultats/nationale/version-1/")

    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "synthesis.publish")
    ).one()
    assert event.actor_id == analyst.id
    assert event.detail["version"] == 1 and event.detail["proposals"] == 3
    # The draft became version 1.
    assert session.scalar(select(func.count()).select_from(SynthesisPublication)) == 1
    client.logout()

    index = client.get("/resultats/").get_data(as_text=True)
    assert "Synthèse &lt;script&gt;alert(1)&lt;/script&gt;" in index
    assert "/resultats/nationale/" in index

    page = client.get("/resultats/nationale/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    contribution, idea, sheet = sources["contribution"], sources["idea"], sources["sheet"]
    assert f'href="/forums/contributions/{contribution.id}"' in html
    assert f'href="/territoires/idees/{idea.id}"' in html
    assert f'href="/retex/{sheet.id}"' in html
    assert 'href="/syntheses/france/#question-C01-title"' in html
    # The finding, frozen, written from the published (perturbed) share and base.
    finding = re.search(r"(\d+),(\d)\u202f% des répondants \(base : (\d+)\)", html)
    assert finding and abs(int(finding.group(3)) - 120) <= privacy.D
    assert abs(int(finding.group(1)) - 75) <= 5
    for n in (1, 2, 3):
        assert f"Proposition {n} &lt;b&gt;forte&lt;/b&gt;" in html
    # Markup in every text is escaped or sanitised.
    assert "<script>alert" not in html, html[html.find("<script>alert") - 300 :][:400]
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<strong>introduction</strong>" in html
    # Figures: 150 participants, 107 professeurs and 40 parents shown, perturbed by their cell
    # key; élèves (3) hidden behind the neutral marker.
    shown = {int(v) for v in re.findall(r"<td>(\d+)</td>", html)}
    for truth in (150, 107, 40):
        assert any(abs(v - truth) <= privacy.D for v in shown), truth
    assert "<td>secret statistique</td>" in html and "&lt; 10" not in html
    # Codes are shown with the labels frozen at publication.
    assert "<td>Une grande ville ou sa banlieue</td>" in html
    assert "<td>C01 — Dans quel type de territoire vivez-vous ?</td>" in html
    # The publisher is named by role, never by pseudonym or email.
    assert "Analyste" in html
    assert "Secrète" not in html and analyst.email not in html and "@exemple.test" not in html

    pdf = client.get("/resultats/nationale/version-1/synthese.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text, links = pdf_text(pdf.data)
    assert "Synthèse <script>alert(1)</script>" in text  # plain text in a PDF, not markup
    assert "Version 1 publiée le" in text and "Analyste" in text
    for n in (1, 2, 3):
        assert f"Proposition {n} <b>forte</b>" in text
    assert "secret statistique" in text and "< 10" not in text
    assert "légèrement perturbés" in " ".join(text.split())  # (justified text)
    assert finding.group(0) in text or finding.group(0).replace("\u202f", " ") in text
    assert f"http://localhost/forums/contributions/{contribution.id}" in links
    assert f"http://localhost/territoires/idees/{idea.id}" in links
    assert f"http://localhost/retex/{sheet.id}" in links
    assert "http://localhost/syntheses/france/#question-C01-title" in links
    assert "Secrète" not in text and "@exemple.test" not in text and analyst.email not in text


def test_figure_csv_is_the_suppressed_table_as_published(client, session, analyst, sources):
    compile_by_hand(session)
    client.login(analyst.email)
    compose(client, NATIONAL, session, sources)
    client.submit(NATIONAL + "publier", page=NATIONAL)
    response = client.get("/resultats/nationale/version-1/tableaux/participation.csv")
    assert response.status_code == 200
    rows = list(
        csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";")
    )
    assert rows[0] == ["audience", "indicator", "value", "people", "suppressed"]
    by_audience = {row[0]: row for row in rows[1:] if row[1] == "participants"}
    total = by_audience["*"]
    assert abs(int(total[2]) - 150) <= privacy.D and total[2] == total[3] and total[4] == "0"
    # The one suppression marker of every export, not an empty cell a reader takes for zero.
    marker = privacy.MARKER
    assert by_audience["eleve"][2:] == [marker, marker, "1"]
    parent = by_audience["parent"]
    assert abs(int(parent[2]) - 40) <= privacy.D and parent[4] == "0"
    assert client.get("/resultats/nationale/version-1/tableaux/topics.csv").status_code == 404
    assert client.get("/resultats/nationale/version-1/tableaux/nope.csv").status_code == 404
    assert client.get("/resultats/nationale/version-1/tableaux/_labels.csv").status_code == 404


# --- Immutability and versions -----------------------------------------------------------------


def test_published_version_never_changes_after_edits_recompilation_or_moderation(
    client, session, analyst, sources
):
    compile_by_hand(session)
    client.login(analyst.email)
    compose(client, NATIONAL, session, sources, title="Première synthèse")
    client.submit(NATIONAL + "publier", page=NATIONAL)
    before = article(client.get("/resultats/nationale/version-1/").get_data(as_text=True))
    before_pdf, before_links = pdf_text(
        client.get("/resultats/nationale/version-1/synthese.pdf").data
    )

    # A new draft starts from version 1 and is edited; the figures are recompiled; the cited
    # contribution is hidden by a moderator.
    client.submit(NATIONAL + "brouillon", page=NATIONAL)
    draft = results.draft_of(session, results.scope("national"))
    assert draft.title == "Première synthèse" and len(draft.proposals) == 3
    assert [len(p.sources) for p in draft.proposals] == [1, 1, 2]
    client.submit(
        NATIONAL + "texte",
        {
            "title": "Deuxième synthèse",
            "introduction": "Autre chose.",
            "figures": ["participation"],
        },
        page=NATIONAL,
    )
    first = draft.proposals[0]
    client.submit(f"/resultats/composer/propositions/{first.id}/supprimer", page=NATIONAL)
    compile_by_hand(session, participants=500, eleves=200)
    sources["contribution"].hidden_at = utcnow()
    session.flush()

    after = article(client.get("/resultats/nationale/version-1/").get_data(as_text=True))
    # Frozen, except that moderation reaches the cited contribution: its title leaves the page.
    contribution_url = f"/forums/contributions/{sources['contribution'].id}"
    assert contribution_url in before and contribution_url not in after
    assert "contenu retiré par la modération" in after
    assert "contenu retiré par la modération" not in before
    assert after.count("<li>") == before.count("<li>")
    assert after.split("<h2")[0] == before.split("<h2")[0]
    assert "Première synthèse" in after and "<td>150</td>" in after and "<td>500</td>" not in after
    after_pdf, after_links = pdf_text(
        client.get("/resultats/nationale/version-1/synthese.pdf").data
    )
    assert any(contribution_url in link for link in before_links)
    assert not any(contribution_url in link for link in after_links)
    assert "modération" in after_pdf and "modération" not in before_pdf
    assert after_pdf.split("Sources")[0] == before_pdf.split("Sources")[0]

    # Version 2 carries the edits and the new figures; version 1 stays readable.
    assert client.submit(NATIONAL + "publier", page=NATIONAL).status_code == 302
    latest = client.get("/resultats/nationale/").get_data(as_text=True)
    assert "Deuxième synthèse" in latest and "<td>500</td>" in latest
    assert "Proposition 1 &lt;b&gt;" not in latest
    assert "/resultats/nationale/version-1/" in latest  # history
    old = client.get("/resultats/nationale/version-1/").get_data(as_text=True)
    assert "Première synthèse" in old and "n’est plus la dernière" in old
    assert versions_count(session) == 2


def test_services_refuse_to_edit_a_published_version(session, analyst, sources):
    compile_by_hand(session)
    info = results.scope("national")
    draft = results.start_draft(session, info, analyst)
    results.save_text(
        session, draft, analyst, title="T", introduction="", conclusion="", figure_names=[]
    )
    proposal = results.add_proposal(
        session, draft, analyst, theme=theme_slugs(session)[0], title="P", text="x", position=None
    )
    results.add_source(session, proposal, analyst, f"contribution:{sources['contribution'].id}")
    version = results.publish(session, info, analyst)
    published_proposal = version.proposals[0]
    with pytest.raises(results.ResultsError) as raised:
        results.add_source(session, published_proposal, analyst, "question:C01")
    assert raised.value.status == 409
    with pytest.raises(results.ResultsError):
        results.delete_proposal(session, published_proposal, analyst)
    with pytest.raises(results.ResultsError):
        results.remove_source(session, published_proposal.sources[0], analyst)


def test_editing_a_published_proposal_through_the_views_is_refused(
    client, session, analyst, sources
):
    compile_by_hand(session)
    client.login(analyst.email)
    compose(client, NATIONAL, session, sources)
    client.submit(NATIONAL + "publier", page=NATIONAL)
    version = results.latest(session, results.scope("national"))
    proposal = version.proposals[0]
    client.submit(NATIONAL + "brouillon", page=NATIONAL)
    response = client.submit(
        f"/resultats/composer/propositions/{proposal.id}",
        {
            f"p{proposal.id}-theme": proposal.theme_slug,
            f"p{proposal.id}-title": "Changée",
            f"p{proposal.id}-text": "Changé",
        },
        page=NATIONAL,
    )
    assert response.status_code == 409
    source = proposal.sources[0]
    response = client.submit(f"/resultats/composer/sources/{source.id}/supprimer", page=NATIONAL)
    assert response.status_code == 409
    session.refresh(proposal)
    assert proposal.title != "Changée" and len(proposal.sources) == 1


# --- Publication refusals: all or nothing --------------------------------------------------------


def test_a_source_hidden_after_it_was_added_blocks_the_whole_publication(
    client, session, analyst, sources
):
    compile_by_hand(session)
    client.login(analyst.email)
    compose(client, NATIONAL, session, sources)
    sources["sheet"].published_version = 0  # unpublished since it was cited
    session.flush()
    response = client.submit(NATIONAL + "publier", page=NATIONAL)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert (
        f"La fiche Retex n°{sources['sheet'].id} n&#39;existe pas ou n&#39;est pas publiée." in html
    )
    assert "Retirez cette source avant de publier." in html
    assert versions_count(session) == 0
    assert (
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "synthesis.publish")
        )
        == 0
    )
    assert results.draft_of(session, results.scope("national")) is not None


def test_publication_needs_a_title_a_proposal_and_a_compilation_for_its_figures(
    client, session, analyst
):
    client.login(analyst.email)
    client.submit(NATIONAL + "brouillon", page=NATIONAL)
    response = client.submit(NATIONAL + "publier", page=NATIONAL)
    assert response.status_code == 422
    assert "Ajoutez au moins une proposition" in response.get_data(as_text=True)

    client.submit(
        NATIONAL + "texte",
        {"title": "Titre", "figures": ["participation"]},
        page=NATIONAL,
    )
    client.submit(
        NATIONAL + "propositions",
        {"new-theme": theme_slugs(session)[0], "new-title": "P", "new-text": "Texte"},
        page=NATIONAL,
    )
    response = client.submit(NATIONAL + "publier", page=NATIONAL)
    assert response.status_code == 409
    assert "Aucune compilation" in response.get_data(as_text=True)
    assert versions_count(session) == 0

    # Without figures, no compilation is needed.
    client.submit(NATIONAL + "texte", {"title": "Titre"}, page=NATIONAL)
    assert client.submit(NATIONAL + "publier", page=NATIONAL).status_code == 302
    assert versions_count(session) == 1


def test_publishing_without_a_draft_is_refused(client, session, analyst):
    client.login(analyst.email)
    response = client.submit(NATIONAL + "publier", page=NATIONAL)
    assert response.status_code == 409
    assert "pas de brouillon" in response.get_data(as_text=True)


# --- Sources: hostile and out-of-territory references ---------------------------------------------


def _draft_proposal(session, user, kind="national", code=""):
    info = results.scope(kind, code)
    draft = results.start_draft(session, info, user)
    return results.add_proposal(
        session, draft, user, theme=theme_slugs(session)[0], title="P", text="x", position=None
    )


@pytest.mark.parametrize(
    "reference",
    [
        "contribution:999999",
        "idee:999999",
        "retex:999999",
        "question:ZZ9",
        "question:C01:peut-etre",
        "javascript:alert(1)",
        "https://ailleurs.example/forums/contributions/1",
        "/forums/contributions/abc",
        "contribution:1:2",
        "<script>alert(1)</script>",
        "x" * 400,
        "",
    ],
)
def test_unknown_or_malformed_sources_are_refused(session, analyst, sources, reference):
    proposal = _draft_proposal(session, analyst)
    with pytest.raises(results.ResultsError) as raised:
        results.add_source(session, proposal, analyst, reference, host="localhost")
    assert raised.value.status == 422 and raised.value.field == "reference"
    assert proposal.sources == []


def test_hidden_withdrawn_held_and_unpublished_items_are_refused(session, analyst, sources):
    hidden = ContributionFactory(hidden_at=utcnow())
    withdrawn = ContributionFactory(withdrawn_at=utcnow())
    held = ContributionFactory(held_for_review=True)
    hidden_idea = IdeaFactory(hidden_at=utcnow())
    reviewer = user_with_role("coordinator", "academie", TOULOUSE)
    draft_sheet = make_sheet(UserFactory(), "submitted", reviewer=reviewer)
    proposal = _draft_proposal(session, analyst)
    for reference in (
        f"contribution:{hidden.id}",
        f"contribution:{withdrawn.id}",
        f"contribution:{held.id}",
        f"idee:{hidden_idea.id}",
        f"retex:{draft_sheet.id}",
    ):
        with pytest.raises(results.ResultsError) as raised:
            results.add_source(session, proposal, analyst, reference)
        assert "n'existe pas ou n'est pas" in raised.value.message
    assert proposal.sources == []


def test_references_are_read_from_urls_and_short_forms(session, analyst, sources):
    proposal = _draft_proposal(session, analyst)
    contribution, idea, sheet = sources["contribution"], sources["idea"], sources["sheet"]
    for reference in (
        f"https://consult.test/forums/contributions/{contribution.id}",
        f"http://consult.test/territoires/idees/{idea.id}",
        f"/retex/{sheet.id}/versions/1",
        "http://consult.test/syntheses/#question-C01-title",
        "Question : C01 : rural".replace(" ", ""),
    ):
        results.add_source(session, proposal, analyst, reference, host="consult.test")
    assert [s.ref for s in proposal.sources] == [
        f"contribution:{contribution.id}",
        f"idee:{idea.id}",
        f"retex:{sheet.id}",
        "question:C01",
        "question:C01:rural",
    ]
    assert proposal.sources[3].label == "C01 — Dans quel type de territoire vivez-vous ?"
    assert proposal.sources[4].label.endswith(" : « Une commune rurale »")
    with pytest.raises(results.ResultsError) as raised:
        results.add_source(session, proposal, analyst, f"contribution:{contribution.id}")
    assert "déjà citée" in raised.value.message


def test_territorial_synthesis_cites_only_its_own_ideas_and_retex_but_any_contribution(
    session, coordinator, sources
):
    proposal = _draft_proposal(session, coordinator, "academie", POITIERS)
    toulouse_idea = IdeaFactory()
    reviewer = user_with_role("coordinator", "academie", TOULOUSE)
    toulouse_sheet = make_sheet(UserFactory(), "published", reviewer=reviewer)
    for reference in (f"idee:{toulouse_idea.id}", f"retex:{toulouse_sheet.id}"):
        with pytest.raises(results.ResultsError) as raised:
            results.add_source(session, proposal, coordinator, reference)
        assert "n'appartient pas au territoire" in raised.value.message
    toulouse_contribution = ContributionFactory(author=UserFactory(academie_code=TOULOUSE))
    for reference in (
        f"contribution:{toulouse_contribution.id}",
        f"idee:{sources['idea'].id}",
        f"retex:{sources['sheet'].id}",
        "question:C01",
    ):
        results.add_source(session, proposal, coordinator, reference)
    assert len(proposal.sources) == 4
    assert proposal.sources[3].url == "/syntheses/poitiers/#question-C01-title"


def test_region_synthesis_cites_the_items_of_its_academies(session, sources):
    region_coordinator = user_with_role("coordinator", "region", NOUVELLE_AQUITAINE)
    proposal = _draft_proposal(session, region_coordinator, "region", NOUVELLE_AQUITAINE)
    results.add_source(session, proposal, region_coordinator, f"idee:{sources['idea'].id}")
    results.add_source(session, proposal, region_coordinator, f"retex:{sources['sheet'].id}")
    assert len(proposal.sources) == 2


# --- Hostile form input ---------------------------------------------------------------------------


def test_missing_csrf_token_saves_nothing(client, session, analyst):
    client.login(analyst.email)
    assert client.post(NATIONAL + "brouillon").status_code == 400
    assert client.post(NATIONAL + "texte", data={"title": "x"}).status_code == 400
    assert client.post(NATIONAL + "publier").status_code == 400
    assert results.draft_of(session, results.scope("national")) is None
    proposal = _draft_proposal(session, analyst)
    theme = proposal.theme_slug
    for url, data in (
        (NATIONAL + "propositions", {"new-theme": theme, "new-title": "P", "new-text": "x"}),
        (f"/resultats/composer/propositions/{proposal.id}", {f"p{proposal.id}-title": "Z"}),
        (
            f"/resultats/composer/propositions/{proposal.id}/sources",
            {f"s{proposal.id}-reference": "question:C01"},
        ),
        (f"/resultats/composer/propositions/{proposal.id}/supprimer", {}),
    ):
        assert client.post(url, data=data).status_code == 400, url
    session.refresh(proposal)
    assert proposal.title == "P" and proposal.sources == []
    assert len(results.draft_of(session, results.scope("national")).proposals) == 1


def test_text_form_rejects_huge_values_personal_data_and_unknown_tables(client, session, analyst):
    client.login(analyst.email)
    client.submit(NATIONAL + "brouillon", page=NATIONAL)
    cases = [
        ({"title": "x" * 201}, "title"),
        ({"title": "T", "introduction": "x" * 20_001}, "introduction"),
        ({"title": "T", "figures": ["nope"]}, "figures"),
        ({"title": ""}, "title"),
        ({"title": "T", "conclusion": "Écrivez à jean.dupont@exemple.fr"}, "conclusion"),
        ({"title": "Appelez le 06 12 34 56 78"}, "title"),
    ]
    for data, field in cases:
        response = client.submit(NATIONAL + "texte", data, page=NATIONAL)
        assert response.status_code == 422, (data, response.status_code)
        assert f'id="{field}-error1"' in response.get_data(as_text=True) or field == "figures"
    draft = results.draft_of(session, results.scope("national"))
    assert draft.title == "Synthèse nationale" and draft.conclusion == ""
    response = client.submit(
        NATIONAL + "texte",
        {"title": "T", "conclusion": "Écrivez à jean.dupont@exemple.fr"},
        page=NATIONAL,
    )
    assert "ni adresse électronique ni numéro de téléphone" in response.get_data(as_text=True)


def test_proposal_form_rejects_unknown_theme_bad_order_and_huge_text(client, session, analyst):
    client.login(analyst.email)
    client.submit(NATIONAL + "brouillon", page=NATIONAL)
    theme = theme_slugs(session)[0]
    for data in (
        {"new-theme": "inconnu", "new-title": "P", "new-text": "x"},
        {"new-theme": theme, "new-title": "P", "new-text": "x", "new-position": "abc"},
        {"new-theme": theme, "new-title": "P", "new-text": "x", "new-position": "-3"},
        {"new-theme": theme, "new-title": "P", "new-text": "x" * 6001},
        {"new-theme": theme, "new-title": "", "new-text": "x"},
    ):
        response = client.submit(NATIONAL + "propositions", data, page=NATIONAL)
        assert response.status_code == 422, data
    assert results.draft_of(session, results.scope("national")).proposals == []


def test_source_form_shows_the_french_refusal(client, session, analyst, sources):
    client.login(analyst.email)
    proposal = _draft_proposal(session, analyst)
    response = client.submit(
        f"/resultats/composer/propositions/{proposal.id}/sources",
        {f"s{proposal.id}-reference": "contribution:999999"},
        page=NATIONAL,
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "La contribution n°999999 n&#39;existe pas ou n&#39;est pas publique." in html


# --- Permissions --------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login_and_participants_are_refused(client, session):
    assert client.get("/resultats/composer/").status_code == 302
    assert client.get(NATIONAL).status_code == 302
    participant = UserFactory()
    client.login(participant.email)
    assert client.get("/resultats/composer/").status_code == 403
    assert client.get(NATIONAL).status_code == 403
    response = client.submit(NATIONAL + "brouillon", page="/resultats/")
    assert response.status_code == 403
    assert results.draft_of(session, results.scope("national")) is None


def test_coordinator_composes_their_territory_only(client, session, coordinator, sources):
    compile_by_hand(session, scope=("academie", POITIERS))
    client.login(coordinator.email)
    listing = client.get("/resultats/composer/").get_data(as_text=True)
    assert "Académie de Poitiers" in listing and "Synthèse nationale" not in listing
    assert client.get(NATIONAL).status_code == 403
    toulouse = f"/resultats/composer/academie-{TOULOUSE}/"
    response = client.get(toulouse)
    assert response.status_code == 403
    assert "celle d&#39;un territoire à sa coordination" in response.get_data(as_text=True)
    response = client.submit(toulouse + "publier", page=POITIERS_COMPOSER)
    assert response.status_code == 403
    assert client.submit(toulouse + "brouillon", page=POITIERS_COMPOSER).status_code == 403

    compose(client, POITIERS_COMPOSER, session, sources, title="Synthèse de Poitiers")
    response = client.submit(POITIERS_COMPOSER + "publier", page=POITIERS_COMPOSER)
    assert response.headers["Location"].endswith("/resultats/poitiers/version-1/")
    html = client.get("/resultats/poitiers/").get_data(as_text=True)
    assert "Coordination académique : Académie de Poitiers" in html
    assert coordinator.pseudonym not in html
    assert 'href="/syntheses/poitiers/#question-C01-title"' in html
    index = client.get("/resultats/").get_data(as_text=True)
    assert "Région académique Nouvelle-Aquitaine" in index and "Synthèse de Poitiers" in index


def test_another_coordinator_cannot_touch_the_draft(client, session, coordinator, sources):
    proposal = _draft_proposal(session, coordinator, "academie", POITIERS)
    results.add_source(session, proposal, coordinator, "question:C01")
    intruder = user_with_role("coordinator", "academie", TOULOUSE)
    client.login(intruder.email)
    page = f"/resultats/composer/academie-{TOULOUSE}/"
    assert (
        client.submit(
            f"/resultats/composer/propositions/{proposal.id}/supprimer", page=page
        ).status_code
        == 403
    )
    assert (
        client.submit(
            f"/resultats/composer/sources/{proposal.sources[0].id}/supprimer", page=page
        ).status_code
        == 403
    )
    assert (
        client.submit(
            f"/resultats/composer/propositions/{proposal.id}/sources",
            {f"s{proposal.id}-reference": "question:C01:urbain"},
            page=page,
        ).status_code
        == 403
    )
    session.refresh(proposal)
    assert len(proposal.sources) == 1
    assert session.get(SynthesisProposal, proposal.id) is not None


def test_region_coordinator_and_admin_compose_an_academie(client, session, sources):
    region_coordinator = user_with_role("coordinator", "region", NOUVELLE_AQUITAINE)
    client.login(region_coordinator.email)
    assert client.get(POITIERS_COMPOSER).status_code == 200
    assert client.get(f"/resultats/composer/region-{NOUVELLE_AQUITAINE}/").status_code == 200
    assert client.get(f"/resultats/composer/academie-{TOULOUSE}/").status_code == 403
    client.logout()
    admin = user_with_role("admin")
    client.login(admin.email)
    for url in (NATIONAL, POITIERS_COMPOSER, f"/resultats/composer/region-{NOUVELLE_AQUITAINE}/"):
        assert client.get(url).status_code == 200


def test_analyst_cannot_compose_a_territory(client, analyst):
    client.login(analyst.email)
    assert client.get(POITIERS_COMPOSER).status_code == 403


def test_admin_publishing_a_territory_is_shown_as_the_administration(session, sources):
    admin = user_with_role("admin")
    info = results.scope("academie", POITIERS)
    proposal = _draft_proposal(session, admin, "academie", POITIERS)
    results.add_source(session, proposal, admin, "question:C01")
    version = results.publish(session, info, admin)
    assert results.publisher_label(version) == "Administration de la plateforme"


# --- Unknown things -------------------------------------------------------------------------------


def test_unknown_territories_and_versions_are_404(client, analyst):
    for url in (
        "/resultats/nulle-part/",
        "/resultats/region/nulle-part/",
        "/resultats/nationale/",  # nothing published yet
        "/resultats/nationale/version-1/",
        "/resultats/nationale/version-0/",
        "/resultats/nationale/version-1/synthese.pdf",
        "/resultats/poitiers/version-1/tableaux/participation.csv",
    ):
        assert client.get(url).status_code == 404, url
    client.login(analyst.email)
    assert client.get("/resultats/composer/academie-99/").status_code == 404
    assert client.get("/resultats/composer/pays-13/").status_code == 404
    assert client.get("/resultats/composer/academie-/").status_code == 404
    response = client.submit("/resultats/composer/academie-99/publier", page=NATIONAL)
    assert response.status_code == 404
    assert "Territoire inconnu." in response.get_data(as_text=True)


def test_draft_is_never_public(client, session, analyst, sources):
    proposal = _draft_proposal(session, analyst)
    results.add_source(session, proposal, analyst, "question:C01")
    assert client.get("/resultats/nationale/").status_code == 404
    assert "est pas encore publiée." in client.get("/resultats/").get_data(as_text=True)
    assert client.get("/resultats/nationale/version-0/").status_code == 404


# --- Account deletion -----------------------------------------------------------------------------


def test_deleting_the_publisher_account_keeps_the_published_text(client, session, analyst, sources):
    info = results.scope("national")
    proposal = _draft_proposal(session, analyst)
    results.add_source(session, proposal, analyst, "question:C01")
    version = results.publish(session, info, analyst)
    session.delete(analyst)
    session.flush()
    session.expire_all()
    version = session.get(SynthesisPublication, version.id)
    assert version.published_by_id is None
    html = client.get("/resultats/nationale/").get_data(as_text=True)
    assert "Analyste" in html and "P" in html
    assert session.scalar(select(func.count()).select_from(SynthesisSource)) == 1


def test_published_at_orders_versions(session, analyst, sources):
    info = results.scope("national")
    for title in ("Un", "Deux", "Trois"):
        proposal = _draft_proposal(session, analyst)
        results.add_source(session, proposal, analyst, "question:C01")
        draft = results.draft_of(session, info)
        draft.title = title
        results.publish(session, info, analyst)
    assert [v.version for v in results.versions(session, info)] == [3, 2, 1]
    assert results.latest(session, info).title == "Trois"
    assert results.latest_by_scope(session)[("national", "")].version == 3
    assert results.version_counts(session)[("national", "")] == 3


def _rows_for(name: str, count: int) -> dict:
    """``count`` plausible rows of a catalogue table (long titles, every column kind)."""
    from synthesis import catalog

    spec = catalog.spec(name)
    rows = []
    for i in range(count):
        row = []
        for column in spec.columns:
            if column.name == "audience":
                row.append(["*", "eleve", "parent", "professeur"][i % 4])
            elif column.name == "academie_code":
                row.append(["13", "16", "*"][i % 3])
            elif column.name == "people":
                row.append(5 + i)
            elif column.kind == "count":
                row.append(100 + i)
            elif column.kind == "share":
                row.append(0.5)
            elif column.kind == "score":
                row.append(0.123456)
            elif column.kind == "text":
                row.append(f"Un texte assez long pour devoir passer à la ligne n°{i} « é »")
            else:
                row.append(f"k{i}")
        rows.append(row)
    return {"columns": spec.column_names, "rows": rows}


def test_every_catalogue_table_renders_in_html_and_pdf_with_truncation(
    client, session, analyst, sources
):
    compilation = Compilation(status="done", trigger="cli", finished_at=utcnow())
    session.add(compilation)
    session.flush()
    payload = {
        name: _rows_for(name, 250 if name == "forum_top" else 12) for name in results.FIGURES
    }
    session.add(
        CompiledScope(
            compilation_id=compilation.id, scope_kind="national", scope_code="", payload=payload
        )
    )
    session.flush()
    info = results.scope("national")
    proposal = _draft_proposal(session, analyst)
    results.add_source(session, proposal, analyst, "question:C01")
    draft = results.draft_of(session, info)
    draft.figure_names = list(results.FIGURES)
    results.publish(session, info, analyst)

    html = client.get("/resultats/nationale/version-1/").get_data(as_text=True)
    assert html.count('class="fr-mt-5w results-figure"') == len(results.FIGURES)
    assert "200 premières lignes sur 250." in html
    # forum_top has no group: rows of 5 to 9 voters are suppressed, 10 and more are shown.
    assert "<td>0,123</td>" in html and "<td>50,0\u202f%</td>" in html
    text, links = pdf_text(client.get("/resultats/nationale/version-1/synthese.pdf").data)
    assert "60 premières lignes sur 250" in text
    assert "http://localhost/resultats/nationale/version-1/tableaux/forum_top.csv" in links
    csv_rows = client.get("/resultats/nationale/version-1/tableaux/forum_top.csv").data
    assert csv_rows.decode("utf-8-sig").count("\n") == 251


def test_the_pdf_is_laid_out_once_at_publication_and_served_as_stored(
    client, session, analyst, sources
):
    compile_by_hand(session)
    client.login(analyst.email)
    compose(client, NATIONAL, session, sources)
    client.submit(NATIONAL + "publier", page=NATIONAL)
    version = results.latest(session, results.scope("national"))
    assert version.pdf is not None and version.pdf.startswith(b"%PDF-")
    assert client.get("/resultats/nationale/version-1/synthese.pdf").data == version.pdf
    with pytest.raises(results.ResultsError):
        results.freeze_pdf(session, version, b"%PDF-other")


def test_territory_page_links_its_published_synthesis(client, session, coordinator, sources):
    page = client.get("/territoires/poitiers/").get_data(as_text=True)
    assert "pas encore publié sa synthèse" in page
    info = results.scope("academie", POITIERS)
    proposal = _draft_proposal(session, coordinator, "academie", POITIERS)
    results.add_source(session, proposal, coordinator, "question:C01")
    results.draft_of(session, info).title = "Synthèse <i>poitevine</i>"
    results.publish(session, info, coordinator)
    page = client.get("/territoires/poitiers/").get_data(as_text=True)
    assert 'href="/resultats/poitiers/"' in page and "Synthèse &lt;i&gt;poitevine" in page
    # The région has not published its own synthesis (an académie's is not the région's).
    region = client.get("/territoires/region/nouvelle-aquitaine/").get_data(as_text=True)
    assert "pas encore publié sa synthèse" in region


def test_personal_data_export_lists_the_versions_a_person_published(session, analyst, sources):
    info = results.scope("national")
    proposal = _draft_proposal(session, analyst)
    results.add_source(session, proposal, analyst, "question:C01")
    results.publish(session, info, analyst)
    exported = results.personal_data(session, analyst)["synthesis_publications"]
    assert [(e["scope_kind"], e["version"], e["title"]) for e in exported] == [
        ("national", 1, "Synthèse nationale")
    ]
    assert results.personal_data(session, UserFactory()) == {"synthesis_publications": []}


# --- Racing publications (PostgreSQL, real commits) ------------------------------------------


@pytest.mark.postgres_only
def test_racing_publications_yield_one_version(app, committing) -> None:
    import threading

    from sqlalchemy import delete

    from consult.accounts import services as accounts
    from consult.models import RoleGrant, User
    from tests.conftest import Client
    from tests.factories import DEFAULT_PASSWORD

    app.test_client_class = Client
    emails = [f"analyste{i}@course-resultats.test" for i in range(4)]
    with app.app_context():
        for i, email in enumerate(emails):
            user = accounts.register(
                db.session,
                accounts.ProfileData(
                    pseudonym=f"Course_resultats_{i}", audience="encadrement", academie_code="13"
                ),
                email,
                DEFAULT_PASSWORD,
            )
            accounts.grant_role(db.session, user, "analyst")
        db.session.flush()
        proposal = _draft_proposal(db.session, user)
        results.add_source(db.session, proposal, user, "question:C01")
        db.session.commit()
        db.session.remove()
    clients = [app.test_client() for _ in emails]
    for client, email in zip(clients, emails, strict=True):
        client.login(email)
    tokens = [c.csrf_token(NATIONAL) for c in clients]
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []
    lock = threading.Lock()

    def publish(index: int) -> None:
        barrier.wait()
        response = clients[index].post(NATIONAL + "publier", data={"csrf_token": tokens[index]})
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=publish, args=(i,)) for i in range(len(clients))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        # One winner; the others find the draft gone (409) or lose on the unique version
        # number (409), never a 500 and never a second version.
        assert statuses.count(302) == 1, statuses
        assert set(statuses) <= {302, 409}, statuses
        with app.app_context():
            assert versions_count(db.session) == 1
            db.session.remove()
    finally:
        with app.app_context():
            db.session.execute(
                delete(SynthesisPublication).where(SynthesisPublication.scope_kind == "national")
            )
            ids = select(User.id).where(User.email_key.like("%@course-resultats.test"))
            db.session.execute(delete(AuditEvent).where(AuditEvent.actor_id.in_(ids)))
            db.session.execute(delete(RoleGrant).where(RoleGrant.user_id.in_(ids)))
            db.session.execute(delete(User).where(User.email_key.like("%@course-resultats.test")))
            db.session.commit()
            db.session.remove()


def test_pdf_survives_rich_markdown_long_words_and_any_unicode(client, session, analyst):
    info = results.scope("national")
    draft = results.start_draft(session, info, analyst)
    hostile = (
        "Texte **gras**, *italique*, `code`, [lien](https://exemple.fr/a?b=c&d=e)\n\n"
        "- un\n  - deux imbriqué\n- trois\n\n1. premier\n2. second\n\n"
        "> une citation\n\n```\nbloc de code ’ « »\n```\n\n"
        + "x"
        * 400
        + "\n\nÉmoji 🎓📚, 中文, العربية, ñ, ß, œ, Ω, combinés e\u0301, zéro\u200blargeur "
        "<script>alert(1)</script> <b>balise</b>"
    )
    results.save_text(
        session,
        draft,
        analyst,
        title="Titre 🎓 « ’ » " + "y" * 150,
        introduction=hostile,
        conclusion=hostile,
        figure_names=[],
    )
    proposal = results.add_proposal(
        session,
        draft,
        analyst,
        theme=theme_slugs(session)[0],
        title="Proposition 中文",
        text=hostile,
        position=None,
    )
    results.add_source(session, proposal, analyst, "question:C01")
    results.publish(session, info, analyst)
    response = client.get("/resultats/nationale/version-1/synthese.pdf")
    assert response.status_code == 200
    text, links = pdf_text(response.data)
    assert "Proposition" in text and "citation" in text and "xxxxxxxx" in text
    assert "<script>alert(1)</script>" in text  # shown as text, never interpreted
    assert "https://exemple.fr/a?b=c&d=e" in links


def test_demo_step_publishes_the_national_and_poitiers_syntheses(client, session, sources):
    from consult.demo import DEMO_EMAIL_DOMAIN

    compile_by_hand(session, scope=[("national", ""), ("academie", POITIERS)])
    analyst = user_with_role("analyst", email=f"analyse@{DEMO_EMAIL_DOMAIN}")
    user_with_role("coordinator", "academie", POITIERS, email=f"coord-poitiers@{DEMO_EMAIL_DOMAIN}")
    results.demo(session, "egn", None, None)
    national = results.latest(session, results.scope("national"))
    poitiers = results.latest(session, results.scope("academie", POITIERS))
    assert national.published_by_id == analyst.id and national.version == 1
    assert len(national.proposals) == 3 and len(poitiers.proposals) == 3
    refs = {s.ref for p in poitiers.proposals for s in p.sources}
    assert f"idee:{sources['idea'].id}" in refs and f"retex:{sources['sheet'].id}" in refs
    assert national.figure_names == ["participation", "forum_consensus", "survey_distribution"]
    assert client.get("/resultats/poitiers/version-1/synthese.pdf").status_code == 200
    # Run again (a second demo pass): nothing is published twice.
    results.demo(session, "egn", None, None)
    assert versions_count(session) == 2


def test_citations_trace_an_item_to_the_latest_syntheses_citing_it(app, session, sources):
    from flask import render_template

    analyst = user_with_role("analyst")
    coordinator = user_with_role("coordinator", "academie", POITIERS)
    contribution = sources["contribution"]
    for user, kind, code in ((analyst, "national", ""), (coordinator, "academie", POITIERS)):
        proposal = _draft_proposal(session, user, kind, code)
        results.add_source(session, proposal, user, f"contribution:{contribution.id}")
        results.publish(session, results.scope(kind, code), user)
    cited = results.citations(session, "contribution", contribution.id)
    assert [(p.scope_kind, p.version) for p in cited] == [("national", 1), ("academie", 1)]
    # Version 2 of the national synthesis no longer cites it: only Poitiers remains.
    info = results.scope("national")
    draft = results.start_draft(session, info, analyst)
    results.remove_source(session, draft.proposals[0].sources[0], analyst)
    results.add_source(session, draft.proposals[0], analyst, "question:C01")
    results.publish(session, info, analyst)
    cited = results.citations(session, "contribution", contribution.id)
    assert [(p.scope_kind, p.version) for p in cited] == [("academie", 1)]
    assert results.citations(session, "idee", sources["idea"].id) == []
    with app.test_request_context("/"):
        html = render_template(
            "synthesis/results/_cited_in.html", cited_kind="contribution", cited_id=contribution.id
        )
    assert 'href="/resultats/poitiers/"' in html and "Académie de Poitiers, version 1" in html


def test_published_rows_cannot_change_even_below_the_services(session, analyst, sources):
    from synthesis.results_models import PublishedVersionChanged

    info = results.scope("national")
    proposal = _draft_proposal(session, analyst)
    results.add_source(session, proposal, analyst, "question:C01")
    version = results.publish(session, info, analyst)
    results.freeze_pdf(session, version, b"%PDF-1.4 test")  # the one allowed write
    for change in (
        lambda: setattr(version, "title", "Réécrite"),
        lambda: setattr(version.proposals[0], "text", "Réécrit"),
        lambda: setattr(version.proposals[0].sources[0], "label", "Autre"),
        lambda: session.delete(version.proposals[0].sources[0]),
        lambda: setattr(version, "pdf", b"%PDF-other"),
    ):
        nested = session.begin_nested()
        change()
        with pytest.raises(PublishedVersionChanged):
            session.flush()
        nested.rollback()
    session.expire_all()
    assert results.latest(session, info).title == "Synthèse nationale"


def test_cited_items_link_to_the_synthesis_that_cites_them(client, session, analyst, sources):
    pages = {
        "contribution": f"/forums/contributions/{sources['contribution'].id}",
        "idea": f"/territoires/idees/{sources['idea'].id}",
        "sheet": f"/retex/{sources['sheet'].id}",
    }
    for path in pages.values():
        assert "Reprise dans les synthèses" not in client.get(path).get_data(as_text=True)

    compile_by_hand(session)
    client.login(analyst.email)
    compose(client, NATIONAL, session, sources)
    assert client.submit(NATIONAL + "publier", page=NATIONAL).status_code == 302
    client.logout()

    for path in pages.values():
        response = client.get(path)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert "Reprise dans les synthèses" in html
        assert 'href="/resultats/nationale/"' in html

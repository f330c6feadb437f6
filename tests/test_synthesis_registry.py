"""The spaces register what they offer to the syntheses (consult.synthesis_registry): a sixth
space feeds the participation tables and is citable by a published synthesis without any edit in
``synthesis/``. The fake space here is « ateliers »: sign-ups to territorial events, read
through its own SQL, and a citable kind whose items are ideas under another name."""

from __future__ import annotations

import re

import pytest

from consult import synthesis_registry as registry
from consult.territorial.models import Idea
from synthesis import catalog, engine, results, store
from tests.factories import UserFactory
from tests.synthesis_factories import MONTPELLIER, OCCITANIE, POITIERS, TOULOUSE
from tests.territorial_factories import EventFactory, IdeaFactory
from tests.test_synthesis_results import theme_slugs, user_with_role

ACTIVITY = "atelier_inscriptions"


@pytest.fixture
def sixth_space(app):
    registry.register_activity(
        registry.Activity(
            ACTIVITY,
            lambda session: (
                "SELECT e.user_id, e.author_academie_code AS academie_code, "
                "e.author_audience AS audience, e.created_at AS at "
                "FROM territorial_event_registration e"
            ),
            "inscriptions aux ateliers",
        )
    )
    registry.register_citable(
        registry.Citable(
            "atelier",
            "Atelier",
            Idea,
            load=lambda session, i: session.get(Idea, i),
            title=lambda session, item: f"Atelier : {item.title}",
            url=lambda item: f"/ateliers/{item.id}",
            academie=lambda session, item: item.academie_code,
            aliases=("workshop",),
            path=re.compile(r"^/ateliers/(\d+)/?$"),
            missing="L'atelier n°%(id)s n'existe pas ou n'est pas public.",
            named="L'atelier n°%(id)s",
        )
    )
    yield
    registry.unregister(ACTIVITY)
    registry.unregister("atelier")


def _sign_up(session, event, user) -> None:
    from consult.territorial.models import EventRegistration

    session.add(
        EventRegistration(
            event_id=event.id,
            user_id=user.id,
            author_audience=user.audience,
            author_academie_code=user.academie_code,
        )
    )
    session.flush()


def test_a_registered_activity_is_counted_at_every_level(session, sixth_space):
    event = EventFactory(scope_code=TOULOUSE)
    other = EventFactory(scope_code=MONTPELLIER)
    toulouse = [UserFactory(academie_code=TOULOUSE, audience="parent") for _ in range(3)]
    montpellier = UserFactory(academie_code=MONTPELLIER, audience="professeur")
    for user in toulouse:
        _sign_up(session, event, user)
    _sign_up(session, event, montpellier)
    _sign_up(session, other, montpellier)  # one person, two sign-ups
    scopes = [catalog.resolve_scope(*s) for s in (("national", ""), ("region", OCCITANIE))]
    scopes.append(catalog.resolve_scope("academie", TOULOUSE))
    engine.compile_all(session, scopes=scopes, topics=False)

    def figure(kind, code, audience="*", indicator=ACTIVITY):
        df = store.load(session, kind, code, public=False)["participation"]
        row = df[(df["indicator"] == indicator) & (df["audience"] == audience)]
        return (int(row["value"].iloc[0]), int(row["people"].iloc[0])) if len(row) else None

    assert figure("national", "") == (5, 4)
    assert figure("region", OCCITANIE) == (5, 4)
    assert figure("academie", TOULOUSE) == (3, 3)
    assert figure("academie", TOULOUSE, "parent") == (3, 3)
    # The sign-ups' people are participants like any other activity's.
    assert figure("national", "", indicator="participants")[1] >= 4
    territory = store.load(session, "national", "", public=False)["participation_territory"]
    assert set(territory[territory["indicator"] == ACTIVITY]["academie_code"]) == {
        TOULOUSE,
        MONTPELLIER,
    }
    daily = store.load(session, "national", "", public=False)["participation_daily"]
    assert daily[(daily["indicator"] == ACTIVITY) & (daily["audience"] == "*")]["value"].sum() == 5


def test_a_registered_citable_kind_is_cited_from_its_reference_or_url(session, sixth_space):
    analyst = user_with_role("analyst", academie_code=POITIERS)
    idea = IdeaFactory(author=UserFactory(academie_code=POITIERS))
    elsewhere = IdeaFactory(author=UserFactory(academie_code=TOULOUSE))
    draft = results.start_draft(session, results.scope("academie", POITIERS), analyst)
    proposal = results.add_proposal(
        session, draft, analyst, theme=theme_slugs(session)[0], title="P", text="x", position=None
    )
    source = results.add_source(session, proposal, analyst, f"atelier:{idea.id}")
    assert (source.kind, source.target_id, source.url) == (
        "atelier",
        idea.id,
        f"/ateliers/{idea.id}",
    )
    assert source.kind_label == "Atelier" and source.label.startswith("Atelier : ")
    with pytest.raises(results.ResultsError, match="déjà citée"):
        results.add_source(
            session, proposal, analyst, f"https://localhost/ateliers/{idea.id}", "localhost"
        )
    # The space's territory rule applies: a Poitiers synthesis cannot cite a Toulouse item.
    with pytest.raises(results.ResultsError, match="n'appartient pas au territoire"):
        results.add_source(session, proposal, analyst, f"workshop:{elsewhere.id}")
    with pytest.raises(results.ResultsError, match="n'existe pas ou n'est pas public"):
        results.add_source(session, proposal, analyst, "atelier:999999")
    registry.unregister("atelier")
    with pytest.raises(results.ResultsError, match="Source non reconnue"):
        results.add_source(session, proposal, analyst, f"atelier:{elsewhere.id}")


def test_the_four_spaces_register_their_activities_and_citables(app):
    indicators = {a.indicator for a in registry.activities()}
    assert {
        "contributions",
        "votes",
        "comments",
        "ideas",
        "idea_supports",
        "retex_sheets",
        "survey_responses",
    } <= indicators
    assert {"contribution", "idee", "retex"} <= set(registry.citables())
    assert registry.citable("idée").kind == "idee"

"""A meeting as a source of the consultation, in Chromium: the organiser publishes the minutes
and types in a contribution collected in the room; it carries the meeting's mark and is voted
online; the compiled synthesis counts it apart from the online contributions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from tests.browser_support import PASSWORD, axe_violations, login

pytestmark = pytest.mark.browser

ORGANISER = "rencontre-orga@exemple.test"
VOTER = "rencontre-votant@exemple.test"


def _setup(live_server) -> int:
    from consult.accounts import services
    from consult.db import db, utcnow
    from consult.territorial.models import Event

    with live_server.app.app_context():
        session = db.session
        if not services.email_taken(session, ORGANISER):
            organiser = services.register(
                session,
                services.ProfileData(
                    pseudonym="Orga_Rencontre", audience="encadrement", academie_code="16"
                ),
                ORGANISER,
                PASSWORD,
            )
            services.grant_role(session, organiser, "coordinator", "academie", "16")
            services.register(
                session,
                services.ProfileData(
                    pseudonym="Votant_Rencontre", audience="parent", academie_code="16"
                ),
                VOTER,
                PASSWORD,
            )
            session.flush()
        from consult.models import User

        organiser = session.scalar(select(User).where(User.pseudonym == "Orga_Rencontre"))
        start = utcnow() - timedelta(hours=3)
        event = Event(
            scope_kind="academie",
            scope_code="16",
            title="Café numérique des familles",
            description="Une rencontre au collège.",
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            place="Collège de Toulouse",
            audiences=["parent", "eleve"],
            created_by_id=organiser.id,
        )
        session.add(event)
        session.commit()
        event_id = event.id
        session.remove()
    return event_id


def _cleanup(live_server, event_id: int, compilation_ids: list[int]) -> None:
    from consult.db import db
    from consult.territorial.models import Event, EventMinutes
    from forums.models import Contribution, Vote
    from synthesis.models import Compilation

    with live_server.app.app_context():
        session = db.session
        ids = select(Contribution.id).where(Contribution.meeting_event_id == event_id)
        session.execute(delete(Vote).where(Vote.contribution_id.in_(ids)))
        session.execute(delete(Contribution).where(Contribution.meeting_event_id == event_id))
        session.execute(delete(EventMinutes).where(EventMinutes.event_id == event_id))
        session.execute(delete(Event).where(Event.id == event_id))
        for ident in compilation_ids:
            found = session.get(Compilation, ident)
            if found is not None:
                session.delete(found)
        session.commit()
        session.remove()


def test_meeting_minutes_and_room_contributions_counted_apart(page, live_server) -> None:
    from consult.db import db
    from synthesis import catalog, engine, store

    base = live_server.url
    event_id = _setup(live_server)
    compilations: list[int] = []
    try:
        login(page, live_server, ORGANISER)
        page.goto(f"{base}/territoires/evenements/{event_id}")
        page.get_by_role("link", name="Publier le compte rendu").click()
        page.locator("#body").fill(
            "Trente personnes ont parlé **équipement** et accompagnement des familles."
        )
        page.locator("#present_parent").fill("18")
        page.locator("#present_eleve").fill("12")
        page.get_by_role("button", name="Publier le compte rendu").click()
        page.wait_for_url(f"{base}/territoires/evenements/{event_id}#compte-rendu")
        assert page.get_by_text("Présents : 30 personnes").is_visible()
        assert page.locator("#compte-rendu ~ div strong", has_text="équipement").count() == 1

        page.get_by_role("link", name="Saisir une contribution recueillie").click()
        assert axe_violations(page) == []
        page.locator("#subtheme").select_option(index=1)
        page.locator("#audience").select_option("parent")
        page.locator("#title").fill("Prêter des ordinateurs aux familles")
        page.locator("#body").fill("Une mère propose un prêt d'ordinateurs pour l'année.")
        page.get_by_role("button", name="Publier la contribution").click()
        page.get_by_role("link", name="Prêter des ordinateurs aux familles").click()
        mark = page.locator(".forum-meeting-mark")
        assert "recueillie lors de la rencontre" in mark.inner_text()
        assert "Café numérique des familles" in mark.inner_text()
        contribution_url = page.url
        assert axe_violations(page) == []
        page.goto(f"{base}/")
        page.get_by_role("button", name="Se déconnecter").click()

        # A parent online adopts it.
        login(page, live_server, VOTER)
        page.goto(contribution_url)
        adopt = page.get_by_role("button", name="J'adopte")
        adopt.click()
        page.wait_for_selector("button[value=adopt][aria-pressed=true]")
        assert page.locator("[data-count=adopt]").first.inner_text() == "1"
        page.goto(f"{base}/")
        page.get_by_role("button", name="Se déconnecter").click()

        # The synthesis, compiled, counts it apart.
        with live_server.app.app_context():
            scopes = [catalog.resolve_scope("national"), catalog.resolve_scope("academie", "16")]
            compilation = engine.compile_all(db.session, scopes=scopes, topics=False)
            db.session.commit()
            compilations.append(compilation.id)
            tables = store.load(db.session, "academie", "16", public=False)
            df = tables["participation"]
            row = df[(df["indicator"] == "meeting_contributions") & (df["audience"] == "parent")]
            assert int(row["value"].iloc[0]) >= 1
            db.session.remove()
        login(page, live_server, "admin-audit@exemple.test")
        page.goto(f"{base}/syntheses/toulouse/")
        header = page.locator("th", has_text="Contributions recueillies en rencontre")
        assert header.count() >= 1
    finally:
        _cleanup(live_server, event_id, compilations)

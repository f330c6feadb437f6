"""The questionnaire in a real browser: a pupil answers through a printed code with live
conditions, a coordinator prints codes, an analyst reads results; axe audit of every page."""

from __future__ import annotations

import random
import uuid

import pytest

from tests.browser_support import PASSWORD, axe_violations, login, tick
from tests.surveys_factories import CODE_RE

pytestmark = pytest.mark.browser


def _accounts(live_server) -> dict[str, str]:
    from consult.accounts import services
    from consult.db import db

    suffix = uuid.uuid4().hex[:6]
    emails = {}
    with live_server.app.app_context():
        for key, audience, role in (
            ("coordinator", "encadrement", ("coordinator", "academie", "13")),
            ("analyst", "autre", ("analyst", "national", "")),
            ("teacher", "professeur", None),
        ):
            email = f"{key}-{suffix}@exemple.test"
            user = services.register(
                db.session,
                services.ProfileData(
                    pseudonym=f"{key}_{suffix}", audience=audience, academie_code="13"
                ),
                email,
                PASSWORD,
            )
            if role:
                services.grant_role(db.session, user, *role)
            emails[key] = email
        # A dozen anonymous pupils' responses, so the results pages have figures and a chart.
        from surveys import services as survey_services
        from surveys.demo import Answerer
        from surveys.models import SurveyResponse

        questionnaire = survey_services.current_questionnaire(db.session)
        answerer = Answerer(questionnaire.definition, "eleve")
        rng = random.Random(4)
        db.session.add_all(
            SurveyResponse(
                questionnaire_id=questionnaire.id,
                author_audience="eleve",
                author_academie_code="13",
                answers=answerer.answer(rng),
            )
            for _ in range(12)
        )
        db.session.commit()
        db.session.remove()
    return emails


def _logout(page) -> None:
    page.get_by_role("button", name="Se déconnecter").first.click()
    page.wait_for_load_state()


def test_code_journey_live_conditions_and_axe(page, live_server) -> None:
    base = live_server.url
    emails = _accounts(live_server)
    violations: list[str] = []

    # A coordinator creates and prints a batch of codes.
    login(page, live_server, emails["coordinator"])
    violations += axe_violations(page, f"{base}/questionnaire/")
    violations += axe_violations(page, f"{base}/questionnaire/codes/nouveau")
    page.get_by_label("Nom du lot").fill("3e A — collège Camille-Claudel")
    page.get_by_label("Public").select_option("eleve")
    page.get_by_label("Nombre de codes").fill("2")
    page.get_by_role("button", name="Créer les codes").click()
    page.wait_for_url(f"{base}/questionnaire/codes/*")
    codes = CODE_RE.findall(page.content())
    assert len(codes) == 2
    violations += axe_violations(page)
    violations += axe_violations(page, f"{base}/questionnaire/codes/")
    _logout(page)

    # A pupil types the code and answers; the follow-ups hide live.
    page.goto(f"{base}/questionnaire/code")
    violations += axe_violations(page)
    page.get_by_label("Code d'accès").fill(codes[0])
    page.get_by_role("button", name="Valider le code").click()
    page.wait_for_url(f"{base}/questionnaire/page/1")
    violations += axe_violations(page)
    tick(page, "q-C01-3", "rurale")
    tick(page, "q-C02-4", "4")
    tick(page, "q-C03-3", "Parfois")
    tick(page, "q-C04-5", "Tous les jours")
    page.get_by_role("button", name="Page suivante").click()
    page.wait_for_url(f"{base}/questionnaire/page/2")
    follow_up = page.locator("#bloc-C06")
    assert not follow_up.is_visible()  # how many computers: only once one is ticked
    tick(page, "q-C05-1", "Un ordinateur")
    assert follow_up.is_visible()
    page.locator('label[for="q-C05-1"]').click()
    tick(page, "q-C05-5", "Aucun de ces équipements")
    assert not follow_up.is_visible()
    assert not page.locator("#bloc-C07").is_visible()
    assert page.locator("#bloc-C10").is_visible()
    violations += axe_violations(page)
    page.get_by_role("button", name="Enregistrer et reprendre plus tard").click()
    page.wait_for_url(f"{base}/questionnaire/")
    assert page.get_by_text("Brouillon enregistré").is_visible()
    _logout_code = page.get_by_role("button", name="Quitter et reprendre plus tard")
    _logout_code.click()
    page.wait_for_url(f"{base}/questionnaire/")

    # An analyst reads the results and the free text.
    login(page, live_server, emails["analyst"])
    for path in ("resultats/", "resultats/C02", "resultats/C30", "resultats/C34", "definition"):
        violations += axe_violations(page, f"{base}/questionnaire/{path}")
    page.goto(f"{base}/questionnaire/resultats/C01")
    page.locator("#surveys-chart svg").first.wait_for()
    _logout(page)

    # A teacher starts and reviews (review page audit).
    login(page, live_server, emails["teacher"])
    page.goto(f"{base}/questionnaire/")
    page.get_by_role("button", name="Commencer le questionnaire").click()
    page.wait_for_url(f"{base}/questionnaire/page/1")
    violations += axe_violations(page, f"{base}/questionnaire/relecture")
    assert violations == []

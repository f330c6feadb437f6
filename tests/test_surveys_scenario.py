"""The issue's "Done when" scenario, end to end through the web pages."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from consult.db import db
from surveys import services
from surveys.models import AccessCode, SurveyDraft, SurveyParticipation, SurveyResponse
from tests.surveys_factories import CODE_RE, answer_pages, user_with_role


def _definition():
    return services.current_questionnaire(db.session).definition


def test_done_when_scenario(client, app, session) -> None:
    definition = _definition()
    coordinator = user_with_role("coordinator", "academie", "13", audience="professeur")
    teacher = user_with_role(None, audience="professeur", academie_code="13")
    analyst = user_with_role("analyst", audience="autre")

    # 1. A coordinator prints a sheet of codes for a class of pupils in Poitiers.
    client.login(coordinator.email)
    response = client.submit(
        "/questionnaire/codes/nouveau",
        {
            "label": "4e B — collège <Jean-Moulin>",
            "audience": "eleve",
            "academie": "13",
            "size": "3",
            "valid_days": "30",
        },
    )
    assert response.status_code == 302
    sheet = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "4e B — collège &lt;Jean-Moulin&gt;" in sheet
    codes = CODE_RE.findall(sheet)
    assert len(codes) == 3
    client.logout()

    # 2. A student without email answers through a code; equipment follow-ups are hidden
    #    when there is no computer at home, even if a tampered form sends them.
    response = client.submit("/questionnaire/code", {"code": codes[0].lower().replace("-", " ")})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/questionnaire/page/1")
    answer_pages(
        client,
        definition,
        "eleve",
        overrides={"C05": ["aucun"], "C08": "mobile", "E02": "smartphone"},
        extra={"C06": 3, "C07": "souvent"},
    )
    review = client.get("/questionnaire/relecture")
    assert review.status_code == 200
    assert "Combien d&#39;ordinateurs" not in review.get_data(as_text=True)
    response = client.submit("/questionnaire/relecture", {})
    assert response.status_code == 302 and response.headers["Location"].endswith("/merci")
    student_response = session.scalar(
        select(SurveyResponse).where(SurveyResponse.author_audience == "eleve")
    )
    assert student_response.author_academie_code == "13"
    assert student_response.via_code
    assert "C06" not in student_response.answers and "C07" not in student_response.answers
    assert student_response.answers["C05"] == ["aucun"]
    assert "C10" in student_response.answers  # shown because there is no computer
    assert (
        session.scalar(
            select(AccessCode.used_at).where(AccessCode.code == codes[0].replace("-", ""))
        )
        is not None
    )
    # The code cannot serve twice.
    again = client.submit("/questionnaire/code", {"code": codes[0]})
    assert again.status_code == 409
    assert "déjà servi" in again.get_data(as_text=True)

    # 3. A teacher answers with an account, saves a draft, and resumes the next day.
    client.login(teacher.email)
    response = client.submit("/questionnaire/commencer", {}, page="/questionnaire/")
    assert response.headers["Location"].endswith("/questionnaire/page/1")
    known = answer_pages(
        client,
        definition,
        "professeur",
        overrides={"C05": ["ordinateur", "smartphone"]},
        stop_after=1,
    )
    response = client.submit(
        "/questionnaire/page/2",
        {"action": "brouillon", "q_C05": ["ordinateur", "smartphone"], "q_C06": "2"},
    )
    assert response.status_code == 302
    client.logout()
    session.expire_all()
    draft = session.scalar(select(SurveyDraft).where(SurveyDraft.user_id == teacher.id))
    assert draft.answers["C06"] == 2 and draft.page == 1

    client.login(teacher.email)  # "the next day": a new session
    index = client.get("/questionnaire/").get_data(as_text=True)
    assert "Reprendre mes réponses" in index
    response = client.submit("/questionnaire/commencer", {}, page="/questionnaire/")
    assert response.headers["Location"].endswith("/questionnaire/page/2")
    page2 = client.get("/questionnaire/page/2").get_data(as_text=True)
    assert 'value="2"' in page2  # the saved number is there
    answer_pages(
        client,
        definition,
        "professeur",
        overrides={
            "C05": ["ordinateur", "smartphone"],
            "C06": 2,
            "C34": "Écrivez-moi : prof@exemple.fr",
        },
        start_page=2,
        known=known,
    )
    response = client.submit("/questionnaire/relecture", {})
    assert response.status_code == 302
    assert services.has_answered(session, services.current_questionnaire(session), teacher.id)
    teacher_response = session.scalar(
        select(SurveyResponse).where(SurveyResponse.author_audience == "professeur")
    )
    assert teacher_response.has_personal_data
    # Privacy: nothing links the response to the account; the account only knows it answered.
    assert not hasattr(teacher_response, "user_id")
    assert session.scalar(select(func.count()).select_from(SurveyParticipation)) == 1
    assert session.scalar(select(func.count()).select_from(SurveyDraft)) == 0
    # A second submission is refused.
    again = client.submit("/questionnaire/commencer", {}, page="/questionnaire/")
    assert again.status_code == 409
    client.logout()

    # 4. The analyst sees both responses split by audience.
    client.login(analyst.email)
    page = client.get("/questionnaire/resultats/C02").get_data(as_text=True)
    assert "Élève" in page and "Professeur ou professeure" in page
    assert "< 10" not in page
    results = client.get("/questionnaire/resultats/").get_data(as_text=True)
    assert "<td>1</td>" in results

    # 5. ... and exports the CSV (semicolons, BOM) and the codebook, accents intact.
    export = client.get("/questionnaire/export/reponses.csv?separateur=point-virgule")
    assert export.status_code == 200
    raw = export.get_data()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    header, data = rows[0], rows[1:]
    assert len(data) == 2
    assert {"C05_aucun", "C30_rang1", "C06"} <= set(header)
    by_audience = {row[header.index("public")]: row for row in data}
    assert by_audience["eleve"][header.index("C06")] == ""
    assert by_audience["eleve"][header.index("C05_aucun")] == "1"
    assert by_audience["professeur"][header.index("C06")] == "2"
    assert "[adresse masquée]" in by_audience["professeur"][header.index("C34")]
    assert teacher.email not in raw.decode("utf-8-sig")
    codebook = client.get("/questionnaire/export/codebook.csv?separateur=point-virgule")
    text = codebook.get_data().decode("utf-8-sig")
    assert "Équipement et connexion à la maison" in text
    assert "C05 ∉ {aucun}" in text

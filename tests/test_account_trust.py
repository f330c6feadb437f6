"""Issue 10 (trust) on accounts: the reserved « Compte supprimé » label, blocked accounts,
deletion across packages and contact details in public text."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from consult.models import User
from consult.security import is_reserved_pseudonym, pseudonym_problem
from tests.factories import DEFAULT_PASSWORD

REGISTER = "/compte/inscription"
VALID = {
    "pseudonym": "Prof_Poitevin",
    "email": "prof.poitiers@exemple.test",
    "password": "des craies et des tablettes",
    "password_confirm": "des craies et des tablettes",
    "audience": "professeur",
    "academie": "13",
    "departement": "86",
    "accept_terms": "y",
}

# --- « Compte supprimé » is reserved ----------------------------------------------------------

DISGUISES = [
    "Compte supprimé",
    "compte supprime",
    "COMPTE SUPPRIMÉ",
    "Compte  Supprimé",
    "Compte_supprimé",
    "Compte-supprimé",
    "Compte.supprime",
    "Comptesupprimé",
    "Compte supprime\u0301",  # combining accent
    "ｃｏｍｐｔｅ ｓｕｐｐｒｉｍé",  # fullwidth letters (NFKC)
    "Сомрtе suррrimé",  # Cyrillic С, о, м... look-alikes
    "C0mpte supprim3",
    "Compte supprimé 2",
    "Deleted account",
]


@pytest.mark.parametrize("name", DISGUISES)
def test_every_spelling_of_the_deleted_label_is_reserved(name) -> None:
    assert is_reserved_pseudonym(name)


@pytest.mark.parametrize("name", ["Compte rendu", "Suppléante", "Comptable_86", "Zoé"])
def test_ordinary_names_are_not_reserved(name) -> None:
    assert not is_reserved_pseudonym(name)


@pytest.mark.parametrize("name", [*DISGUISES[:8], "Сомрtе suррrimé"])
def test_registration_refuses_the_deleted_label(app, client, session, name) -> None:
    response = client.submit(REGISTER, VALID | {"pseudonym": name})
    assert response.status_code == 422
    assert "réservé" in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(User)) == 0


def test_profile_edit_refuses_the_deleted_label(client, user, session) -> None:
    client.login(user.email)
    before = user.pseudonym
    response = client.submit(
        "/compte/profil",
        {"pseudonym": "compte  SUPPRIMÉ", "audience": "professeur", "academie": "13"},
    )
    assert response.status_code == 422
    assert "réservé" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, user.id).pseudonym == before


def test_service_refuses_the_deleted_label_without_the_form(app, session) -> None:
    from consult.accounts.services import AccountError, ProfileData, register

    with app.test_request_context(), pytest.raises(AccountError) as refused:
        register(
            session,
            ProfileData(pseudonym="Compte_Supprimé", audience="parent", academie_code="13"),
            "x@exemple.test",
            "des craies et des tablettes",
        )
    assert "réservé" in refused.value.message


def test_reserved_message_is_french(app) -> None:
    with app.test_request_context():
        assert "réservé" in pseudonym_problem("Compte supprimé")


# --- Blocked accounts cannot act anywhere -----------------------------------------------------

BLOCKED_TEXT = "Votre compte est bloqué"


def _snapshot(session) -> dict[str, list]:
    """Every row of every table: a refused write must leave all of them as they were."""
    from consult.db import Base

    session.flush()
    session.expire_all()
    return {
        table.name: sorted(map(repr, session.execute(table.select()).all()))
        for table in Base.metadata.sorted_tables
    }


@pytest.fixture
def world(session, app, monkeypatch):
    """A participant holding every role that writes somewhere, plus one target per action."""
    from datetime import timedelta

    from consult.db import utcnow
    from consult.territorial.models import EventRegistration
    from tests.factories import RoleGrantFactory, UserFactory
    from tests.forums_factories import ContributionFactory, first_subtheme
    from tests.retex_factories import make_sheet
    from tests.surveys_factories import load_small
    from tests.territorial_factories import EventFactory, IdeaFactory

    questionnaire = load_small(session)
    monkeypatch.setitem(app.config, "SURVEY_SLUG", questionnaire.slug)
    me = UserFactory(academie_code="16", pseudonym="Bloquable")
    for role, kind, code in [
        ("moderator", "national", ""),
        ("analyst", "national", ""),
        ("coordinator", "academie", "16"),
    ]:
        RoleGrantFactory(user=me, role=role, scope_kind=kind, scope_code=code)
    other = UserFactory(academie_code="16")
    mine = ContributionFactory(author=me)
    theirs = ContributionFactory(author=other)
    idea = IdeaFactory(author=other)
    event = EventFactory(capacity=30)
    attended = EventFactory(capacity=30, registered_count=1)
    session.add(
        EventRegistration(
            event_id=attended.id,
            user_id=me.id,
            author_audience="professeur",
            author_academie_code="16",
        )
    )
    draft = make_sheet(me)
    submitted = make_sheet(other, status="submitted")
    session.flush()
    session.refresh(me)
    day = (utcnow() + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M")
    later = (utcnow() + timedelta(days=20, hours=2)).strftime("%Y-%m-%dT%H:%M")
    return {
        "me": me,
        "routes": [
            (
                "forums.contribute",
                f"/forums/{mine.theme.slug}/contribuer",
                {
                    "subtheme": str(first_subtheme().id),
                    "title": "Une idée neuve pour la classe",
                    "body": "Un texte assez long pour être accepté par le forum.",
                    "checked": "1",
                },
            ),
            (
                "forums.edit",
                f"/forums/contributions/{mine.id}/modifier",
                {
                    "subtheme": str(mine.subtheme_id),
                    "title": "Titre modifié du tout au tout",
                    "body": "Corps modifié, assez long pour passer.",
                },
            ),
            ("forums.withdraw", f"/forums/contributions/{mine.id}/retirer", {}),
            ("forums.vote", f"/forums/contributions/{theirs.id}/vote", {"value": "adopt"}),
            (
                "forums.comment",
                f"/forums/contributions/{theirs.id}/commentaires",
                {"polarity": "pour", "body": "Je suis bien d'accord avec cela."},
            ),
            (
                "moderation.report",
                f"/moderation/signaler/contribution/{theirs.id}",
                {"reason": "spam", "text": "Publicité"},
            ),
            (
                "moderation.hide",
                f"/moderation/contribution/{theirs.id}/masquer",
                {"reason": "Hors sujet"},
            ),
            (
                "moderation.block",
                f"/moderation/utilisateurs/{other.id}/bloquer",
                {"reason": "Insultes"},
            ),
            (
                "territorial.idea",
                "/territoires/idees/nouvelle",
                {"title": "Des casiers pour les tablettes", "body": "Pour ranger le matériel."},
            ),
            ("territorial.support", f"/territoires/idees/{idea.id}/soutenir", {}),
            (
                "territorial.answer",
                f"/territoires/idees/{idea.id}/reponse",
                {"status": "accepted", "answer": "Bonne idée, nous la retenons."},
            ),
            ("territorial.register", f"/territoires/evenements/{event.id}/inscription", {}),
            ("territorial.unregister", f"/territoires/evenements/{attended.id}/desinscription", {}),
            (
                "territorial.event",
                "/territoires/evenements/nouveau",
                {
                    "territory": "academie:16",
                    "title": "Atelier numérique",
                    "description": "Venez.",
                    "starts_at": day,
                    "ends_at": later,
                    "place": "Rectorat",
                    "audiences": ["parent"],
                },
            ),
            (
                "territorial.news",
                "/territoires/actualites/nouvelle",
                {"territory": "academie:16", "title": "Nouvelle importante", "body": "Du texte."},
            ),
            ("surveys.start", "/questionnaire/commencer", {}),
            ("surveys.page", "/questionnaire/page/1", {"action": "suivant"}),
            ("surveys.review", "/questionnaire/relecture", {}),
            ("surveys.code", "/questionnaire/code", {"code": "ABCD-EFGH-JKLM"}),
            (
                "surveys.codes",
                "/questionnaire/codes/nouveau",
                {"academie": "16", "count": "5", "label": "Classe de 3e"},
            ),
            ("retex.create", "/retex/nouvelle", _retex_form()),
            ("retex.edit", f"/retex/{draft.id}/modifier", _retex_form()),
            ("retex.submit", f"/retex/{draft.id}/soumettre", {}),
            ("retex.publish", f"/retex/{submitted.id}/publier", {}),
            ("retex.return", f"/retex/{submitted.id}/renvoyer", {"comment": "À revoir."}),
            ("results.start", "/resultats/composer/academie-16/brouillon", {}),
            ("synthesis.recompile", "/syntheses/recompiler", {}),
        ],
    }


def _retex_form() -> dict:
    from tests.retex_factories import form_data

    return form_data(title="Une fiche d'expérience", territory="academie:16")


ROUTE_IDS = [
    "forums.contribute", "forums.edit", "forums.withdraw", "forums.vote", "forums.comment",
    "moderation.report", "moderation.hide", "moderation.block", "territorial.idea",
    "territorial.support", "territorial.answer", "territorial.register",
    "territorial.unregister", "territorial.event", "territorial.news", "surveys.start",
    "surveys.page", "surveys.review", "surveys.code", "surveys.codes", "retex.create",
    "retex.edit", "retex.submit", "retex.publish", "retex.return", "results.start",
    "synthesis.recompile",
]  # fmt: skip


def _route(world, name):
    return next(r for r in world["routes"] if r[0] == name)


def test_route_list_covers_every_participation_action(world) -> None:
    assert [r[0] for r in world["routes"]] == ROUTE_IDS


@pytest.mark.parametrize("name", ROUTE_IDS)
def test_blocked_account_gets_403_and_writes_nothing(client, session, world, name) -> None:
    from consult.db import utcnow

    _name, url, data = _route(world, name)
    client.login(world["me"].email)
    token = client.csrf_token("/")
    world["me"].blocked_at = utcnow()
    world["me"].blocked_reason = "Propos insultants"
    before = _snapshot(session)
    response = client.post(url, data={**data, "csrf_token": token})
    body = response.get_data(as_text=True)
    assert response.status_code == 403, body[:2000]
    assert BLOCKED_TEXT in body
    assert _snapshot(session) == before


@pytest.mark.parametrize("name", ROUTE_IDS)
def test_same_action_is_allowed_when_not_blocked(client, session, world, name) -> None:
    """The control: the refusal above comes from the block, not from the route or its data."""
    _name, url, data = _route(world, name)
    client.login(world["me"].email)
    token = client.csrf_token("/")
    if name in {"surveys.page", "surveys.review"}:
        client.post("/questionnaire/commencer", data={"csrf_token": token})
    response = client.post(url, data={**data, "csrf_token": token})
    body = response.get_data(as_text=True)
    assert response.status_code not in (403, 500), body[:2000]
    assert BLOCKED_TEXT not in body


def test_blocked_account_still_reads_and_leaves(client, session, world) -> None:
    from consult.db import utcnow

    client.login(world["me"].email)
    world["me"].blocked_at = utcnow()
    session.flush()
    assert client.get("/compte/").status_code == 200
    assert client.get("/forums/").status_code == 200
    response = client.submit("/compte/mes-donnees", {"current_password": DEFAULT_PASSWORD})
    assert response.status_code == 200


def test_participation_rule_is_one_function(user) -> None:
    from consult.db import utcnow
    from consult.permissions import Permission, authorize, may_participate

    assert may_participate(user) and authorize(user, Permission.PARTICIPATE)
    user.blocked_at = utcnow()
    assert not may_participate(user) and not authorize(user, Permission.PARTICIPATE)
    assert not may_participate(None)


# --- Deletion erases personal data in every package -------------------------------------------

SECRET = "ZYXSECRET"


@pytest.fixture
def holdings(session, app, monkeypatch, tmp_path):
    """One of every kind of thing an account can hold, its private parts marked with SECRET."""
    import io

    from consult.moderation.models import Report
    from consult.territorial.models import EventRegistration, IdeaSupport
    from forums.models import Vote
    from retex import services as retex_services
    from surveys.models import SurveyDraft
    from tests.factories import UserFactory
    from tests.forums_factories import CommentFactory, ContributionFactory
    from tests.retex_factories import PDF, make_sheet
    from tests.surveys_factories import load_small
    from tests.territorial_factories import EventFactory, IdeaFactory

    monkeypatch.setitem(app.config, "RETEX_UPLOAD_DIR", str(tmp_path))
    questionnaire = load_small(session)
    me = UserFactory(
        academie_code="16", pseudonym=f"Pseudo{SECRET}", email=f"{SECRET.lower()}@exemple.test"
    )
    other = UserFactory(academie_code="16")
    reviewer = UserFactory(academie_code="16")
    from tests.factories import RoleGrantFactory

    RoleGrantFactory(user=reviewer, role="coordinator", scope_kind="academie", scope_code="16")
    session.refresh(reviewer)
    public = ContributionFactory(author=me, title="Public", body="Texte public")
    held = ContributionFactory(author=me, held_for_review=True, body=f"Appelez {SECRET}")
    CommentFactory(
        author=me,
        contribution=ContributionFactory(author=other),
        held_for_review=True,
        body=f"Mon numéro {SECRET}",
    )
    CommentFactory(author=other, contribution=held, body="Réponse sur un contenu retenu")
    session.add(
        Vote(
            contribution_id=held.id,
            user_id=other.id,
            value="adopt",
            author_audience="parent",
            author_academie_code="16",
        )
    )
    held_idea = IdeaFactory(author=me, held_for_review=True, title=f"Idée {SECRET}")
    session.add(
        IdeaSupport(
            idea_id=held_idea.id,
            user_id=other.id,
            author_audience="parent",
            author_academie_code="16",
        )
    )
    event = EventFactory(capacity=10, registered_count=1)
    session.add(
        EventRegistration(
            event_id=event.id,
            user_id=me.id,
            author_audience="professeur",
            author_academie_code="16",
        )
    )
    session.add(
        Report(
            kind="contribution",
            target_id=public.id + 1000,
            reporter_id=me.id,
            reason="spam",
            text=f"Signalé par {SECRET}",
        )
    )
    session.add(
        SurveyDraft(
            questionnaire_id=questionnaire.id,
            user_id=me.id,
            answers={"Q7": f"réponse {SECRET}"},
            page=1,
        )
    )
    session.commit()  # a savepoint release: the request context below has its own session
    with app.test_request_context():
        from consult.db import db

        inner = db.session
        draft = make_sheet(me, title=f"Brouillon {SECRET}")
        retex_services.add_attachment(inner, draft, io.BytesIO(PDF), f"{SECRET}.pdf", SECRET)
        published = make_sheet(me, status="published", reviewer=reviewer, title="Fiche publiée")
        retex_services.add_attachment(
            inner, published, io.BytesIO(PDF), f"nouveau{SECRET}.pdf", "pas encore relue"
        )
        published.title = f"Nouvelle version {SECRET}"
        published.status = "draft"
        published_id = published.id
        inner.commit()
    return {"me": me, "public": public, "published": published_id, "questionnaire": questionnaire}


def _every_row(session) -> str:
    from consult.db import Base

    session.flush()
    session.expire_all()
    return "\n".join(
        repr(row)
        for table in Base.metadata.sorted_tables
        for row in session.execute(table.select()).all()
    )


def test_personal_data_download_lists_everything_held(client, session, holdings) -> None:
    import json

    client.login(holdings["me"].email)
    response = client.submit("/compte/mes-donnees", {"current_password": DEFAULT_PASSWORD})
    data = json.loads(response.get_data(as_text=True))
    assert {c["body"] for c in data["forum_comments"]} == {f"Mon numéro {SECRET}"}
    assert len(data["forum_contributions"]) == 2
    assert [i["title"] for i in data["territorial_ideas"]] == [f"Idée {SECRET}"]
    assert len(data["territorial_event_registrations"]) == 1
    assert data["reports"][0]["text"] == f"Signalé par {SECRET}"
    assert data["questionnaire"]["brouillons"][0]["reponses"] == {"Q7": f"réponse {SECRET}"}
    files = [a["filename"] for s in data["retex_sheets"] for a in s["attachments"]]
    assert sorted(files) == sorted([f"{SECRET}.pdf", f"nouveau{SECRET}.pdf"])


def test_account_deletion_leaves_nothing_personal(client, session, holdings, tmp_path) -> None:
    from consult.territorial.models import Event
    from retex.models import RetexAttachment, RetexSheet

    me = holdings["me"]
    assert SECRET in _every_row(session)
    client.login(me.email)
    response = client.submit(
        "/compte/suppression", {"current_password": DEFAULT_PASSWORD, "confirm": "y"}
    )
    assert response.status_code == 302
    rows = _every_row(session)
    assert SECRET not in rows
    assert SECRET.lower() not in rows.lower()
    # What was public stays public, under the deleted label.
    assert "Texte public" in rows
    published = session.get(RetexSheet, holdings["published"])
    assert published.title == "Fiche publiée" and published.status == "published"
    assert session.scalar(select(func.count()).select_from(RetexAttachment)) == 0
    assert session.scalar(select(Event.registered_count)) == 0
    # The erased attachments' files are removed once the deletion is committed.
    assert sorted(p.name for p in tmp_path.iterdir()) == [], list(tmp_path.iterdir())


# --- Contact details in public text: pupils held, adults warned then held ----------------------

PHONE_TEXT = "Pour en parler, appelez-moi au 06 12 34 56 78 après les cours."
EMAIL_TEXT = "Écrivez-moi : prof.martin@exemple.fr, je réponds vite."
WARNING = "Coordonnées personnelles dans votre texte"


@pytest.fixture
def pii_forms(session):
    """Each public-text form: (url, form data, model, the page to fetch a token from)."""
    from consult.territorial.models import Idea
    from forums.models import Comment, Contribution
    from tests.factories import UserFactory
    from tests.forums_factories import ContributionFactory, first_subtheme, theme

    other = UserFactory(academie_code="16")
    target = ContributionFactory(author=other)
    return {
        "contribution": (
            f"/forums/{theme().slug}/contribuer",
            {
                "subtheme": str(first_subtheme().id),
                "title": "Une proposition pour les classes",
                "body": PHONE_TEXT,
                "checked": "1",
            },
            Contribution,
        ),
        "comment": (
            f"/forums/contributions/{target.id}/commentaires",
            {"polarity": "pour", "body": EMAIL_TEXT},
            Comment,
        ),
        "idea": (
            "/territoires/idees/nouvelle",
            {"title": "Des ateliers pour les parents", "body": PHONE_TEXT},
            Idea,
        ),
    }


def _count(session, model, **where) -> int:
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return session.scalar(query)


@pytest.mark.parametrize("kind", ["contribution", "comment", "idea"])
def test_adult_is_warned_then_held_after_confirming(client, session, pii_forms, kind) -> None:
    from tests.factories import UserFactory

    url, data, model = pii_forms[kind]
    adult = UserFactory(academie_code="16", audience="parent")
    before = _count(session, model)
    client.login(adult.email)
    token = client.csrf_token("/")
    response = client.post(url, data={**data, "csrf_token": token})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert WARNING in body and "confirm_personal_data" in body
    assert "relu par l&#39;équipe de modération" in body or "relu par l'équipe" in body
    assert _count(session, model) == before  # nothing written yet
    response = client.post(url, data={**data, "csrf_token": token, "confirm_personal_data": "y"})
    assert response.status_code == 302
    assert _count(session, model, author_id=adult.id, held_for_review=True) == 1
    assert _count(session, model, author_id=adult.id, held_for_review=False) == 0


@pytest.mark.parametrize("kind", ["contribution", "comment", "idea"])
def test_pupil_is_held_without_question(client, session, pii_forms, kind) -> None:
    from tests.factories import UserFactory

    url, data, model = pii_forms[kind]
    pupil = UserFactory(academie_code="16", audience="eleve", school_level="lycee")
    client.login(pupil.email)
    response = client.post(url, data={**data, "csrf_token": client.csrf_token("/")})
    assert response.status_code == 302
    assert _count(session, model, author_id=pupil.id, held_for_review=True) == 1


@pytest.mark.parametrize("kind", ["contribution", "comment", "idea"])
def test_text_without_contact_details_is_published(client, session, pii_forms, kind) -> None:
    from tests.factories import UserFactory

    url, data, model = pii_forms[kind]
    adult = UserFactory(academie_code="16")
    client.login(adult.email)
    clean = {k: ("Un texte sans coordonnées, assez long." if k == "body" else v)
             for k, v in data.items()}  # fmt: skip
    response = client.post(url, data={**clean, "csrf_token": client.csrf_token("/")})
    assert response.status_code == 302
    assert _count(session, model, author_id=adult.id, held_for_review=False) == 1


def test_editing_in_a_phone_number_warns_then_holds(client, session) -> None:
    from forums.models import Contribution
    from tests.factories import UserFactory
    from tests.forums_factories import ContributionFactory

    adult = UserFactory()
    item = ContributionFactory(author=adult, title="Titre d'origine", body="Corps d'origine")
    url = f"/forums/contributions/{item.id}/modifier"
    data = {"subtheme": str(item.subtheme_id), "title": "Titre d'origine", "body": PHONE_TEXT}
    client.login(adult.email)
    response = client.submit(url, data)
    assert response.status_code == 422 and WARNING in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Contribution, item.id).body == "Corps d'origine"
    response = client.submit(url, data | {"confirm_personal_data": "y"})
    assert response.status_code == 302
    session.expire_all()
    changed = session.get(Contribution, item.id)
    assert changed.body == PHONE_TEXT and changed.held_for_review
    client.logout()
    assert client.get(f"/forums/contributions/{item.id}").status_code == 404


def test_held_rule_is_one_function(user) -> None:
    from consult.text import PersonalDataNotConfirmed, hold_for_personal_data

    assert hold_for_personal_data(user, "rien") is False
    with pytest.raises(PersonalDataNotConfirmed) as warned:
        hold_for_personal_data(user, "a", EMAIL_TEXT + PHONE_TEXT)
    assert warned.value.kinds == ["email", "phone"]
    assert hold_for_personal_data(user, PHONE_TEXT, confirmed=True) is True


def test_personal_data_page_says_what_the_file_holds(client, holdings) -> None:
    client.login(holdings["me"].email)
    page = client.get("/compte/mes-donnees").get_data(as_text=True)
    assert "<code>attachments</code> : 2" in page
    assert "<code>territorial_ideas</code> : 1" in page
    assert SECRET not in page.replace(f"Pseudo{SECRET}", "")


# --- Staff areas: a blocked admin, moderator, coordinator or analyst acts nowhere ----------------

STAFF_PAGES = [
    "/admin/",
    "/admin/journal",
    "/moderation/",
    "/questionnaire/codes/",
    "/questionnaire/codes/nouveau",
    "/questionnaire/resultats/",
    "/questionnaire/export/codebook.csv",
    "/resultats/composer/",
    "/resultats/composer/academie-16/",
]


@pytest.fixture
def staff(session):
    from tests.factories import RoleGrantFactory, UserFactory

    me = UserFactory(academie_code="16", pseudonym="Équipe bloquable")
    for role, kind, code in [
        ("admin", "national", ""),
        ("moderator", "national", ""),
        ("analyst", "national", ""),
        ("coordinator", "academie", "16"),
    ]:
        RoleGrantFactory(user=me, role=role, scope_kind=kind, scope_code=code)
    session.flush()
    return me


@pytest.mark.parametrize("blocked", [False, True], ids=["active", "blocked"])
def test_a_blocked_staff_member_enters_no_staff_area(client, session, staff, blocked) -> None:
    from consult.db import utcnow

    client.login(staff.email)
    if blocked:
        staff.blocked_at = utcnow()
        staff.blocked_reason = "Compte compromis"
        session.flush()
    for url in STAFF_PAGES:
        response = client.get(url)
        body = response.get_data(as_text=True)
        if blocked:
            assert response.status_code == 403, (url, response.status_code)
            assert BLOCKED_TEXT in body, url
        else:
            assert response.status_code == 200, (url, response.status_code)
    if blocked:
        # The « Mes fiches » page stays the author's own; only its review queue goes away.
        mine = client.get("/retex/mes-fiches")
        assert mine.status_code == 200
        assert "Fiches à relire" not in mine.get_data(as_text=True)


def test_a_blocked_admin_grants_no_role(client, session, staff) -> None:
    from consult.db import utcnow
    from consult.models import RoleGrant
    from tests.factories import UserFactory

    target = UserFactory()
    client.login(staff.email)
    token = client.csrf_token("/admin/")
    staff.blocked_at = utcnow()
    session.flush()
    response = client.post(
        "/admin/roles",
        data={
            "csrf_token": token,
            "pseudonym": target.pseudonym,
            "role": "admin",
            "scope": "national:",
        },
    )
    assert response.status_code == 403
    assert BLOCKED_TEXT in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).where(RoleGrant.user_id == target.id)) == 0


def test_a_blocked_account_reads_why_instead_of_vote_and_comment_buttons(client, session) -> None:
    from consult.db import utcnow
    from tests.factories import UserFactory
    from tests.forums_factories import ContributionFactory

    contribution = ContributionFactory()
    me = UserFactory()
    client.login(me.email)
    page = client.get(f"/forums/contributions/{contribution.id}").get_data(as_text=True)
    assert "J&#39;adopte" in page or "J'adopte" in page
    assert "data-blocked-notice" not in page
    me.blocked_at = utcnow()
    session.flush()
    for url in (f"/forums/contributions/{contribution.id}", f"/forums/{contribution.theme.slug}/"):
        page = client.get(url).get_data(as_text=True)
        assert BLOCKED_TEXT in page, url
        assert 'name="value" value="adopt"' not in page, url
        assert "Publier mon commentaire" not in page, url

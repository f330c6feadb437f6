from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from consult.models import Audience, AuditEvent, RoleGrant, User
from tests.factories import DEFAULT_PASSWORD, RoleGrantFactory, UserFactory

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


def _count_users(session) -> int:
    return session.scalar(select(func.count()).select_from(User))


def test_registration_creates_account_and_logs_in(client, session) -> None:
    response = client.submit(REGISTER, VALID)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/compte/")
    page = client.get("/compte/").get_data(as_text=True)
    assert "Prof_Poitevin" in page
    assert "Poitiers" in page and "Vienne" in page
    user = session.scalar(select(User).where(User.pseudonym == "Prof_Poitevin"))
    assert user.audience == "professeur"
    assert user.password_hash.startswith("$argon2")
    assert DEFAULT_PASSWORD not in user.password_hash
    assert user.school_level is None


def test_student_gives_a_school_level_not_an_age(client, session) -> None:
    data = VALID | {"audience": "eleve", "pseudonym": "Lycéenne86", "email": "l@exemple.test"}
    response = client.submit(REGISTER, data)
    assert response.status_code == 422
    assert "collège ou lycée" in response.get_data(as_text=True)
    response = client.submit(REGISTER, data | {"school_level": "lycee"})
    assert response.status_code == 302
    user = session.scalar(select(User).where(User.pseudonym == "Lycéenne86"))
    assert user.school_level == "lycee"
    assert user.is_minor


def test_school_level_ignored_for_adults(client, session) -> None:
    client.submit(REGISTER, VALID | {"school_level": "college"})
    user = session.scalar(select(User).where(User.pseudonym == "Prof_Poitevin"))
    assert user.school_level is None


HOSTILE = [
    ("empty pseudonym", {"pseudonym": ""}, "pseudonyme"),
    ("10 kB pseudonym", {"pseudonym": "a" * 10_000}, "pseudonyme"),
    ("email as pseudonym", {"pseudonym": "jean.dupont@gmail.com"}, "adresse"),
    ("domain as pseudonym", {"pseudonym": "monsite.fr"}, "adresse"),
    ("phone as pseudonym", {"pseudonym": "Tel 06 12 34 56 78"}, "téléphone"),
    ("html pseudonym", {"pseudonym": "<script>alert(1)</script>"}, "pseudonyme"),
    ("offensive pseudonym", {"pseudonym": "Gros Connard"}, "pas accepté"),
    ("reserved pseudonym", {"pseudonym": "Administrateur"}, "réservé"),
    ("bad email", {"email": "pas-une-adresse"}, "Adresse électronique invalide"),
    ("10 kB email", {"email": "a" * 10_000 + "@exemple.test"}, "trop longue"),
    ("html email", {"email": "<script>@x.fr"}, "invalide"),
    ("short password", {"password": "court", "password_confirm": "court"}, "12 caractères"),
    (
        "10 kB password",
        {"password": "x1" * 5_000, "password_confirm": "x1" * 5_000},
        "dépasser",
    ),
    (
        "common password",
        {"password": "azerty123456", "password_confirm": "azerty123456"},
        "trop courant",
    ),
    (
        "password contains pseudonym",
        {"password": "Prof_Poitevin 2020!", "password_confirm": "Prof_Poitevin 2020!"},
        "pseudonyme",
    ),
    ("mismatched passwords", {"password_confirm": "autre chose encore"}, "correspondent pas"),
    ("unknown académie", {"academie": "99"}, "Académie inconnue"),
    ("html académie", {"academie": "<b>13</b>"}, "Académie inconnue"),
    ("unknown département", {"departement": "999"}, "Département inconnu"),
    ("département of another académie", {"departement": "31"}, "n'appartient pas"),
    ("unknown audience", {"audience": "ministre"}, "pas un choix valide"),
    ("terms not accepted", {"accept_terms": ""}, "accepter les règles"),
]


@pytest.mark.parametrize(("case", "override", "message"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_registration_rejects_hostile_input(client, session, case, override, message) -> None:
    before = _count_users(session)
    response = client.submit(REGISTER, VALID | override)
    body = response.get_data(as_text=True)
    assert response.status_code == 422, case
    assert message.lower() in body.lower(), body[body.find("fr-error-text") - 200 :][:600]
    assert "<script>alert(1)</script>" not in body
    assert _count_users(session) == before


def test_registration_without_csrf_token_is_refused(client, session) -> None:
    response = client.post(REGISTER, data=VALID)
    assert response.status_code == 400
    assert "jeton de sécurité" in response.get_data(as_text=True)
    assert _count_users(session) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pseudonym", "PROF_POITEVIN"),
        ("pseudonym", "prof_poitévin"),
        ("email", "PROF.Poitiers@Exemple.TEST"),
    ],
)
def test_duplicates_in_any_letter_case_are_refused(client, session, field, value) -> None:
    assert client.submit(REGISTER, VALID).status_code == 302
    client.logout()
    other = VALID | {"pseudonym": "Autre_Prof", "email": "autre@exemple.test"} | {field: value}
    response = client.submit(REGISTER, other)
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "déjà" in body
    assert _count_users(session) == 1


def test_login_and_logout(client, user) -> None:
    client.login(user.email)
    assert client.get("/compte/").status_code == 200
    response = client.logout()
    assert response.status_code == 302
    assert client.get("/compte/").status_code == 302


def test_logout_requires_post(client, user) -> None:
    client.login(user.email)
    assert client.get("/compte/deconnexion").status_code == 405
    assert client.get("/compte/").status_code == 200


def test_login_does_not_reveal_whether_email_exists(client, user) -> None:
    wrong_password = client.submit(
        "/compte/connexion", {"email": user.email, "password": "mauvais mot de passe"}
    )
    unknown_email = client.submit(
        "/compte/connexion", {"email": "inconnu@exemple.test", "password": "mauvais mot de passe"}
    )
    assert wrong_password.status_code == unknown_email.status_code == 422

    def error(response) -> str:
        return re.findall(r'class="fr-error-text">([^<]+)<', response.get_data(as_text=True))

    assert (
        error(wrong_password)
        == error(unknown_email)
        == ["Adresse électronique ou mot de passe incorrect."]
    )


def test_login_is_case_insensitive_on_email(client, user) -> None:
    client.login(user.email.upper())
    assert client.get("/compte/").status_code == 200


def test_login_refuses_hostile_input(client) -> None:
    response = client.submit("/compte/connexion", {"email": "x" * 10_000, "password": "y" * 10_000})
    assert response.status_code == 422


def test_open_redirect_is_ignored(client, user) -> None:
    token = client.csrf_token("/compte/connexion")
    response = client.post(
        "/compte/connexion?next=https://evil.example/",
        data={"email": user.email, "password": DEFAULT_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/compte/"


def test_remember_me_is_off_by_default(client, user) -> None:
    response = client.login(user.email)
    cookies = response.headers.getlist("Set-Cookie")
    assert not any(c.startswith("remember_token=") for c in cookies)
    client.logout()
    checkbox = re.search(r"<input[^>]*id=\"remember\"[^>]*>", client.get("/compte/connexion").text)
    assert checkbox is not None and "checked" not in checkbox.group(0)


def test_password_change_closes_other_sessions(app, client, user, session) -> None:
    other = app.test_client()
    other.__class__ = type(client)
    other.login(user.email)
    client.login(user.email)
    response = client.submit(
        "/compte/securite",
        {
            "pw-current_password": DEFAULT_PASSWORD,
            "pw-password": "un tout nouveau secret",
            "pw-password_confirm": "un tout nouveau secret",
            "pw-submit": "1",
        },
    )
    assert response.status_code == 302
    assert client.get("/compte/").status_code == 200  # this session was renewed
    assert other.get("/compte/").status_code == 302  # the other one is closed
    client.logout()
    client.login(user.email, "un tout nouveau secret")


def test_password_change_with_wrong_current_password(client, user) -> None:
    client.login(user.email)
    response = client.submit(
        "/compte/securite",
        {
            "pw-current_password": "pas le bon",
            "pw-password": "un tout nouveau secret",
            "pw-password_confirm": "un tout nouveau secret",
            "pw-submit": "1",
        },
    )
    assert response.status_code == 422
    assert "Mot de passe actuel incorrect" in response.get_data(as_text=True)


def test_email_change(client, user, session) -> None:
    taken = UserFactory(email="pris@exemple.test")
    client.login(user.email)
    response = client.submit(
        "/compte/securite",
        {
            "em-email": "PRIS@exemple.test",
            "em-current_password": DEFAULT_PASSWORD,
            "em-submit": "1",
        },
    )
    assert response.status_code == 409
    response = client.submit(
        "/compte/securite",
        {
            "em-email": "nouvelle@exemple.test",
            "em-current_password": DEFAULT_PASSWORD,
            "em-submit": "1",
        },
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.get(User, user.id).email == "nouvelle@exemple.test"
    assert taken.email == "pris@exemple.test"


def test_password_reset_flow(client, user, outbox, session) -> None:
    response = client.submit("/compte/mot-de-passe-oublie", {"email": user.email})
    assert response.status_code == 302
    assert len(outbox) == 1
    body = outbox[0].get_content()
    link = re.search(r"http://localhost(/compte/reinitialiser/\S+)", body).group(1)
    assert client.get(link).status_code == 200
    response = client.submit(
        link, {"password": "encore un autre secret", "password_confirm": "encore un autre secret"}
    )
    assert response.status_code == 302
    client.login(user.email, "encore un autre secret")
    client.logout()
    # The link served once: it is void now.
    assert client.get(link).status_code == 400


def test_password_reset_for_unknown_email_looks_the_same(client, outbox) -> None:
    response = client.submit("/compte/mot-de-passe-oublie", {"email": "personne@exemple.test"})
    assert response.status_code == 302
    assert outbox == []
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Si un compte existe avec cette adresse" in page


@pytest.mark.parametrize("token", ["abc", "x" * 5000, "eyJ1aWQiOjF9.forged.sig"])
def test_tampered_reset_tokens(client, token) -> None:
    assert client.get(f"/compte/reinitialiser/{token}").status_code == 400


def test_expired_reset_token(app, client, user, session) -> None:
    from consult.accounts.services import make_reset_token

    with app.test_request_context():
        token = make_reset_token(user)
    app.config["PASSWORD_RESET_MAX_AGE"] = -1
    try:
        assert client.get(f"/compte/reinitialiser/{token}").status_code == 400
    finally:
        app.config["PASSWORD_RESET_MAX_AGE"] = 3600


def test_profile_edit_changes_audience_and_territory(client, user, session) -> None:
    client.login(user.email)
    response = client.submit(
        "/compte/profil",
        {"pseudonym": "Nouveau_Nom", "audience": "parent", "academie": "16", "departement": "31"},
    )
    assert response.status_code == 302
    session.expire_all()
    changed = session.get(User, user.id)
    assert (changed.audience, changed.academie_code, changed.departement_code) == (
        "parent",
        "16",
        "31",
    )
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "account.profile_changed"))
    assert event.detail["before"]["audience"] == "professeur"


def test_profile_edit_rejects_unknown_academie_and_taken_pseudonym(client, user) -> None:
    UserFactory(pseudonym="Deja_Pris")
    client.login(user.email)
    response = client.submit(
        "/compte/profil", {"pseudonym": "deja_pris", "audience": "parent", "academie": "13"}
    )
    assert response.status_code == 409
    response = client.submit(
        "/compte/profil", {"pseudonym": "Libre", "audience": "parent", "academie": "ZZ"}
    )
    assert response.status_code == 422


def test_snapshot_helper_copies_current_profile(user) -> None:
    from consult.models import AuthorSnapshot

    assert AuthorSnapshot.snapshot_of(user) == {
        "author_audience": "professeur",
        "author_academie_code": "13",
    }


def test_personal_data_download_requires_password(client, user) -> None:
    RoleGrantFactory(user=user, role="coordinator", scope_kind="academie", scope_code="13")
    client.login(user.email)
    response = client.submit("/compte/mes-donnees", {"current_password": "faux"})
    assert response.status_code == 422
    response = client.submit("/compte/mes-donnees", {"current_password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["email"] == user.email
    assert data["account"]["pseudonym"] == user.pseudonym
    assert data["account"]["academie"] == {"code": "13", "name": "Poitiers"}
    assert data["account"]["roles"] == [
        {"role": "coordinator", "scope_kind": "academie", "scope_code": "13"}
    ]
    assert "password_hash" not in json.dumps(data)


def test_account_deletion_erases_personal_data(client, user, session) -> None:
    RoleGrantFactory(user=user, role="moderator")
    client.login(user.email)
    response = client.submit("/compte/suppression", {"current_password": DEFAULT_PASSWORD})
    assert response.status_code == 422  # the confirmation box was not ticked
    response = client.submit(
        "/compte/suppression", {"current_password": DEFAULT_PASSWORD, "confirm": "y"}
    )
    assert response.status_code == 302
    session.expire_all()
    gone = session.get(User, user.id)
    assert gone.deleted_at is not None
    assert gone.email is None and gone.email_key is None and gone.password_hash is None
    assert gone.academie_code is None and gone.departement_code is None
    assert gone.public_name == "Compte supprimé"
    assert session.scalar(select(func.count()).select_from(RoleGrant)) == 0
    # Logged out, and the old credentials do not work any more.
    assert client.get("/compte/").status_code == 302
    response = client.submit(
        "/compte/connexion", {"email": "personne0@exemple.test", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 422
    # The pseudonym is free again.
    client.submit(REGISTER, VALID | {"pseudonym": user.pseudonym.replace("<b>", "_")})


def test_deleted_account_session_is_dropped(app, client, user, session) -> None:
    from consult.accounts.services import delete_account

    client.login(user.email)
    # The test's own session (which holds ``user``), not the request context's scoped one.
    outer = session()
    with app.test_request_context():
        delete_account(outer, user)
    outer.flush()
    assert client.get("/compte/").status_code == 302


def test_audience_enum_covers_six_values() -> None:
    assert [a.value for a in Audience] == [
        "eleve",
        "parent",
        "professeur",
        "encadrement",
        "agent",
        "autre",
    ]
    assert not Audience.AUTRE.has_questionnaire_track
    assert all(a.has_questionnaire_track for a in Audience if a is not Audience.AUTRE)
